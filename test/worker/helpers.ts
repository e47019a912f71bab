/** Requests, bindings, waiting and log capture shared by the Worker tests. */
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, expect, vi } from "vitest";
import type { TaskEvent, TaskResult, TaskStatusDocument } from "../../worker/src/contract.js";
import worker from "../../worker/src/index.js";
import type { WorkerEnv } from "../../worker/src/env.js";
import { resetSandboxScript, sandboxEvents, sandboxScript } from "./harness.js";

export const testEnv = env as WorkerEnv;
export const CURRENT_TOKEN = testEnv.SERVER_AUTH_TOKEN!;
export const PREVIOUS_TOKEN = testEnv.SERVER_AUTH_TOKEN_PREVIOUS!;
export const OAUTH_TOKEN = testEnv.CLAUDE_CODE_OAUTH_TOKEN!;
export const WEBHOOK_SECRET = testEnv.WEBHOOK_SECRET!;
export const BASE = "https://claude-sandbox.example.workers.dev";
/** Any UUID (the API accepts any). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A UUIDv7: what the API gives new tasks. */
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const auth = (token = CURRENT_TOKEN) => ({ authorization: `Bearer ${token}` });
export const jsonHeaders = (token = CURRENT_TOKEN) => ({ ...auth(token), "content-type": "application/json" });

/** Sends a request through the deployed entry point (the `exports.default` service). */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/** POST /execute with a JSON body (a string is sent as is). */
export function execute(body: unknown, headers: Record<string, string> = jsonHeaders()): Promise<Response> {
  return call("/execute", { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** POST /tasks with a JSON body (a string is sent as is). */
export function submit(body: unknown, headers: Record<string, string> = jsonHeaders()): Promise<Response> {
  return call("/tasks", { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** Submits a task that must be accepted; returns its status document. */
export async function submitted(body: Record<string, unknown>): Promise<TaskStatusDocument> {
  const response = await submit(body);
  expect(response.status).toBe(202);
  return (await response.json()) as TaskStatusDocument;
}

/** GET a JSON document with the current token. */
export async function getJson<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await call(path, { headers: auth() });
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = "the condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until a task's result is stored, and returns it. */
export function storedResult(taskId: string, timeoutMs = 10_000): Promise<TaskResult> {
  return eventually(
    async () => {
      const response = await call(`/tasks/${taskId}/result`, { headers: auth() });
      return response.status === 200 ? ((await response.json()) as TaskResult) : (await response.body?.cancel(), undefined);
    },
    timeoutMs,
    `the result of ${taskId}`,
  );
}

/** Waits until a task has this status. */
export function statusBecomes(taskId: string, status: string, timeoutMs = 10_000): Promise<TaskStatusDocument> {
  return eventually(
    async () => {
      const { body } = await getJson<TaskStatusDocument>(`/tasks/${taskId}`);
      return body.status === status ? body : undefined;
    },
    timeoutMs,
    `status ${status} of ${taskId}`,
  );
}

/** POST /tasks/:taskId/cancel with the current token. */
export function cancel(taskId: string): Promise<Response> {
  return call(`/tasks/${taskId}/cancel`, { method: "POST", headers: auth() });
}

/** Every event of a task (up to 1000), as the JSON pages give them. */
export async function eventsOf(taskId: string): Promise<TaskEvent[]> {
  const { body } = await getJson<{ events: TaskEvent[] }>(`/tasks/${taskId}/events?limit=1000`);
  return body.events;
}

/** The event types of a stand-in run of `texts` assistant texts (3 by default) that succeeds. */
export function stubEventTypes(texts = 3): string[] {
  return ["status", "status", "init", "text", "tool_use", "tool_result", ...Array.from({ length: texts - 1 }, () => "text"), "result", "end"];
}

/** Expects `seq`s numbered from 1 without gaps or repeats, in order. */
export function expectGapless(events: readonly { seq: number }[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
}

/** What the platform answers when it has no container for a task right now. */
export const NO_INSTANCE =
  "There is no Container instance available at this time. This is likely because you have reached your max concurrent instance count";

/** Makes the next `count` requests for a container fail for lack of capacity (more than any test's queue timeout retries by default). */
export function noContainers(count = 20): void {
  sandboxScript.startErrors = Array.from({ length: count }, () => NO_INSTANCE);
}

/** Waits until a task's sandbox was destroyed. */
export function sandboxDestroyed(taskId: string, timeoutMs = 5_000): Promise<true> {
  return eventually(async () => (sandboxEvents.destroyed.includes(sandboxIdOf(taskId)) ? true : undefined), timeoutMs, `the sandbox of ${taskId} to be destroyed`);
}

/** Bindings to replace or remove (undefined) for one request. */
export type EnvOverrides = { [Name in keyof WorkerEnv]?: WorkerEnv[Name] | undefined };

/** The test environment with some bindings replaced or removed. */
export function envWith(overrides: EnvOverrides): WorkerEnv {
  return { ...testEnv, ...overrides } as WorkerEnv;
}

/** Calls the Worker's fetch handler directly with a modified environment (the Durable Objects keep theirs). */
export async function callWithEnv(path: string, init: RequestInit, overrides: EnvOverrides): Promise<Response> {
  const request = new Request(`${BASE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  return worker.fetch(request, envWith(overrides), createExecutionContext());
}

/** POSTs a JSON body (a string is sent as is) with the current token and a modified environment. */
export function postWithEnv(path: string, body: unknown, overrides: EnvOverrides): Promise<Response> {
  return callWithEnv(path, { method: "POST", headers: jsonHeaders(), body: typeof body === "string" ? body : JSON.stringify(body) }, overrides);
}

/** Submits a task that must be accepted, with a modified environment (other settings); returns its status document. */
export async function submittedWithEnv(overrides: EnvOverrides, body: Record<string, unknown>): Promise<TaskStatusDocument> {
  const response = await postWithEnv("/tasks", body, overrides);
  expect(response.status).toBe(202);
  return (await response.json()) as TaskStatusDocument;
}

/** Every key under `tasks/` in the results bucket. */
export async function storedKeys(): Promise<string[]> {
  const listing = await testEnv.RESULTS.list({ prefix: "tasks/" });
  return listing.objects.map((object) => object.key);
}

/** The keys a task has in the results bucket. */
export async function keysOf(taskId: string): Promise<string[]> {
  const listing = await testEnv.RESULTS.list({ prefix: `tasks/${taskId}/` });
  return listing.objects.map((object) => object.key).sort();
}

/** The Durable Object id (hex) of a task's sandbox. */
export function sandboxIdOf(taskId: string): string {
  return testEnv.Sandbox.idFromName(taskId).toString();
}

/** What a task's Durable Object stores: its keys and the rows of every table. */
export async function taskStorage(taskId: string): Promise<{ keys: string[]; rows: number; alarm: number | null }> {
  const stub = testEnv.TASKS.get(testEnv.TASKS.idFromName(taskId));
  return runInDurableObject(stub, async (_instance, state) => {
    const keys = [...state.storage.kv.list()].map(([key]) => key);
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
      .toArray();
    let rows = 0;
    for (const { name } of tables) rows += state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM "${name}"`).one().n;
    return { keys, rows, alarm: await state.storage.getAlarm() };
  });
}

/** Captures console.log lines (request logs and task warnings) for the current test. */
export function captureLogs(): { lines: () => string[]; records: () => Record<string, unknown>[] } {
  let lines: string[] = [];
  beforeEach(() => {
    lines = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return { lines: () => lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** Resets the scripted sandbox before each test. */
export function freshState(): void {
  beforeEach(() => {
    resetSandboxScript();
  });
}
