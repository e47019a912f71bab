/**
 * execute-task, result, test-deployment and generate-token against the run's
 * shared `npm run dev:stub`, an unreachable server and a server that checks
 * nothing: most cases through the command functions in this process, and a few
 * as real processes of the built CLI for what only a process shows (stdout
 * that is JSON alone, exit codes, argument parsing, redaction on print).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { executeTask } from "../../cli/commands/execute-task.js";
import { readResult } from "../../cli/commands/result.js";
import { testDeployment } from "../../cli/commands/test-deployment.js";
import { UsageError } from "../../cli/lib/result.js";
import { freePort } from "../../scripts/processes.js";
import { type SharedStub, sharedStub } from "../fixtures/dev-stub.js";
import { FAST, noEnv, runCli } from "./fixtures/run-cli.js";

let stub: SharedStub;
let token: string;
/** A server that answers 200 to everything: a deployment that checks nothing. */
let openServer: Server;
let openUrl: string;

beforeAll(async () => {
  stub = await sharedStub();
  token = stub.token;
  openServer = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ status: "healthy", platform: "somewhere", taskId: "x", success: true, tasks: [] }));
  });
  await new Promise<void>((resolve) => openServer.listen(0, "127.0.0.1", resolve));
  openUrl = `http://127.0.0.1:${(openServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => openServer?.close(resolve));
});

afterEach(() => {
  vi.unstubAllEnvs();
});

const quoted = (task: string) => `Stub sandbox (no container, no Claude) received this task:\n${task}`;

function expectTokenNeverPrinted(run: { stdout: string; stderr: string }): void {
  expect(run.stdout).not.toContain(token);
  expect(run.stderr).not.toContain(token);
}

describe("execute-task", () => {
  it("runs a task and prints the result with execution_time_ms, JSON alone (exit 0)", async () => {
    const run = await runCli(["execute-task", stub.url, token, `What is 2 + 2?\n${FAST}`], { env: noEnv });
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ success: true, status: "succeeded", exitCode: 0, timedOut: false });
    expect(run.json.result).toBe(quoted(`What is 2 + 2?\n${FAST}`));
    expect(run.json.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.json.execution_time_ms).toBeTypeOf("number");
    // The task's id on stderr, said once, so that it can be collected if the wait is stopped.
    const id = String(run.json.taskId);
    expect(run.stderr).toMatch(new RegExp(`^Task ${id} accepted \\((queued|running)\\); waiting for it to end\\. Stopping here does not stop the task: claude-sandbox wait ${id}\n$`));
    expectTokenNeverPrinted(run);
  });

  it("exits 1 when the task ran and did not succeed (success: false)", async () => {
    const run = await runCli(["execute-task", stub.url, token, `fail, please\n${FAST}\n@stub exit=3`], { env: noEnv });
    expect(run.json).toMatchObject({ success: false, status: "failed", exitCode: 3, error: { code: "claude_exit_nonzero" } });
    expect(run.code).toBe(1);
  });

  it("sends a task that starts with dashes intact after --", async () => {
    const task = `--help\n-p --timeout 5\n${FAST}`;
    const run = await runCli(["execute-task", stub.url, token, "--timeout", "60000", "--", task], { env: noEnv });
    expect(run.code).toBe(0);
    expect(run.json.result).toBe(quoted(task));
  });

  it("takes URL and token from CLAUDE_SANDBOX_URL and CLAUDE_SANDBOX_TOKEN, and never prints the token", async () => {
    // The task quotes the token: the result would show it, were it not redacted on print.
    const run = await runCli(["execute-task", `from the environment ${token}\n${FAST}`], {
      env: { CLAUDE_SANDBOX_URL: stub.url, CLAUDE_SANDBOX_TOKEN: token },
    });
    expect(run.code).toBe(0);
    expect(String(run.json.result)).toContain("from the environment [redacted]");
    expectTokenNeverPrinted(run);
  });

  it("sends multi-line and hostile task text intact (in process)", async () => {
    const task = "line 1: it's \"quoted\" `id` $(whoami); rm -rf / && echo ${HOME} | cat\n\ttabbed 🦀 'single'\n" + FAST;
    const result = await executeTask({ args: [stub.url, token, task] });
    expect(result.ok).toBe(true);
    expect(result.output.result).toBe(quoted(task));
    expect(result.secrets).toEqual([token]);
  });

  it("passes --timeout to the server (in process)", async () => {
    const result = await executeTask({ args: [stub.url, token, "t"], timeoutMs: 999 });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, code: "invalid_timeout", http_code: 400, details: { min: 1000 } });
    expect(result.output.hint).toBeTypeOf("string");
  });

  it("reports a refused token as {success:false, error, code, http_code, hint} (in process)", async () => {
    const result = await executeTask({ args: [stub.url, "wrong-token-0123456789abcdef", "t"] });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, error: "Unauthorized", code: "unauthorized", http_code: 401 });
    expect(String(result.output.hint)).toContain("serverAuthToken");
    expect(result.secrets).toEqual(["wrong-token-0123456789abcdef"]);
  });

  it("reports an unreachable server with a hint (in process)", async () => {
    const port = await freePort();
    const result = await executeTask({ args: [`http://127.0.0.1:${port}`, token, "t"] });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, http_code: null });
    expect(String(result.output.error)).toContain(`Could not reach http://127.0.0.1:${port}`);
    expect(String(result.output.hint)).toContain("npm run dev:stub");
  });

  it("takes URL and token from the environment in process too", async () => {
    vi.stubEnv("CLAUDE_SANDBOX_URL", stub.url);
    vi.stubEnv("CLAUDE_SANDBOX_TOKEN", token);
    const result = await executeTask({ args: [`env task\n${FAST}`] });
    expect(result.ok).toBe(true);
    expect(result.output.result).toBe(quoted(`env task\n${FAST}`));
  });

  it.each([
    [["a task"], "url_required", "No URL: `execute-task` needs the deployment's URL as its first argument, or CLAUDE_SANDBOX_URL set"],
    [["127.0.0.1:8787", "tok-abcdefgh", "a task"], "invalid_url", '"127.0.0.1:8787" is not a URL: it needs http:// or https:// in front'],
    [["tok-abcdefgh", "http://127.0.0.1:1", "a task"], "url_not_first", "The URL is argument 2, but it must come first, before the token"],
    [["http://127.0.0.1:1", "a task"], "token_required", "No token: give it after the URL, or set CLAUDE_SANDBOX_TOKEN (if you gave it, <task> is missing)"],
    [["http://127.0.0.1:1", "tok-abcdefgh", "a task", "extra"], "too_many_arguments", "`execute-task` got 1 argument more than it takes"],
    [["http://127.0.0.1:1", "tok-abcdefgh", "   "], "task_required", "The task is empty"],
  ])("%j is a usage mistake with a code and a hint (in process)", async (args, code, message) => {
    vi.stubEnv("CLAUDE_SANDBOX_URL", "");
    vi.stubEnv("CLAUDE_SANDBOX_TOKEN", "");
    const attempt = executeTask({ args });
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toMatchObject({ code, message, hint: expect.stringMatching(/\S/) });
  });

  it("names the missing task when URL and token are set (in process)", async () => {
    vi.stubEnv("CLAUDE_SANDBOX_URL", "http://127.0.0.1:1");
    vi.stubEnv("CLAUDE_SANDBOX_TOKEN", "tok-abcdefgh");
    const attempt = executeTask({ args: [] });
    await expect(attempt).rejects.toMatchObject({ code: "missing_argument", message: "`execute-task` needs <task>", hint: expect.stringContaining("claude-sandbox execute-task [url] [token] <task>") });
  });

  it.each([
    [["execute-task"], "url_required", "No URL: `execute-task` needs the deployment's URL"],
    [["execute-task", "http://127.0.0.1:1"], "token_required", "No token"],
    [["execute-task", "http://127.0.0.1:1", "tok-abcdefgh"], "token_required", "(if you gave it, <task> is missing)"],
    [["execute-task", "http://127.0.0.1:1", "tok-abcdefgh", "t", "--timeout", "soon"], "invalid_option_value", '--timeout must be a positive integer, got "soon"'],
    [["execute-task", "http://127.0.0.1:1", "tok-abcdefgh", "t", "--no-such-flag"], "unknown_option", "unknown option '--no-such-flag'"],
    [["check-prerequisites", "extra"], "too_many_arguments", "too many arguments for 'check-prerequisites'"],
    [["no-such-command"], "unknown_command", "unknown command 'no-such-command'"],
  ])("%j is a usage error: exit 2, {success, error, code, hint} on stdout, naming its own words", async (args, code, message) => {
    const run = await runCli(args, { env: noEnv });
    expect(run.code).toBe(2);
    expect(Object.keys(run.json)).toEqual(["success", "error", "code", "hint"]);
    expect(run.json).toMatchObject({ success: false, code, hint: expect.stringMatching(/\S/) });
    expect(String(run.json.error)).toContain(message);
    expect(run.stdout).not.toContain("[redacted]");
  });

  it.each([
    ["a token given where the command goes", (secret: string) => [secret, "http://127.0.0.1:1"], /^unknown command '\[redacted\]'$/],
    ["a token given as --timeout", (secret: string) => ["execute-task", "http://127.0.0.1:1", "tok-abcdefgh", "t", "--timeout", secret], /^--timeout must be a positive integer, got "\[redacted\]"$/],
    ["a token given as --limit", (secret: string) => ["list", "http://127.0.0.1:1", "--limit", secret], /^--limit must be a positive integer, got "\[redacted\]"$/],
  ])("a usage error never echoes an argument that may be a token: %s", async (_name, args, message) => {
    const secret = "arg-token-3c9f1e7a5b2d";
    const run = await runCli(args(secret), { env: noEnv });
    expect(run.code).toBe(2);
    expect(String(run.json.error)).toMatch(message);
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  });

});

describe("result", () => {
  it("gives the stored result of a task, equal to what execute-task returned", async () => {
    const executed = await executeTask({ args: [stub.url, token, `remember me\n${FAST}`] });
    const { execution_time_ms: _time, ...returned } = executed.output;
    const result = await readResult({ args: [stub.url, token, String(returned.taskId)] });
    expect(result.ok).toBe(true);
    expect(result.output).toEqual(returned);
  });

  it("fails (exit 1) for the stored result of a task that did not succeed", async () => {
    const executed = await executeTask({ args: [stub.url, token, `${FAST}\n@stub exit=2`] });
    const run = await runCli(["result", stub.url, token, String(executed.output.taskId)], { env: noEnv });
    expect(run.json).toMatchObject({ success: false, status: "failed", exitCode: 2 });
    expect(run.code).toBe(1);
  });

  it("says result_not_found for an unknown id", async () => {
    const result = await readResult({ args: [stub.url, token, "3f1c1c3e-5a7b-4c8d-9e0f-112233445566"] });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, code: "result_not_found", http_code: 404 });
  });

  it("passes a hostile id to the server encoded, which refuses it", async () => {
    const result = await readResult({ args: [stub.url, token, "../../etc/passwd"] });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ code: "invalid_task_id", http_code: 400 });
  });
});

describe("test-deployment", () => {
  it("passes every check against dev:stub, a task followed to its result included, each timed", async () => {
    const result = await testDeployment({ args: [stub.url, token], task: `What is 2 + 2?\n${FAST}` });
    expect(result.ok).toBe(true);
    expect(result.output).toMatchObject({ success: true, url: stub.url, passed: 7, failed: 0, skipped: 0 });
    const checks = result.output.checks as { name: string; ok: boolean; duration_ms: number; platform?: string; events?: number; diagnostics?: { name: string; ok: boolean }[] }[];
    expect(checks.map((check) => [check.name, check.ok])).toEqual([
      ["health", true],
      ["rejects_missing_token", true],
      ["rejects_wrong_token", true],
      ["rejects_missing_task", true],
      ["lists_tasks", true],
      ["first_deploy_check", true],
      ["task_round_trip", true],
    ]);
    expect(checks[0]!.platform).toBe("cloudflare_sandboxes");
    expect(checks[5]!.diagnostics!.map((check) => [check.name, check.ok])).toEqual([
      ["container_start", true],
      ["allowed_host", true],
      ["blocked_host", true],
      ["anthropic_door", true],
      ["no_credential", true],
    ]);
    // queued, running, init, three texts, a tool call and its result, result, end.
    expect(checks[6]!.events).toBe(10);
    for (const check of checks) expect(check.duration_ms).toBeTypeOf("number");
    expect(result.secrets).toEqual([token]);
  });

  it("fails the round trip of a task that does not succeed", async () => {
    const result = await testDeployment({ args: [stub.url, token], task: `${FAST}\n@stub exit=1` });
    expect(result.ok).toBe(false);
    const roundTrip = (result.output.checks as { name: string; ok: boolean; message: string }[]).at(-1)!;
    expect(roundTrip).toMatchObject({ name: "task_round_trip", ok: false, message: "task ran but failed: claude_exit_nonzero" });
  });

  it("skips the token checks without a token, and still passes (exit 0)", async () => {
    const run = await runCli(["test-deployment", stub.url], { env: noEnv });
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ success: true, passed: 3, skipped: 3 });
  });

  it("fails against a server that lets anyone in", async () => {
    const result = await testDeployment({ args: [openUrl, token] });
    expect(result.ok).toBe(false);
    const checks = result.output.checks as { name: string; ok: boolean }[];
    expect(Object.fromEntries(checks.map((check) => [check.name, check.ok]))).toEqual({
      health: true,
      rejects_missing_token: false,
      rejects_wrong_token: false,
      rejects_missing_task: false,
      lists_tasks: true,
      first_deploy_check: false,
    });
  });

  it("fails every check when the server is unreachable (exit 1), still printing JSON", async () => {
    const port = await freePort();
    const run = await runCli(["test-deployment", `http://127.0.0.1:${port}`, token], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ success: false, passed: 0, failed: 6 });
    expectTokenNeverPrinted(run);
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
