/**
 * The Worker's command against the real Claude Code binary of the pinned
 * version (installed from npm as a dev dependency, the same version as the
 * Dockerfile): every flag exists, and a task runs end to end against a
 * loopback stand-in of the Anthropic API, its stream-json read line by line
 * by the Worker's own parser into events and an outcome.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildClaudeInvocation, CLAUDE_FLAGS, type ClaudeInvocationInput } from "../../worker/src/tasks/claude-command.js";
import { type ClaudeResultMessage, type EventDraft, parseStreamJsonLine } from "../../worker/src/events/stream-json.js";
import { sessionArguments } from "../../worker/src/repositories/workspace.js";
import { runOutcome } from "../../worker/src/tasks/lifecycle.js";
import { PERMISSION_MODES } from "../../worker/src/contract.js";
import { FAKE_REPLY, startFakeAnthropicApi, type FakeAnthropicApi } from "./fixtures/fake-anthropic-api.js";
import { runInBash } from "./fixtures/run-command.js";

const binDir = resolve("node_modules/.bin");
const help = execFileSync(join(binDir, "claude"), ["--help"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

/** The option names `claude --help` lists, e.g. `--print`, `-p`. */
const listedOptions = new Set([...help.matchAll(/^\s+((?:-\w, )?--[\w-]+(?:, --[\w-]+)*)/gm)].flatMap((match) => match[1]!.split(", ")));

function choicesOf(option: string): string[] {
  const start = help.indexOf(`  ${option} `);
  const block = help.slice(start, help.indexOf(")", help.indexOf("(choices:", start)));
  return [...block.slice(block.indexOf("(choices:")).matchAll(/"([^"]+)"/g)].map((match) => match[1]!);
}

describe("claude --help of the pinned version", () => {
  it("lists the options the parser found (sanity check of the parser)", () => {
    expect(listedOptions.has("--version")).toBe(true);
    expect(listedOptions.size).toBeGreaterThan(20);
  });

  it.each(CLAUDE_FLAGS)("lists %s", (flag) => {
    expect(listedOptions.has(flag)).toBe(true);
  });

  it("passes only flags from CLAUDE_FLAGS", () => {
    const { command } = buildClaudeInvocation({
      task: "t",
      timeoutMs: 60_000,
      permissionMode: "plan",
      model: "sonnet",
      maxTurns: 2,
      maxBudgetUsd: 1,
      sessionArgs: sessionArguments({ taskId: "01a23398-9403-710f-82b4-09f36822a82a", resumeSessionId: "01a23398-8b4f-73c5-b305-b08736d1e513" }),
      credential: { kind: "oauth", token: "x" },
      credentialMode: "proxy",
    });
    const flags = [...command.matchAll(/'(--?[\w-]+)'/g)].map((match) => match[1]);
    expect(new Set(flags)).toEqual(new Set(CLAUDE_FLAGS));
  });

  it.each(PERMISSION_MODES)("offers the permission mode %s", (mode) => {
    expect(choicesOf("--permission-mode")).toContain(mode);
  });

  it("offers the stream-json output format", () => {
    expect(choicesOf("--output-format")).toContain("stream-json");
  });
});

describe("a task run by the real claude binary", () => {
  let home: string;
  let api: FakeAnthropicApi | undefined;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "claude-home-"));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  /** Runs the Worker's command with the real binary; its stdout goes through the Worker's line parser. */
  async function runReal(mode: "text" | "tool", input: Partial<ClaudeInvocationInput> & { task: string }) {
    api = await startFakeAnthropicApi(mode);
    try {
      const invocation = buildClaudeInvocation({
        timeoutMs: 60_000,
        permissionMode: "bypassPermissions",
        credential: { kind: "apiKey", key: "fake-apikey-offline-test" },
        credentialMode: "env",
        ...input,
      });
      const outcome = await runInBash(invocation, {
        PATH: `${binDir}:/usr/bin:/bin`,
        HOME: home,
        ANTHROPIC_BASE_URL: api.url,
      });
      const lines = outcome.stdout.split("\n").filter((line) => line.length > 0);
      const events: EventDraft[] = [];
      let final: ClaudeResultMessage | null = null;
      for (const line of lines) {
        const parsed = parseStreamJsonLine(line);
        events.push(...parsed.events);
        final = parsed.final ?? final;
      }
      const decided = runOutcome({ final, exitCode: outcome.exitCode, elapsedMs: 0, timeoutMs: 60_000 });
      return { outcome, lines, events, final, decided, userTexts: api.userTexts(), requests: api.requests };
    } finally {
      await api.close();
    }
  }

  it("accepts every flag, treats a flag-like task as the prompt, and prints stream-json the Worker reads", async () => {
    const task = "--help; $(id) `whoami` 'quoted' \"double\"\nsecond line";
    const { outcome, lines, events, final, decided, userTexts, requests } = await runReal("text", { task });
    expect(outcome.exitCode).toBe(0);
    // Every line is one JSON message, each with the uuid a reattached reader resumes from.
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.slice(1).every((line) => parseStreamJsonLine(line).uuid !== null)).toBe(true);
    expect(events.map((event) => event.type)).toEqual(["init", "text"]);
    expect(events[0]!.data).toMatchObject({ sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/), tools: expect.arrayContaining(["Bash", "Read"]) });
    expect(events[1]!.data).toEqual({ text: FAKE_REPLY });
    expect(final).toMatchObject({ isError: false, subtype: "success", result: FAKE_REPLY });
    expect(final!.usage).toMatchObject({ inputTokens: 12, outputTokens: 3, numTurns: 1, sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    // Per-model usage, as Claude Code reports it.
    expect(Object.values(final!.usage.models ?? {})[0]).toMatchObject({ inputTokens: 12, outputTokens: 3, costUsd: expect.any(Number) });
    expect(decided).toEqual({ status: "succeeded", error: null });
    expect(userTexts).toContain(task);
    expect(requests[0]!.headers["x-api-key"]).toBe("fake-apikey-offline-test");
  }, 60_000);

  it("passes the model to the API", async () => {
    const { outcome, requests } = await runReal("text", { task: "t", model: "claude-test-model-1" });
    expect(outcome.exitCode).toBe(0);
    expect(requests.map((request) => (request.body as { model?: string }).model)).toContain("claude-test-model-1");
  }, 60_000);

  it("shows tool calls and their results as events", async () => {
    const { events } = await runReal("tool", { task: "use a tool", maxTurns: 2 });
    const toolUse = events.find((event) => event.type === "tool_use");
    const toolResult = events.find((event) => event.type === "tool_result");
    expect(toolUse?.data).toMatchObject({ name: "Bash", input: { command: "true", description: "Do nothing" } });
    expect(toolResult?.data).toMatchObject({ toolUseId: (toolUse?.data as { id: string }).id, isError: false });
  }, 60_000);

  it("stops at maxTurns, and the Worker reads it as max_turns_reached", async () => {
    const { outcome, final, decided } = await runReal("tool", { task: "loop forever", maxTurns: 1 });
    expect(outcome.exitCode).not.toBe(0);
    expect(final).toMatchObject({ isError: true, subtype: "error_max_turns" });
    expect(decided.error?.code).toBe("max_turns_reached");
  }, 60_000);

  it("stops at --max-budget-usd, and the Worker reads it as budget_exceeded", async () => {
    const { final, decided } = await runReal("tool", { task: "spend", maxTurns: 5, maxBudgetUsd: 0.0001 });
    expect(final).toMatchObject({ isError: true, subtype: "error_max_budget_usd" });
    expect(decided.error?.code).toBe("budget_exceeded");
  }, 60_000);
});
