/**
 * execute-task, result and test-deployment as real processes against a live
 * `npm run dev:stub` on a free port, plus an unreachable server and a server
 * that checks nothing.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpWaitMs } from "../../cli/commands/execute-task.js";
import { freePort, type RunningStub, startDevStub } from "../fixtures/dev-stub.js";
import { runCli } from "./fixtures/run-cli.js";

const TOKEN = "cli-test-token-5f2a9c0d7e1b4a63";
let stub: RunningStub;
/** A server that answers 200 to everything: a deployment that checks nothing. */
let openServer: Server;
let openUrl: string;

beforeAll(async () => {
  stub = await startDevStub({ SERVER_AUTH_TOKEN: TOKEN });
  openServer = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ status: "healthy", platform: "somewhere", taskId: "x", success: true }));
  });
  await new Promise<void>((resolve) => openServer.listen(0, "127.0.0.1", resolve));
  openUrl = `http://127.0.0.1:${(openServer.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await stub?.stop();
  await new Promise((resolve) => openServer?.close(resolve));
});

const noEnv = { CLAUDE_SANDBOX_URL: undefined, CLAUDE_SANDBOX_TOKEN: undefined };

function expectTokenNeverPrinted(run: { stdout: string; stderr: string }): void {
  expect(run.stdout).not.toContain(TOKEN);
  expect(run.stderr).not.toContain(TOKEN);
}

describe("execute-task", () => {
  it("runs a task and prints the result with execution_time_ms (exit 0)", async () => {
    const run = await runCli(["execute-task", stub.url, TOKEN, "What is 2 + 2?"], { env: noEnv });
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ success: true, exitCode: 0, timedOut: false });
    expect(run.json.result).toBe("Stub sandbox (no container, no Claude) received this task:\nWhat is 2 + 2?");
    expect(run.json.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.json.execution_time_ms).toBeTypeOf("number");
    expect(run.stderr).toBe("");
    expectTokenNeverPrinted(run);
  });

  it("sends multi-line and hostile task text intact", async () => {
    const task = "line 1: it's \"quoted\" `id` $(whoami); rm -rf / && echo ${HOME} | cat\n\ttabbed 🦀 'single'";
    const run = await runCli(["execute-task", stub.url, TOKEN, task], { env: noEnv });
    expect(run.code).toBe(0);
    expect(run.json.result).toBe(`Stub sandbox (no container, no Claude) received this task:\n${task}`);
  });

  it("sends a task that starts with dashes intact after --", async () => {
    const task = "--help\n-p --timeout 5";
    const run = await runCli(["execute-task", stub.url, TOKEN, "--timeout", "60000", "--", task], { env: noEnv });
    expect(run.code).toBe(0);
    expect(run.json.result).toBe(`Stub sandbox (no container, no Claude) received this task:\n${task}`);
  });

  it("takes URL and token from CLAUDE_SANDBOX_URL and CLAUDE_SANDBOX_TOKEN, and never prints the token", async () => {
    const run = await runCli(["execute-task", "from the environment"], {
      env: { CLAUDE_SANDBOX_URL: stub.url, CLAUDE_SANDBOX_TOKEN: TOKEN },
    });
    expect(run.code).toBe(0);
    expect(String(run.json.result)).toContain("from the environment");
    expectTokenNeverPrinted(run);
  });

  it("passes --timeout to the server", async () => {
    const run = await runCli(["execute-task", stub.url, TOKEN, "t", "--timeout", "999"], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ success: false, code: "invalid_timeout", http_code: 400, details: { min: 1000 } });
    expect(run.json.hint).toBeTypeOf("string");
  });

  it("prints {success:false, error, http_code, hint} for a refused token (exit 1), without the token", async () => {
    const wrong = "wrong-token-0123456789abcdef";
    const run = await runCli(["execute-task", stub.url, wrong, "t"], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ success: false, error: "Unauthorized", code: "unauthorized", http_code: 401 });
    expect(String(run.json.hint)).toContain("serverAuthToken");
    expect(run.stdout).not.toContain(wrong);
  });

  it("prints a JSON failure with a hint when the server is unreachable (exit 1)", async () => {
    const port = await freePort();
    const run = await runCli(["execute-task", `http://127.0.0.1:${port}`, TOKEN, "t"], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ success: false, http_code: null });
    expect(String(run.json.error)).toContain(`Could not reach http://127.0.0.1:${port}`);
    expect(String(run.json.hint)).toContain("npm run dev:stub");
    expectTokenNeverPrinted(run);
  });

  it.each([
    [["execute-task"], "missing required argument"],
    [["execute-task", "a task"], "No URL"],
    [["execute-task", "http://127.0.0.1:1", "a task"], "No token"],
    [["execute-task", "http://127.0.0.1:1", TOKEN, "a task", "extra"], "Expected 1 more argument"],
    [["execute-task", "http://127.0.0.1:1", TOKEN, "t", "--timeout", "soon"], "--timeout must be a positive integer"],
    [["execute-task", "http://127.0.0.1:1", TOKEN, "   "], "The task is empty"],
    [["no-such-command"], "unknown command"],
  ])("%j is a usage error (exit 2) with JSON on stdout", async (args, message) => {
    const run = await runCli(args, { env: noEnv });
    expect(run.code).toBe(2);
    expect(run.json.success).toBe(false);
    expect(String(run.json.error)).toContain(message);
    expect(run.stdout).not.toContain(TOKEN);
  });

  it.each([[1_000], [300_000], [3_600_000], [undefined]])(
    "waits a little longer than a task timeout of %s ms for the HTTP answer",
    (timeout) => {
      const task = timeout ?? 300_000;
      // Beyond the server's own deadline (timeout + 30 s), but not minutes more.
      expect(httpWaitMs(timeout)).toBeGreaterThan(task + 30_000);
      expect(httpWaitMs(timeout)).toBeLessThanOrEqual(task + 120_000);
    },
  );
});

describe("result", () => {
  it("prints the stored result of a task, equal to what execute-task printed", async () => {
    const executed = await runCli(["execute-task", stub.url, TOKEN, "remember me"], { env: noEnv });
    const { execution_time_ms: _time, ...returned } = executed.json;
    const run = await runCli(["result", stub.url, TOKEN, String(returned.taskId)], { env: noEnv });
    expect(run.code).toBe(0);
    expect(run.json).toEqual(returned);
    expectTokenNeverPrinted(run);
  });

  it("says result_not_found for an unknown id (exit 1)", async () => {
    const run = await runCli(["result", stub.url, TOKEN, "3f1c1c3e-5a7b-4c8d-9e0f-112233445566"], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ success: false, code: "result_not_found", http_code: 404 });
  });

  it("passes a hostile id to the server encoded, which refuses it", async () => {
    const run = await runCli(["result", stub.url, TOKEN, "../../etc/passwd"], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ code: "invalid_task_id", http_code: 400 });
  });
});

describe("test-deployment", () => {
  it("passes every check against dev:stub, a real task included, each timed", async () => {
    const run = await runCli(["test-deployment", stub.url, TOKEN, "--task", "What is 2 + 2?"], { env: noEnv });
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ success: true, url: stub.url, passed: 5, failed: 0, skipped: 0 });
    const checks = run.json.checks as { name: string; ok: boolean; duration_ms: number; platform?: string }[];
    expect(checks.map((check) => [check.name, check.ok])).toEqual([
      ["health", true],
      ["rejects_missing_token", true],
      ["rejects_wrong_token", true],
      ["rejects_missing_task", true],
      ["task_round_trip", true],
    ]);
    expect(checks[0]!.platform).toBe("cloudflare_sandboxes");
    for (const check of checks) expect(check.duration_ms).toBeTypeOf("number");
    expectTokenNeverPrinted(run);
  });

  it("skips the token checks without a token, and still passes", async () => {
    const run = await runCli(["test-deployment", stub.url], { env: noEnv });
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ success: true, passed: 3, skipped: 1 });
  });

  it("fails (exit 1) against a server that lets anyone in", async () => {
    const run = await runCli(["test-deployment", openUrl, TOKEN], { env: noEnv });
    expect(run.code).toBe(1);
    const checks = run.json.checks as { name: string; ok: boolean }[];
    expect(Object.fromEntries(checks.map((check) => [check.name, check.ok]))).toEqual({
      health: true,
      rejects_missing_token: false,
      rejects_wrong_token: false,
      rejects_missing_task: false,
    });
  });

  it("fails every check when the server is unreachable, still printing JSON", async () => {
    const port = await freePort();
    const run = await runCli(["test-deployment", `http://127.0.0.1:${port}`, TOKEN], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ success: false, passed: 0, failed: 4 });
  });
});

describe("generate-token", () => {
  it("prints a fresh 256-bit URL-safe token", async () => {
    const [first, second] = await Promise.all([runCli(["generate-token"]), runCli(["generate-token"])]);
    expect(first.code).toBe(0);
    expect(first.json).toMatchObject({ success: true, bits: 256, encoding: "hex" });
    expect(first.json.token).toMatch(/^[0-9a-f]{64}$/);
    expect(first.json.token).not.toBe(second.json.token);
    expect(encodeURIComponent(String(first.json.token))).toBe(first.json.token);
  });
});
