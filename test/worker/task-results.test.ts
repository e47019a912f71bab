/** How what Claude Code printed becomes the task result. */
import { describe, expect, it } from "vitest";
import { script } from "./harness.js";
import { captureLogs, CURRENT_TOKEN, execute, freshState, OAUTH_TOKEN } from "./helpers.js";

freshState();
captureLogs();

/** Claude Code's JSON output as the pinned version prints it (fields it prints that we ignore included). */
function claudeJson(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: "result",
    subtype: "success",
    is_error: false,
    api_error_status: null,
    duration_ms: 469,
    duration_api_ms: 57,
    num_turns: 3,
    result: "Four.",
    stop_reason: "end_turn",
    session_id: "e17aca62-d9d4-4c11-a587-a9d9b4d8a003",
    total_cost_usd: 0.0123,
    usage: {
      input_tokens: 120,
      cache_creation_input_tokens: 5,
      cache_read_input_tokens: 7,
      output_tokens: 30,
      server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
      service_tier: "standard",
    },
    modelUsage: {},
    permission_denials: [],
    uuid: "0abdb561-a849-43a7-ba05-444986c7c238",
    ...overrides,
  });
}

async function run(exitCode: number, stdout: string, stderr = ""): Promise<Record<string, unknown>> {
  script.exec.push({ kind: "result", exitCode, stdout, stderr });
  const response = await execute({ task: "What is 2 + 2?" });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe("task results", () => {
  it("reads the result, token usage, cost, turns and session from Claude's JSON", async () => {
    const body = await run(0, `${claudeJson()}\n`);
    expect(body).toMatchObject({
      success: true,
      exitCode: 0,
      result: "Four.",
      output: "Four.",
      usage: {
        inputTokens: 120,
        outputTokens: 30,
        cacheCreationInputTokens: 5,
        cacheReadInputTokens: 7,
        costUsd: 0.0123,
        numTurns: 3,
        sessionId: "e17aca62-d9d4-4c11-a587-a9d9b4d8a003",
      },
      timedOut: false,
    });
    expect(body).not.toHaveProperty("error");
  });

  it("falls back to the raw stdout when it is not Claude's JSON", async () => {
    const body = await run(0, "plain text answer\n");
    expect(body).toMatchObject({ success: true, result: "plain text answer\n", output: "plain text answer\n", usage: null });
  });

  it("reads the JSON when other lines precede it", async () => {
    const body = await run(0, `warming up\n${claudeJson({ result: "done" })}\n`);
    expect(body).toMatchObject({ result: "done", usage: { numTurns: 3 } });
  });

  it("treats JSON that is not a Claude result as raw output", async () => {
    const body = await run(0, '{"hello":"world"}');
    expect(body).toMatchObject({ success: true, result: '{"hello":"world"}', usage: null });
  });

  it("reports is_error as claude_error with success:false", async () => {
    const body = await run(1, claudeJson({ is_error: true, subtype: "error_during_execution", result: "API Error: 401" }));
    expect(body).toMatchObject({
      success: false,
      exitCode: 1,
      result: "API Error: 401",
      error: { code: "claude_error", message: "Claude Code reported an error (error_during_execution)" },
    });
  });

  it("reports the turn limit as max_turns_reached", async () => {
    const body = await run(1, claudeJson({ is_error: true, subtype: "error_max_turns", result: "" }));
    expect(body).toMatchObject({ success: false, error: { code: "max_turns_reached" } });
  });

  it("reports a non-zero exit without JSON as claude_exit_nonzero, with stderr as output", async () => {
    const body = await run(2, "", "claude: command not found");
    expect(body).toMatchObject({
      success: false,
      exitCode: 2,
      stderr: "claude: command not found",
      output: "claude: command not found",
      error: { code: "claude_exit_nonzero", message: "Claude Code exited with code 2" },
    });
  });

  it("redacts the deployment's secrets from everything it returns and stores", async () => {
    const leaky = `token ${OAUTH_TOKEN} and ${CURRENT_TOKEN}`;
    const body = await run(0, claudeJson({ result: leaky }), `debug: ${OAUTH_TOKEN}`);
    const text = JSON.stringify(body);
    expect(text).not.toContain(OAUTH_TOKEN);
    expect(text).not.toContain(CURRENT_TOKEN);
    expect(body.result).toBe("token [redacted] and [redacted]");
    expect(body.stderr).toBe("debug: [redacted]");
  });
});
