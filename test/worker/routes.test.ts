import { describe, expect, it } from "vitest";
import { resultKey, SERVICE_VERSION } from "../../worker/src/contract.js";
import { events } from "./harness.js";
import {
  auth,
  call,
  captureLogs,
  CURRENT_TOKEN,
  execute,
  freshState,
  OAUTH_TOKEN,
  PREVIOUS_TOKEN,
  sandboxIdOf,
  storedKeys,
  testEnv,
  UUID,
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
    expect(JSON.parse(text)).toEqual({
      status: "healthy",
      platform: "cloudflare_sandboxes",
      auth_method: "bearer",
      version: SERVICE_VERSION,
    });
    for (const secret of [CURRENT_TOKEN, PREVIOUS_TOKEN, OAUTH_TOKEN]) expect(text).not.toContain(secret);
  });
});

describe("POST /execute", () => {
  it("runs the task in its own sandbox and returns the result", async () => {
    const response = await execute({ task: "What is 2 + 2?" });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.taskId).toMatch(UUID);
    expect(body).toMatchObject({
      success: true,
      exitCode: 0,
      stderr: "",
      timedOut: false,
      result: "Stub sandbox (no container, no Claude) received this task:\nWhat is 2 + 2?",
      output: "Stub sandbox (no container, no Claude) received this task:\nWhat is 2 + 2?",
      usage: { inputTokens: 4, outputTokens: 12, costUsd: 0, numTurns: 1 },
    });
    expect(body).not.toHaveProperty("error");
    expect(JSON.parse(String(body.stdout))).toMatchObject({ type: "result", is_error: false });
    expect(Date.parse(String(body.startedAt))).not.toBeNaN();
    expect(Date.parse(String(body.timestamp))).toBeGreaterThanOrEqual(Date.parse(String(body.startedAt)));
    expect(body.durationMs).toBeTypeOf("number");

    // One sandbox per task id, destroyed afterwards.
    expect(events.execs.map((exec) => exec.sandboxId)).toEqual([sandboxIdOf(String(body.taskId))]);
    expect(events.destroyed).toEqual([sandboxIdOf(String(body.taskId))]);
  });

  it("gives every task a new id and a new sandbox", async () => {
    const first = (await (await execute({ task: "one" })).json()) as { taskId: string };
    const second = (await (await execute({ task: "two" })).json()) as { taskId: string };
    expect(first.taskId).not.toBe(second.taskId);
    expect(new Set(events.execs.map((exec) => exec.sandboxId)).size).toBe(2);
  });

  it("stores the result in R2 before answering, equal to the returned one", async () => {
    const response = await execute({ task: "store me" });
    const returned = (await response.json()) as { taskId: string };
    expect(await storedKeys()).toEqual([resultKey(returned.taskId)]);
    const object = await testEnv.RESULTS.get(resultKey(returned.taskId));
    expect(object?.httpMetadata?.contentType).toBe("application/json");
    expect(JSON.parse(await object!.text())).toEqual(returned);
  });

  it("applies the request's timeout, model, maxTurns and permission mode", async () => {
    await execute({ task: "t", timeout: 120_000, model: "sonnet", maxTurns: 7, permissionMode: "plan" });
    const [exec] = events.execs;
    expect(exec!.options?.timeout).toBe(120_000);
    expect(exec!.options?.env?.CLAUDE_CODE_MAX_TURNS).toBe("7");
    expect(exec!.command).toContain("'--model' 'sonnet'");
    expect(exec!.command).toContain("'--permission-mode' 'plan'");
  });

  it("uses the deployment's defaults when the request gives none", async () => {
    await execute({ task: "t" });
    const [exec] = events.execs;
    expect(exec!.options?.timeout).toBe(300_000);
    expect(exec!.command).toContain("'--permission-mode' 'bypassPermissions'");
    expect(exec!.command).not.toContain("--model");
    expect(exec!.options?.env).not.toHaveProperty("CLAUDE_CODE_MAX_TURNS");
    expect(exec!.options?.env?.IS_SANDBOX).toBe("1");
  });

  it("keeps the credential out of the container in proxy mode", async () => {
    await execute({ task: "t" });
    const [exec] = events.execs;
    const sent = JSON.stringify(exec);
    expect(sent).not.toContain(OAUTH_TOKEN);
    expect(exec!.options?.env?.CLAUDE_CODE_OAUTH_TOKEN).toBe("injected-by-claude-sandbox-proxy");
  });
});

describe("GET /tasks/:taskId/result", () => {
  it("returns the stored result of a task", async () => {
    const returned = await (await execute({ task: "round trip" })).json();
    const { taskId } = returned as { taskId: string };
    const response = await call(`/tasks/${taskId}/result`, { headers: auth() });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual(returned);
  });

  it("accepts the id in upper case", async () => {
    const { taskId } = (await (await execute({ task: "case" })).json()) as { taskId: string };
    const response = await call(`/tasks/${taskId.toUpperCase()}/result`, { headers: auth() });
    expect(response.status).toBe(200);
  });

  it("answers 404 result_not_found for an id that has no result", async () => {
    const response = await call("/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result", { headers: auth() });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Task result not found", code: "result_not_found" });
  });
});

describe("unknown routes and methods", () => {
  it.each([
    ["GET", "/"],
    ["GET", "/executes"],
    ["POST", "/tasks"],
    ["GET", "/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566"],
    ["GET", "/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result/extra"],
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
  it("writes one JSON line per request with method, route, status, task id and duration", async () => {
    const { taskId } = (await (await execute({ task: "log me" })).json()) as { taskId: string };
    await call(`/tasks/${taskId}/result`, { headers: auth() });
    await call("/nope");
    expect(logs.records()).toEqual([
      expect.objectContaining({ event: "request", method: "POST", route: "/execute", status: 200, taskId }),
      expect.objectContaining({ event: "request", method: "GET", route: "/tasks/:taskId/result", status: 200, taskId }),
      expect.objectContaining({ event: "request", method: "GET", route: "unmatched", status: 404, code: "not_found" }),
    ]);
    for (const record of logs.records()) expect(record.durationMs).toBeTypeOf("number");
    expect(logs.lines().join("\n")).not.toContain("log me");
  });
});
