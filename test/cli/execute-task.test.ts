/**
 * `execute-task` as `submit` + `wait`: it sends what `submit` sends for the same
 * flags, says the task's id as soon as the task is accepted, waits through
 * queueing (a repository task behind another on its branch) however long it
 * takes, and prints the result with `execution_time_ms`. Against a stand-in
 * API that records each request, and the run's shared `npm run dev:stub`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import { cancelTask } from "../../cli/commands/cancel.js";
import { executeTask } from "../../cli/commands/execute-task.js";
import { submitTask } from "../../cli/commands/submit.js";
import { type SharedStub, sharedStub } from "../fixtures/dev-stub.js";
import { FAST, noEnv, runCli } from "./fixtures/run-cli.js";

const TASK_ID = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
const TOKEN = "tok-3c9f1e7a5b2d4c6e";
const REPO = "https://github.com/octocat/Hello-World";
const RESULT = { taskId: TASK_ID, status: "succeeded", success: true, exitCode: 0, output: "done", result: "done" };

/** A stand-in API: a task that is accepted queued, has ended when asked, and has a stored result; every body sent is kept. */
let api: Server;
let apiUrl: string;
const sent: { method: string; url: string; body: unknown }[] = [];

beforeAll(async () => {
  api = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      sent.push({ method: request.method!, url: request.url!, body: text ? (JSON.parse(text) as unknown) : null });
      const json = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (request.method === "POST" && request.url === "/tasks") json(202, { taskId: TASK_ID, status: "queued", eventCount: 1 });
      else if (request.url === `/tasks/${TASK_ID}`) json(200, { taskId: TASK_ID, status: "succeeded", eventCount: 5 });
      else if (request.url === `/tasks/${TASK_ID}/result`) json(200, RESULT);
      else json(404, { error: "Not found", code: "not_found" });
    });
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => api.close(resolve));
});

const FLAGS = [
  "--timeout", "600000", "--model", "sonnet", "--max-turns", "20", "--permission-mode", "plan", "--max-budget-usd", "2.5",
  "--callback-url", "https://ci.example.com/hook", "--repo", REPO, "--branch", "fix/typo", "--pr", "--pr-title", "Fix",
];

describe("execute-task against a stand-in API", () => {
  it("sends the body submit sends for the same flags, then prints the stored result with execution_time_ms (the built CLI)", async () => {
    const before = sent.length;
    const submitted = await runCli(["submit", apiUrl, TOKEN, ...FLAGS, "--", "-fix the typo"], { env: noEnv });
    const executed = await runCli(["execute-task", apiUrl, TOKEN, ...FLAGS, "--", "-fix the typo"], { env: noEnv });
    expect([submitted.code, executed.code]).toEqual([0, 0]);
    const posts = sent.slice(before).filter((request) => request.method === "POST");
    expect(posts).toHaveLength(2);
    expect(posts[1]!.body).toEqual(posts[0]!.body);
    expect(posts[0]!.body).toEqual({
      task: "-fix the typo",
      timeout: 600_000,
      model: "sonnet",
      maxTurns: 20,
      permissionMode: "plan",
      maxBudgetUsd: 2.5,
      callbackUrl: "https://ci.example.com/hook",
      repo: { url: REPO },
      branch: "fix/typo",
      pullRequest: { title: "Fix" },
    });
    expect(executed.json).toEqual({ ...RESULT, execution_time_ms: expect.any(Number) });
    expect(executed.stderr).toContain(`Task ${TASK_ID} accepted (queued)`);
  });

  it("refuses what submit refuses, before anything is sent (exit 2)", async () => {
    const before = sent.length;
    const run = await runCli(["execute-task", apiUrl, TOKEN, "--pr-title", "Fix", "a task"], { env: noEnv });
    expect(run.code).toBe(2);
    expect(run.json).toMatchObject({ success: false, code: "missing_option", error: "--pr-title needs --pr" });
    expect(sent.length).toBe(before);
  });
});

describe("execute-task against dev:stub", () => {
  let stub: SharedStub;
  beforeAll(async () => {
    stub = await sharedStub();
  });

  it("hands over the task id at once and waits through queueing until the task has run", async () => {
    const branch = `claude/execute-${Date.now()}`;
    const ahead = await submitTask({ args: [stub.url, stub.token, "@stub hang"], repo: REPO, branch });
    expect(ahead.ok).toBe(true);
    const aheadId = String(ahead.output.taskId);
    let accepted: { document: TaskStatusDocument; at: number } | undefined;
    const started = Date.now();
    const executing = executeTask({
      args: [stub.url, stub.token, `Second on the branch\n${FAST}`],
      repo: REPO,
      branch,
      onAccepted: (document) => (accepted = { document, at: Date.now() }),
    });
    // The task waits behind the hanging one for as long as that one runs: here, until it is cancelled.
    const held = 3_000;
    await new Promise((resolve) => setTimeout(resolve, held));
    expect(accepted?.document).toMatchObject({ status: "queued", repository: { branch } });
    await cancelTask({ args: [stub.url, stub.token, aheadId] });
    const result = await executing;
    expect(result.ok).toBe(true);
    expect(result.output).toMatchObject({ taskId: accepted!.document.taskId, status: "succeeded", success: true });
    expect(accepted!.at - started).toBeLessThan(held);
    expect(result.output.execution_time_ms).toBeGreaterThanOrEqual(held);
  });

  it("keeps the task's id in a failure to follow it, so that it can be collected later", async () => {
    const result = await executeTask({
      args: [stub.url, stub.token, "@stub hang"],
      timeoutMs: 60_000,
      // Nothing comes for 200 ms, not even a keep-alive, and no retry: the stream counts as dropped.
      reconnect: { retryDelaysMs: [], idleTimeoutMs: 200 },
    });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, code: expect.stringMatching(/^(stream_ended|server_timeout)$/), taskId: expect.stringMatching(/^[0-9a-f-]{36}$/), execution_time_ms: expect.any(Number) });
    await cancelTask({ args: [stub.url, stub.token, String(result.output.taskId)] });
  });
});
