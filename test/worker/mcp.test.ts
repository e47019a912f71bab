/**
 * The MCP server inside the Worker under test (the official client drives it
 * end to end in test/mcp/): a wait rides the API's own event stream instead of
 * polling the task, tools call the API's routes with the caller's token, and
 * a patch is cut at 1 MiB after a whole line.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import { TaskApi } from "../../worker/src/mcp/api.js";
import { MAX_PATCH_BYTES } from "../../worker/src/mcp/tools.js";
import { taskEvents } from "./harness.js";
import { auth, call, cancel, captureLogs, eventually, freshState, getJson, PREVIOUS_TOKEN, storedResult, submitted } from "./helpers.js";

freshState();
const logs = captureLogs();

/** Calls one tool with a JSON-RPC request to `POST /mcp`, and returns its result. */
async function callTool(name: string, args: Record<string, unknown>, token?: string): Promise<CallToolResult> {
  const response = await call("/mcp", {
    method: "POST",
    headers: { ...auth(token), "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } }),
  });
  expect(response.status).toBe(200);
  const messages = (await response.text())
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice("data: ".length)) as { id?: number; result?: CallToolResult });
  return messages.find((message) => message.id === 1)!.result!;
}

describe("wait_for_task", () => {
  it("waits on the task's event stream: a few reads of its events in 3 s, not a poll", async () => {
    const { taskId } = await submitted({ task: "@stub hang\n@stub events=0" });
    await eventually(async () => ((await getJson<TaskStatusDocument>(`/tasks/${taskId}`)).body.eventCount === 3 ? true : undefined), 10_000, "the init event");
    const readsBefore = taskEvents.eventReads;
    const started = Date.now();
    const result = await callTool("wait_for_task", { taskId, timeoutSeconds: 3 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    expect(result.structuredContent).toMatchObject({ task: { taskId, status: "running" }, result: null });
    // The stream's first page, then one wait on the object that the end of the 3 s cuts short.
    expect(taskEvents.eventReads - readsBefore).toBeLessThanOrEqual(2);
    expect((await cancel(taskId)).status).toBe(202);
    await storedResult(taskId);
  });
});

describe("a tool", () => {
  it("reaches the API through its routes with the caller's token (here the previous one), each call a request of its own", async () => {
    const result = await callTool("run_task", { task: "Hello", wait: true }, PREVIOUS_TOKEN);
    expect(result.structuredContent).toMatchObject({ task: { status: "succeeded" }, result: { status: "succeeded" } });
    // Every call the tool made went through the API's routes, each logged as its own request.
    const routes = logs.records().map((record) => `${record.method} ${record.route} ${record.status}`);
    expect(routes).toEqual(expect.arrayContaining(["POST /tasks 202", "GET /tasks/:taskId 200", "GET /tasks/:taskId/result 200", "POST /mcp 200"]));
  });

  it("is never called with a wrong token: the route refuses it before the MCP server runs", async () => {
    const response = await call("/mcp", {
      method: "POST",
      headers: { ...auth("wrong-token"), "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_tasks", arguments: {} } }),
    });
    expect(response.status).toBe(401);
    expect(logs.records().map((record) => record.route)).toEqual(["/mcp"]);
  });
});

describe("a patch", () => {
  const taskId = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
  /** A TaskApi whose API answers every request with `body`, and records the requests. */
  const apiAnswering = (body: string) => {
    const requests: Request[] = [];
    const api = new TaskApi(
      async (request) => {
        requests.push(request);
        return new Response(body, { headers: { "content-type": "text/x-patch; charset=utf-8" } });
      },
      new Request("https://example.workers.dev/mcp", { headers: { authorization: "Bearer t" } }),
    );
    return { api, requests };
  };
  const line = `+${"x".repeat(99)}\n`;

  it("longer than 1 MiB is cut after its last whole line within it", async () => {
    const { api, requests } = apiAnswering(line.repeat(15_000));
    const { patch, truncated } = await api.patch(taskId, MAX_PATCH_BYTES);
    expect(truncated).toBe(true);
    expect(patch.length).toBe(Math.floor(MAX_PATCH_BYTES / line.length) * line.length);
    expect(patch.endsWith("\n")).toBe(true);
    expect(requests[0]!.url).toBe(`https://example.workers.dev/tasks/${taskId}/artifacts/changes.patch`);
    expect(requests[0]!.headers.get("authorization")).toBe("Bearer t");
  });

  it("of exactly 1 MiB is whole", async () => {
    const body = "y".repeat(MAX_PATCH_BYTES - 1) + "\n";
    const { api } = apiAnswering(body);
    expect(await api.patch(taskId, MAX_PATCH_BYTES)).toEqual({ patch: body, truncated: false });
  });
});
