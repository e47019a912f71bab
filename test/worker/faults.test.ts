/**
 * Faults at the container boundary and in R2: each gives its documented
 * answer, and the task's sandbox is destroyed every time.
 */
import { describe, expect, it } from "vitest";
import { resultKey } from "../../worker/src/contract.js";
import { events, script } from "./harness.js";
import { callWithEnv, captureLogs, execute, freshState, jsonHeaders, OAUTH_TOKEN, sandboxIdOf, storedKeys, testEnv, UUID } from "./helpers.js";

freshState();
const logs = captureLogs();

function expectDestroyed(taskId: string): void {
  expect(events.destroyed).toEqual([sandboxIdOf(taskId)]);
}

describe("exec throws", () => {
  it("answers 500 task_execution_failed with the task id, and stores nothing", async () => {
    script.exec.push({ kind: "throw", message: "Failed to execute command 'claude ... secret task text' : boom" });
    const response = await execute({ task: "secret task text" });
    expect(response.status).toBe(500);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ error: "Task execution failed", code: "task_execution_failed", taskId: expect.stringMatching(UUID) });
    expectDestroyed(String(body.taskId));
    expect(await storedKeys()).toEqual([]);
    const logText = logs.lines().join("\n");
    expect(logText).not.toContain("secret task text");
    expect(logs.records()).toEqual([expect.objectContaining({ status: 500, code: "task_execution_failed", taskId: body.taskId })]);
  });

  it.each([
    ["no instance available", "There is no Container instance available at this time. This is likely because you have reached your max concurrent instance count"],
    ["the instance limit", "Maximum number of running container instances exceeded"],
    ["a lost connection", "Network connection lost."],
    ["an overloaded Durable Object", "Durable Object is overloaded. Too many requests queued."],
    ["a code update", "Durable Object reset because its code was updated."],
  ])("answers 503 sandbox_unavailable with Retry-After for %s", async (_name, message) => {
    script.exec.push({ kind: "throw", message });
    const response = await execute({ task: "t" });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      error: "No sandbox is available right now; retry later",
      code: "sandbox_unavailable",
      taskId: expect.stringMatching(UUID),
    });
    expectDestroyed(String(body.taskId));
  });
});

describe("exec exceeds the Worker's deadline", () => {
  it("answers 200 with success:false, timedOut and task_timeout, stored, sandbox destroyed", async () => {
    script.exec.push({ kind: "hang" });
    const started = Date.now();
    const response = await execute({ task: "never ends", timeout: 1000 });
    const elapsed = Date.now() - started;
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      success: false,
      timedOut: true,
      exitCode: null,
      error: { code: "task_timeout", message: "The task did not finish within 1000 ms" },
    });
    // The test deployment allows 300 ms beyond the timeout.
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expectDestroyed(String(body.taskId));
    expect(await storedKeys()).toEqual([resultKey(String(body.taskId))]);
  });
});

describe("the sandbox's own timeout", () => {
  it("is reported as timedOut with task_timeout", async () => {
    script.exec.push({ kind: "result", exitCode: 124, stdout: "", stderr: "partial\nCommand timed out after 2000ms" });
    const body = (await (await execute({ task: "slow", timeout: 2000 })).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ success: false, timedOut: true, exitCode: 124, error: { code: "task_timeout" } });
    expect(body.output).toBe("partial\nCommand timed out after 2000ms");
    expectDestroyed(String(body.taskId));
  });
});

describe("destroy throws", () => {
  it("keeps the task's answer and notes the failure in the log", async () => {
    script.destroy = "throw";
    const response = await execute({ task: "t" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.success).toBe(true);
    expectDestroyed(String(body.taskId));
    expect(await storedKeys()).toEqual([resultKey(String(body.taskId))]);
    expect(logs.records()).toEqual([expect.objectContaining({ status: 200, warnings: ["sandbox_destroy_failed"] })]);
  });

  it("does not hide an exec failure", async () => {
    script.destroy = "throw";
    script.exec.push({ kind: "throw", message: "boom" });
    const response = await execute({ task: "t" });
    expect(response.status).toBe(500);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.code).toBe("task_execution_failed");
    expectDestroyed(String(body.taskId));
  });
});

describe("R2 put fails", () => {
  const failingBucket = {
    ...testEnv.RESULTS,
    put: async () => {
      throw new Error("R2 internal error (10001)");
    },
    get: testEnv.RESULTS.get.bind(testEnv.RESULTS),
  } as unknown as R2Bucket;

  it("answers 500 result_store_failed that still carries the task id and the full result", async () => {
    const response = await callWithEnv(
      "/execute",
      { method: "POST", headers: jsonHeaders(), body: JSON.stringify({ task: "keep my result" }) },
      { RESULTS: failingBucket },
    );
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code: string; error: string; taskId: string; result: Record<string, unknown> };
    expect(body.code).toBe("result_store_failed");
    expect(body.error).toBe("Task ran but its result could not be stored");
    expect(body.taskId).toMatch(UUID);
    expect(body.result).toMatchObject({
      taskId: body.taskId,
      success: true,
      result: "Stub sandbox (no container, no Claude) received this task:\nkeep my result",
    });
    expectDestroyed(body.taskId);
    expect(await storedKeys()).toEqual([]);
  });

  it("answers 500 result_read_failed when reading fails", async () => {
    const brokenBucket = {
      get: async () => {
        throw new Error("R2 unavailable");
      },
    } as unknown as R2Bucket;
    const response = await callWithEnv(
      "/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result",
      { headers: jsonHeaders() },
      { RESULTS: brokenBucket },
    );
    expect(response.status).toBe(500);
    expect(((await response.json()) as { code: string }).code).toBe("result_read_failed");
  });
});

describe("deployment mistakes are 500s that name the problem", () => {
  const send = (overrides: Parameters<typeof callWithEnv>[2]) =>
    callWithEnv("/execute", { method: "POST", headers: jsonHeaders(), body: JSON.stringify({ task: "t" }) }, overrides);

  it("no Claude credential → 500 credential_not_configured, nothing run", async () => {
    const response = await send({ CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_API_KEY: undefined });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { code: string }).code).toBe("credential_not_configured");
    expect(events.execs).toEqual([]);
  });

  it.each([
    ["MAX_TIMEOUT_MS", { MAX_TIMEOUT_MS: "ten minutes" }],
    ["PERMISSION_MODE", { PERMISSION_MODE: "yolo" }],
    ["CREDENTIAL_MODE", { CREDENTIAL_MODE: "plaintext" }],
    ["ALLOWED_HOSTS", { ALLOWED_HOSTS: "evil.com/path" }],
  ])("an invalid %s → 500 settings_invalid naming it, not its value", async (variable, overrides) => {
    const response = await send(overrides);
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code: string; details: { variables: string[] } };
    expect(body.code).toBe("settings_invalid");
    expect(body.details.variables).toEqual([variable]);
    expect(JSON.stringify(body)).not.toContain(Object.values(overrides)[0]);
  });

  it("an unexpected failure (no Sandbox binding) → 500 internal_error that reveals nothing", async () => {
    const response = await send({ Sandbox: undefined });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Internal error", code: "internal_error" });
    expect(logs.records()).toEqual([expect.objectContaining({ status: 500, code: "internal_error", warnings: ["unexpected_TypeError"] })]);
  });

  it("a default timeout above the maximum → settings_invalid", async () => {
    const response = await send({ DEFAULT_TIMEOUT_MS: "700000", MAX_TIMEOUT_MS: "600000" });
    expect(((await response.json()) as { code: string }).code).toBe("settings_invalid");
  });

  it("env credential mode passes the real credential to the container", async () => {
    const response = await send({ CREDENTIAL_MODE: "env" });
    expect(response.status).toBe(200);
    expect(events.execs[0]!.options?.env?.CLAUDE_CODE_OAUTH_TOKEN).toBe(OAUTH_TOKEN);
  });

  it("an API key is used when no OAuth token is set", async () => {
    const response = await send({ CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_API_KEY: "fake-apikey-test-key-value" });
    expect(response.status).toBe(200);
    const env = events.execs[0]!.options?.env;
    expect(env?.ANTHROPIC_API_KEY).toBe("injected-by-claude-sandbox-proxy");
    expect(env).not.toHaveProperty("CLAUDE_CODE_OAUTH_TOKEN");
  });
});
