/**
 * How the CLI fails: every failure in the shape `{success, error, code,
 * http_code?, hint}`, exit 2 for a usage mistake whether the CLI or the
 * deployment's validation finds it, hints that say what to do (with the
 * Retry-After seconds), and redaction of the arguments that are secrets and
 * only those. The rules are tables over pure functions; the exit codes and the
 * printed messages are runs of the built CLI against the run's shared
 * `npm run dev:stub`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { testDeployment } from "../../cli/commands/test-deployment.js";
import { httpFailure } from "../../cli/lib/http.js";
import { EXIT, exitCodeOf, type JsonObject } from "../../cli/lib/result.js";
import { looksLikeCredential, secretArguments } from "../../cli/lib/secrets.js";
import { type SharedStub, sharedStub } from "../fixtures/dev-stub.js";
import { FAST, noEnv, runCli } from "./fixtures/run-cli.js";

let stub: SharedStub;

beforeAll(async () => {
  stub = await sharedStub();
});

const TASK_ID = "01a24a26-5d3c-7e4f-8a9b-0c1d2e3f4a5b";
const HEX_TOKEN = "3f9a0c1b7d2e4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a";

describe("which arguments are secrets", () => {
  it.each([
    [HEX_TOKEN, true, "a deployed token (64 hex)"],
    ["sk-fake-claude-credential-0000", true, "a credential with a known prefix (sk-)"],
    ["ghp_0123456789abcdefghijklmnopqrstuvwxyz", true, "a GitHub token"],
    ["whsec_c2VjcmV0LXZhbHVl", true, "a webhook secret"],
    ["arg-token-3c9f1e7a5b2d", true, "a token with a random tail"],
    ["aGVsbG8gd29ybGQgdGhpcyBpcyBh", true, "base64"],
    [TASK_ID, false, "a task id"],
    ["execute-task", false, "a command name"],
    ["check-prerequisites", false, "a long command name"],
    ["changes.patch", false, "a file name"],
    ["./out/changes-0123456789abcdef.patch", false, "a path"],
    ["/tmp/report-2026a1b2c3d4.json", false, "an absolute path"],
    ["claude-sonnet-4-5", false, "a model name"],
    ["bypassPermissions", false, "a permission mode"],
    ["fix/parse-2026-bug", false, "a branch"],
    ["20261201", false, "a date"],
    ["What is 2 + 2? 3f9a0c1b7d2e4f6a8b9c", false, "a task text (it has spaces)"],
    ["http://127.0.0.1:8787", false, "a URL"],
    ["dev-token", false, "the stand-in's public token"],
  ])("%s: %s (%s)", (value, expected) => {
    expect(looksLikeCredential(value)).toBe(expected);
  });

  const COMMANDS = ["submit", "status", "artifact", "execute-task", "check-prerequisites"];

  it.each([
    [["status", "http://x", "my-secret-token", TASK_ID], ["my-secret-token"], "the token after the URL"],
    [["status", "http://x", TASK_ID], [], "a task id after the URL"],
    [["list", "http://x", "--limit", "5"], [], "an option after the URL"],
    [["submit", "http://x", "task"], [], "a short word after the URL (a task)"],
    [["submit", "http://x", "Fix the bug in src/parse.ts"], [], "a task of several words after the URL"],
    [["execute-task", "check-prerequisites"], [], "command names"],
    [["artifact", TASK_ID, "changes.patch"], [], "a task id and a file name"],
    [[HEX_TOKEN, "http://x"], [HEX_TOKEN], "a token where the command goes"],
    [["list", "--limit", HEX_TOKEN], [HEX_TOKEN], "a token as an option value"],
  ])("%j: %j (%s)", (argv, expected) => {
    expect(secretArguments(argv, COMMANDS)).toEqual(expected);
  });
});

describe("exit codes", () => {
  it.each([
    [true, { success: true }, EXIT.ok],
    [false, { success: false, code: "invalid_timeout", http_code: 400 }, EXIT.usage],
    [false, { success: false, code: "body_too_large", http_code: 413 }, EXIT.usage],
    [false, { success: false, code: "unauthorized", http_code: 401 }, EXIT.failed],
    [false, { success: false, code: "task_not_found", http_code: 404 }, EXIT.failed],
    [false, { success: false, code: "rate_limited", http_code: 429 }, EXIT.failed],
    [false, { success: false, code: "server_unreachable", http_code: null }, EXIT.failed],
    [false, { success: false, status: "failed", error: { code: "claude_error" } }, EXIT.failed],
    [false, null, EXIT.failed],
  ] as [boolean, JsonObject | null, number][])("ok %s with %j exits %i", (ok, output, code) => {
    expect(exitCodeOf(ok, output)).toBe(code);
  });
});

describe("failures of HTTP calls", () => {
  it.each([
    [429, { error: "Too many tasks created; retry later", code: "rate_limited" }, "60", "retry in 60 s", 60],
    [503, { error: "No sandbox is available right now; retry later", code: "sandbox_unavailable", taskId: TASK_ID }, "30", "retry in 30 s", 30],
    [429, { error: "Too many tasks created; retry later", code: "rate_limited" }, null, "retry in a minute", undefined],
  ])("%i with Retry-After %s says when to retry: %s", (status, body, retryAfter, when, seconds) => {
    const headers = new Headers(retryAfter === null ? {} : { "retry-after": retryAfter });
    const output = httpFailure(status, body, { headers });
    expect(output).toMatchObject({ success: false, error: body.error, code: body.code, http_code: status, hint: expect.stringContaining(when) });
    expect(output.hint).not.toContain("Retry-After");
    expect(output.retry_after_s).toBe(seconds);
  });

  it("gives an answer that is not the API's (a proxy's page) a code too", () => {
    expect(httpFailure(502, "<html>Bad gateway</html>")).toMatchObject({ success: false, error: "<html>Bad gateway</html>", code: "unexpected_response", http_code: 502, hint: expect.any(String) });
  });
});

describe("the built CLI", () => {
  const UNKNOWN_ID = "3f1c1c3e-5a7b-4c8d-9e0f-112233445566";

  it.each([
    [["list", "--limit", "1000"], "invalid_query"],
    [["status", "not-a-uuid"], "invalid_task_id"],
    [["submit", "--permission-mode", "yolo", `t\n${FAST}`], "invalid_permission_mode"],
    [["submit", "--timeout", "10", `t\n${FAST}`], "invalid_timeout"],
  ])("%j: the deployment's 400 is a usage mistake, exit 2, in the failure shape", async (args, code) => {
    const run = await runCli([args[0]!, stub.url, stub.token, ...args.slice(1)], { env: noEnv });
    expect(run.code).toBe(2);
    expect(run.json).toMatchObject({ success: false, code, http_code: 400, hint: expect.any(String), error: expect.any(String) });
    expect(run.stdout).not.toContain(stub.token);
  });

  it("exits 1, not 2, when the request was fine and the answer is a failure (404)", async () => {
    const run = await runCli(["status", stub.url, stub.token, UNKNOWN_ID], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ success: false, code: "task_not_found", http_code: 404 });
  });

  it("reports an unreachable server with a code (exit 1)", async () => {
    const run = await runCli(["status", "http://127.0.0.1:1", stub.token, UNKNOWN_ID], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ success: false, code: "server_unreachable", http_code: null, hint: expect.stringContaining("npm run dev:stub") });
  });

  it("names the command, the artifact and the options in its messages, redacting only the token", async () => {
    const secret = "deploy-token-9f8e7d6c5b4a3210";
    const wrongName = await runCli(["artifact", stub.url, secret, UNKNOWN_ID, "changes.diff"], { env: noEnv });
    expect(wrongName.code).toBe(2);
    expect(wrongName.json).toMatchObject({ code: "invalid_artifact_name", error: 'There is no artifact "changes.diff"; a task\'s artifacts are: changes.patch' });
    const tooMany = await runCli(["check-prerequisites", secret], { env: noEnv });
    expect(tooMany.json.error).toBe("too many arguments for 'check-prerequisites'. Expected 0 arguments but got 1.");
    const wrongStatus = await runCli(["list", stub.url, secret, "--status", "done"], { env: noEnv });
    expect(wrongStatus.json).toMatchObject({ code: "invalid_option_value", error: expect.stringContaining('got "done"') });
    const tokenAsLimit = await runCli(["list", stub.url, "--limit", secret], { env: noEnv });
    expect(tokenAsLimit.json.error).toBe('--limit must be a positive integer, got "[redacted]"');
    for (const run of [wrongName, tooMany, wrongStatus, tokenAsLimit]) {
      expect(run.stdout).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
  });
});

describe("test-deployment with a token the deployment refuses", () => {
  it("says once, at the top, that the token was refused, and does not run a task with it", async () => {
    const result = await testDeployment({ args: [stub.url, "wrong-token-0123456789abcdef"], task: `What is 2 + 2?\n${FAST}` });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, code: "token_refused", error: expect.stringMatching(/^The token was refused/), hint: expect.stringContaining("serverAuthToken") });
    const checks = result.output.checks as { name: string; ok: boolean | null; message: string }[];
    expect(checks.map((check) => [check.name, check.ok])).toEqual([
      ["health", true],
      ["rejects_missing_token", true],
      ["rejects_wrong_token", true],
      ["rejects_missing_task", false],
      ["lists_tasks", false],
      ["first_deploy_check", null],
      ["task_round_trip", null],
    ]);
    expect(checks.at(-1)!.message).toBe("skipped: the token was refused");
    expect(JSON.stringify(result.output).match(/token was refused/g)).toHaveLength(3);
  });

  it("says the deployment was out of reach when it was", async () => {
    const result = await testDeployment({ args: ["http://127.0.0.1:1", "some-token"] });
    expect(result.output).toMatchObject({ success: false, code: "server_unreachable", error: expect.stringMatching(/^The deployment did not answer: Could not reach/) });
  });

  it("names the checks that failed otherwise", async () => {
    const result = await testDeployment({ args: [stub.url, stub.token], task: `${FAST}\n@stub exit=1` });
    expect(result.output).toMatchObject({ success: false, code: "deployment_checks_failed", error: "1 of 7 checks failed: task_round_trip" });
  });
});
