/**
 * `POST /execute` keeps the v1 contract on top of the task engine: it answers
 * with the result when the task ends (200 whether the task succeeded or
 * failed, 503 when no sandbox could be had, 500 when the platform failed it),
 * and the task does not depend on the request: a caller who hangs up still
 * gets the task run to its end and its result stored.
 */
import { describe, expect, it } from "vitest";
import { resultKey, SERVICE_VERSION, type TaskResult } from "../../worker/src/contract.js";
import { sandboxEvents, sandboxScript, storageScript } from "./harness.js";
import {
  auth,
  call,
  callWithEnv,
  captureLogs,
  CURRENT_TOKEN,
  eventually,
  execute,
  freshState,
  jsonHeaders,
  noContainers,
  OAUTH_TOKEN,
  postWithEnv,
  PREVIOUS_TOKEN,
  sandboxDestroyed,
  sandboxIdOf,
  storedResult,
  testEnv,
  UUID_V7,
} from "./helpers.js";

freshState();
const logs = captureLogs();

describe("GET /health", () => {
  it("is open and says what the service is, without any secret", async () => {
    const response = await call("/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ status: "healthy", platform: "cloudflare_sandboxes", auth_method: "bearer", version: SERVICE_VERSION });
    for (const secret of [CURRENT_TOKEN, PREVIOUS_TOKEN, OAUTH_TOKEN]) expect(text).not.toContain(secret);
  });
});

describe("POST /execute", () => {
  it("runs the task in its own sandbox and answers 200 with the result when it ends", async () => {
    const response = await execute({ task: "What is 2 + 2?" });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as TaskResult;
    expect(body.taskId).toMatch(UUID_V7);
    expect(body).toMatchObject({
      status: "succeeded",
      success: true,
      exitCode: 0,
      stderr: "",
      timedOut: false,
      truncated: false,
      result: "Stub sandbox (no container, no Claude) received this task:\nWhat is 2 + 2?",
      output: "Stub sandbox (no container, no Claude) received this task:\nWhat is 2 + 2?",
      usage: { inputTokens: 4, outputTokens: 36, costUsd: 0, numTurns: 3 },
    });
    expect(body).not.toHaveProperty("error");
    expect(body.stdout.trimEnd().split("\n").map((line) => (JSON.parse(line) as { type: string }).type)).toEqual([
      "system",
      "assistant",
      "assistant",
      "user",
      "assistant",
      "assistant",
      "result",
    ]);
    expect(Date.parse(body.timestamp)).toBeGreaterThanOrEqual(Date.parse(body.startedAt!));
    expect(body.durationMs).toBe(Date.parse(body.timestamp) - Date.parse(body.startedAt!));
    expect(sandboxEvents.starts.map((start) => start.sandboxId)).toEqual([sandboxIdOf(body.taskId)]);
    await sandboxDestroyed(body.taskId);
  });

  it("stores the result in R2 before answering, equal to the returned one", async () => {
    const returned = (await (await execute({ task: "store me" })).json()) as TaskResult;
    const object = await testEnv.RESULTS.get(resultKey(returned.taskId));
    expect(object?.httpMetadata?.contentType).toBe("application/json");
    expect(JSON.parse(await object!.text())).toEqual(returned);
    const read = await call(`/tasks/${returned.taskId}/result`, { headers: auth() });
    expect(await read.json()).toEqual(returned);
  });

  it("answers 200 with success:false for a task that ran and failed", async () => {
    const response = await execute({ task: "fail\n@stub exit=2" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "failed", success: false, exitCode: 2, error: { code: "claude_exit_nonzero" } });
  });

  it("answers 200 with timedOut for a task that hit its timeout", async () => {
    const response = await execute({ task: "slow\n@stub hang", timeout: 1000 });
    expect(response.status).toBe(200);
    // timeout(1) stopped Claude Code at the timeout: exit 124.
    expect(await response.json()).toMatchObject({ status: "timed_out", success: false, timedOut: true, exitCode: 124, error: { code: "task_timeout" } });
  });

  it("answers 503 sandbox_unavailable with Retry-After and the task id when no sandbox comes in time", async () => {
    noContainers();
    const response = await postWithEnv("/execute", { task: "t" }, { QUEUE_TIMEOUT_MS: "1000" });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await response.json()) as { taskId: string };
    expect(body).toEqual({ error: "No sandbox is available right now; retry later", code: "sandbox_unavailable", taskId: expect.stringMatching(UUID_V7) });
    // The outcome is stored like any other.
    expect((await storedResult(body.taskId)).error?.code).toBe("sandbox_unavailable");
  });

  it("answers 500 task_execution_failed with the task id when the container is lost", async () => {
    sandboxScript.loseContainerAfterFrames = 3;
    const response = await execute({ task: "secret task text\n@stub delay=50" });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { taskId: string };
    expect(body).toEqual({ error: "Task execution failed", code: "task_execution_failed", taskId: expect.stringMatching(UUID_V7) });
    expect((await storedResult(body.taskId)).error?.code).toBe("platform_interrupted");
    expect(logs.lines().join("\n")).not.toContain("secret task text");
  });

  it("answers 500 result_store_failed with the whole result when R2 refuses it, and stores it on the retry", async () => {
    storageScript.failPuts = 1;
    const response = await execute({ task: "keep my result" });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code: string; error: string; taskId: string; result: TaskResult };
    expect(body.code).toBe("result_store_failed");
    expect(body.error).toBe("Task ran but its result could not be stored");
    expect(body.result).toMatchObject({ taskId: body.taskId, success: true, result: "Stub sandbox (no container, no Claude) received this task:\nkeep my result" });
    // Until the retry, the result route says the same.
    const read = await call(`/tasks/${body.taskId}/result`, { headers: auth() });
    expect(read.status).toBe(500);
    expect(await read.json()).toEqual({ error: "Task ran but its result could not be stored", code: "result_store_failed", taskId: body.taskId, result: body.result });
    // Nothing is lost: the task object stores it a few seconds later.
    const stored = await storedResult(body.taskId, 15_000);
    expect(stored).toEqual(body.result);
  }, 20_000);

  it("lets the task run to its end when the caller hangs up", async () => {
    const abort = new AbortController();
    const pending = call("/execute", {
      method: "POST",
      headers: jsonHeaders(),
      body: JSON.stringify({ task: "hang up on me\n@stub delay=300" }),
      signal: abort.signal,
    }).catch((error: unknown) => error);
    const start = await eventually(async () => sandboxEvents.starts.find((candidate) => candidate.taskId !== undefined));
    abort.abort();
    await pending;
    const result = await storedResult(start.taskId!);
    expect(result).toMatchObject({ status: "succeeded", result: expect.stringContaining("hang up on me") });
    await sandboxDestroyed(start.taskId!);
  });
});

describe("GET /tasks/:taskId/result", () => {
  it("accepts the id in upper case", async () => {
    const { taskId } = (await (await execute({ task: "case" })).json()) as TaskResult;
    const response = await call(`/tasks/${taskId.toUpperCase()}/result`, { headers: auth() });
    expect(response.status).toBe(200);
  });

  it("answers 404 result_not_found for an id that has no task", async () => {
    const response = await call("/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result", { headers: auth() });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Task result not found", code: "result_not_found" });
  });

  it("answers 500 result_read_failed when the stored result is not JSON", async () => {
    const taskId = "3f1c1c3e-5a7b-4c8d-9e0f-aaaaaaaaaaaa";
    await testEnv.RESULTS.put(resultKey(taskId), "{not json");
    const response = await call(`/tasks/${taskId}/result`, { headers: auth() });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Task result could not be read", code: "result_read_failed", taskId });
  });

  it("answers 500 result_read_failed when R2 fails", async () => {
    const brokenBucket = {
      get: async () => {
        throw new Error("R2 unavailable");
      },
    } as unknown as R2Bucket;
    const response = await callWithEnv("/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result", { headers: jsonHeaders() }, { RESULTS: brokenBucket });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { code: string }).code).toBe("result_read_failed");
  });
});

describe("deployment mistakes are 500s that name the problem", () => {
  const send = (overrides: Parameters<typeof postWithEnv>[2], path = "/execute") => postWithEnv(path, { task: "t" }, overrides);

  it.each([["/execute"], ["/tasks"]])("no Claude credential → 500 credential_not_configured at %s, nothing run", async (path) => {
    const response = await send({ CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_API_KEY: undefined }, path);
    expect(response.status).toBe(500);
    expect(((await response.json()) as { code: string }).code).toBe("credential_not_configured");
    expect(sandboxEvents.starts).toEqual([]);
  });

  it.each([
    ["MAX_TIMEOUT_MS", { MAX_TIMEOUT_MS: "ten minutes" }],
    ["PERMISSION_MODE", { PERMISSION_MODE: "yolo" }],
    ["CREDENTIAL_MODE", { CREDENTIAL_MODE: "plaintext" }],
    ["ALLOWED_HOSTS", { ALLOWED_HOSTS: "evil.com/path" }],
    ["QUEUE_TIMEOUT_MS", { QUEUE_TIMEOUT_MS: "-1" }],
    ["MAX_OUTPUT_BYTES", { MAX_OUTPUT_BYTES: "1" }],
    ["MAX_BUDGET_USD", { MAX_BUDGET_USD: "lots" }],
    ["ALLOW_INSECURE_CALLBACKS", { ALLOW_INSECURE_CALLBACKS: "yes" }],
  ])("an invalid %s → 500 settings_invalid naming it, not its value", async (variable, overrides) => {
    const response = await send(overrides);
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code: string; details: { variables: string[] } };
    expect(body.code).toBe("settings_invalid");
    expect(body.details.variables).toEqual([variable]);
    expect(JSON.stringify(body)).not.toContain(Object.values(overrides)[0]);
  });

  it("task objects that cannot be reached → 500 task_store_failed with the task id", async () => {
    const response = await send({ TASKS: undefined });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Task state could not be reached", code: "task_store_failed", taskId: expect.stringMatching(UUID_V7) });
  });

  it("an unexpected failure (a broken rate limit binding) → 500 internal_error that reveals nothing", async () => {
    const response = await send({ TASK_RATE_LIMIT: {} as RateLimit });
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
    expect(sandboxEvents.starts[0]!.env.CLAUDE_CODE_OAUTH_TOKEN).toBe(OAUTH_TOKEN);
  });
});

describe("unknown routes and methods", () => {
  it.each([
    ["GET", "/"],
    ["GET", "/executes"],
    ["GET", "/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result/extra"],
    ["GET", "/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/artifacts"],
  ])("%s %s is a JSON 404 not_found", async (method, path) => {
    const response = await call(path, { method, headers: auth() });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: "Not found", code: "not_found" });
  });

  it.each([
    ["POST", "/health", "GET, HEAD"],
    ["DELETE", "/health", "GET, HEAD"],
    ["GET", "/execute", "POST"],
    ["PUT", "/execute", "POST"],
    ["DELETE", "/tasks", "GET, HEAD, POST"],
    ["DELETE", "/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566", "GET, HEAD"],
    ["POST", "/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/events", "GET, HEAD"],
    ["GET", "/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/cancel", "POST"],
    ["POST", "/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result", "GET, HEAD"],
  ])("%s %s is a JSON 405 with Allow: %s", async (method, path, allow) => {
    const response = await call(path, { method, headers: auth() });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe(allow);
    expect(await response.json()).toEqual({ error: "Method not allowed", code: "method_not_allowed" });
  });

  it("answers HEAD /health like GET, without a body", async () => {
    const response = await call("/health", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });
});

describe("request log", () => {
  it("writes one JSON line per request with method, route, status, task id and duration, never the task", async () => {
    const { taskId } = (await (await execute({ task: "log me" })).json()) as TaskResult;
    await call(`/tasks/${taskId}/result`, { headers: auth() });
    await call("/nope");
    const requests = logs.records().filter((record) => record.event === "request");
    expect(requests).toEqual([
      expect.objectContaining({ event: "request", method: "POST", route: "/execute", status: 200, taskId }),
      expect.objectContaining({ event: "request", method: "GET", route: "/tasks/:taskId/result", status: 200, taskId }),
      expect.objectContaining({ event: "request", method: "GET", route: "unmatched", status: 404, code: "not_found" }),
    ]);
    for (const record of requests) expect(record.durationMs).toBeTypeOf("number");
    expect(logs.lines().join("\n")).not.toContain("log me");
  });

  it("writes none for a healthy /health, and one for a refused one", async () => {
    await call("/health");
    await call("/health", { method: "HEAD" });
    expect(logs.lines()).toEqual([]);
    await call("/health", { method: "POST" });
    expect(logs.records()).toEqual([expect.objectContaining({ route: "/health", status: 405, code: "method_not_allowed" })]);
  });
});

describe("POST /execute waits for the result only", () => {
  it("makes one wait per 10 s of the task, not one per event", async () => {
    const waits: string[] = [];
    const { Task } = await import("./harness.js");
    const original = Task.prototype.awaitResult;
    Task.prototype.awaitResult = async function (this: InstanceType<typeof Task>, waitMs: number) {
      waits.push("wait");
      return original.call(this, waitMs);
    };
    try {
      const response = await execute({ task: "chatty\n@stub events=50\n@stub delay=5" });
      expect(response.status).toBe(200);
      expect(((await response.json()) as TaskResult).status).toBe("succeeded");
    } finally {
      Task.prototype.awaitResult = original;
    }
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits.length).toBeLessThanOrEqual(2);
  });
});
