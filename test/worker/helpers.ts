/** Requests, bindings and log capture shared by the Worker tests. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, vi } from "vitest";
import worker from "../../worker/src/index.js";
import type { WorkerEnv } from "../../worker/src/env.js";
import { resetSandboxScript } from "./harness.js";

export const testEnv = env as WorkerEnv;
export const CURRENT_TOKEN = testEnv.SERVER_AUTH_TOKEN!;
export const PREVIOUS_TOKEN = testEnv.SERVER_AUTH_TOKEN_PREVIOUS!;
export const OAUTH_TOKEN = testEnv.CLAUDE_CODE_OAUTH_TOKEN!;
export const BASE = "https://claude-sandbox.example.workers.dev";
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

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

/** Bindings to replace or remove (undefined) for one request. */
export type EnvOverrides = { [Name in keyof WorkerEnv]?: WorkerEnv[Name] | undefined };

/** The test environment with some bindings replaced or removed. */
export function envWith(overrides: EnvOverrides): WorkerEnv {
  return { ...testEnv, ...overrides } as WorkerEnv;
}

/** Calls the Worker's fetch handler directly with a modified environment. */
export async function callWithEnv(path: string, init: RequestInit, overrides: EnvOverrides): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  const response = await worker.fetch(request, envWith(overrides), ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Every key under `tasks/` in the results bucket. */
export async function storedKeys(): Promise<string[]> {
  const listing = await testEnv.RESULTS.list({ prefix: "tasks/" });
  return listing.objects.map((object) => object.key);
}

/** The Durable Object id (hex) of a task's sandbox. */
export function sandboxIdOf(taskId: string): string {
  return testEnv.Sandbox.idFromName(taskId).toString();
}

/** Captures console.log lines (the request log) for the current test. */
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

/** Resets the scripted sandbox and empties the results bucket before each test. */
export function freshState(): void {
  beforeEach(async () => {
    resetSandboxScript();
    const keys = await storedKeys();
    if (keys.length > 0) await testEnv.RESULTS.delete(keys);
  });
}
