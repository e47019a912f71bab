/**
 * The MCP server at `POST /mcp`, driven by the official MCP client (the same
 * SDK, as Claude Code and other agents use it) against the run's shared
 * `npm run dev:stub`: the real Worker in workerd with the stand-in sandbox.
 * The client checks every `structuredContent` against the tool's output
 * schema, so each call below that returns a document also proves it fits.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskEventsPage, TaskListDocument, TaskStatusDocument } from "../../worker/src/contract.js";
import type { AgentResult } from "../../worker/src/mcp/text.js";
import { type SharedStub, sharedStub } from "../fixtures/dev-stub.js";

/** A stand-in run without pauses. */
const FAST = "@stub delay=0";
const REPO = "https://github.com/octocat/Hello-World";
const UNKNOWN_ID = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
const TOOLS = ["run_task", "get_task", "wait_for_task", "get_task_events", "get_task_result", "get_task_patch", "cancel_task", "list_tasks"];

interface Outcome {
  task: TaskStatusDocument;
  result: AgentResult | null;
}

let stub: SharedStub;
let client: Client;
/** Tasks that never end by themselves, cancelled after the file. */
const hanging: string[] = [];

async function connect(token: string): Promise<Client> {
  const connected = new Client({ name: "claude-sandbox-tests", version: "1.0.0" });
  await connected.connect(new StreamableHTTPClientTransport(new URL(`${stub.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return connected;
}

beforeAll(async () => {
  stub = await sharedStub();
  client = await connect(stub.token);
});

afterAll(async () => {
  for (const taskId of hanging) await client.callTool({ name: "cancel_task", arguments: { taskId } });
  await client?.close();
});

/** Calls a tool that must succeed; returns its text and document. */
async function call<T>(name: string, args: Record<string, unknown>, onprogress?: (progress: Progress) => void): Promise<{ text: string; document: T }> {
  const result = (await client.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress } : {})) as CallToolResult;
  const text = result.content.map((block) => (block.type === "text" ? block.text : "")).join("");
  expect(result.isError, text).toBeFalsy();
  expect(result.structuredContent).toBeDefined();
  return { text, document: result.structuredContent as T };
}

/** Calls a tool that must fail; returns its error text, which carries no document. */
async function failure(name: string, args: Record<string, unknown>): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError).toBe(true);
  expect(result.structuredContent).toBeUndefined();
  return result.content.map((block) => (block.type === "text" ? block.text : "")).join("");
}

/** A JSON-RPC request straight over HTTP, as any client sends it. */
function rpc(body: string, headers: Record<string, string> = { Authorization: `Bearer ${stub.token}` }): Promise<Response> {
  return fetch(`${stub.url}/mcp`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body,
  });
}

describe("the server", () => {
  it("introduces itself and offers the eight tools, each with a description, input and output schemas", async () => {
    expect(client.getServerVersion()).toMatchObject({ name: "claude-sandbox" });
    expect(client.getInstructions()).toContain("run_task");
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description!.length, tool.name).toBeGreaterThan(100);
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.outputSchema?.type, tool.name).toBe("object");
    }
    const readOnly = tools.filter((tool) => tool.annotations?.readOnlyHint).map((tool) => tool.name);
    expect(readOnly.sort()).toEqual(["get_task", "get_task_events", "get_task_patch", "get_task_result", "list_tasks", "wait_for_task"]);
  });

  it("takes every field POST /tasks allows in run_task, and wait", async () => {
    const refused = await fetch(`${stub.url}/tasks`, {
      method: "POST",
      headers: { Authorization: `Bearer ${stub.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ task: "t", notAField: 1 }),
    });
    const { details } = (await refused.json()) as { details: { allowed: string[] } };
    const { tools } = await client.listTools();
    const runTask = tools.find((tool) => tool.name === "run_task")!;
    expect(Object.keys(runTask.inputSchema.properties!).sort()).toEqual([...details.allowed, "wait"].sort());
    expect(runTask.inputSchema.required).toEqual(["task"]);
  });
});

describe("a task through the tools", () => {
  it("runs a task, waits for it with progress, and reads its events and result", async () => {
    // The stand-in's default run: a few events about 300 ms apart, so the wait sees them come.
    const { document: submitted, text } = await call<Outcome>("run_task", { task: "Count to three" });
    expect(submitted.result).toBeNull();
    expect(["queued", "running"]).toContain(submitted.task.status);
    expect(text).toContain(`Task ${submitted.task.taskId}`);

    const progress: Progress[] = [];
    const { document: waited, text: waitedText } = await call<Outcome>("wait_for_task", { taskId: submitted.task.taskId }, (p) => progress.push(p));
    expect(waited.task.status).toBe("succeeded");
    expect(waited.result).toMatchObject({ taskId: submitted.task.taskId, status: "succeeded", success: true });
    expect(waited.result!.output).toContain("Count to three");
    expect(waited.result).not.toHaveProperty("stdout");
    expect(waitedText).toMatch(/succeeded in [\d.]+ s\.\nOutput:\n\nStub sandbox/);
    // Progress came while it waited, growing with each event, up to the task's last one.
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.map((p) => p.progress)).toEqual([...new Set(progress.map((p) => p.progress))].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ progress: waited.task.eventCount, message: expect.stringContaining("end: succeeded") });

    const first = await call<TaskEventsPage>("get_task_events", { taskId: submitted.task.taskId, limit: 3 });
    expect(first.document.events.map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(first.document).toMatchObject({ next: 3, done: false });
    expect(first.text).toContain("#1 status: queued");
    expect(first.text).toContain("Pass after: 3 to read on.");
    const rest = await call<TaskEventsPage>("get_task_events", { taskId: submitted.task.taskId, after: 3 });
    expect(rest.document.events[0]!.seq).toBe(4);
    expect(rest.document.events.at(-1)).toMatchObject({ type: "end", data: { status: "succeeded" } });
    expect(rest.document.done).toBe(true);

    const status = await call<TaskStatusDocument>("get_task", { taskId: submitted.task.taskId.toUpperCase() });
    expect(status.document).toMatchObject({ taskId: submitted.task.taskId, status: "succeeded", eventCount: waited.task.eventCount });
    const result = await call<AgentResult>("get_task_result", { taskId: submitted.task.taskId });
    expect(result.document).toEqual(waited.result);
  });

  it("runs a task and returns its result in one call with wait: true", async () => {
    const { document } = await call<Outcome>("run_task", { task: `Say hello\n${FAST}`, maxTurns: 3, wait: true });
    expect(document.task.status).toBe("succeeded");
    expect(document.result).toMatchObject({ status: "succeeded", output: expect.stringContaining("Say hello") });
  });

  it("runs a repository task and hands back its patch", async () => {
    const { document } = await call<Outcome>("run_task", { task: `Fix the typo in README\n${FAST}`, repo: { url: REPO }, wait: true });
    expect(document.result).toMatchObject({ status: "succeeded", repository: { url: REPO, pushed: false, diffStat: { filesChanged: 1 } } });
    const { document: patch, text } = await call<{ taskId: string; patch: string; truncated: boolean }>("get_task_patch", { taskId: document.task.taskId });
    expect(patch).toEqual({ taskId: document.task.taskId, patch: expect.stringContaining("+++ b/NOTES.md"), truncated: false });
    expect(patch.patch).toMatch(/^\+.*Fix the typo in README$/m);
    expect(text).toContain(`The patch of task ${document.task.taskId}:\n\ndiff --git a/NOTES.md b/NOTES.md`);
  });

  it("stops waiting at timeoutSeconds, and cancels a running task", async () => {
    const { document: submitted } = await call<Outcome>("run_task", { task: "@stub hang" });
    hanging.push(submitted.task.taskId);
    const started = Date.now();
    const { document: waited, text } = await call<Outcome>("wait_for_task", { taskId: submitted.task.taskId, timeoutSeconds: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(waited).toMatchObject({ task: { status: "running" }, result: null });
    expect(text).toContain("Call wait_for_task to wait for it");

    expect(await failure("get_task_result", { taskId: submitted.task.taskId })).toBe("task_not_finished (HTTP 409): Task has not finished yet; taskId: " + submitted.task.taskId + "; status: running");
    expect(await failure("get_task_patch", { taskId: submitted.task.taskId })).toMatch(/^task_not_finished \(HTTP 409\): .*status: running$/);

    const { document: cancelled } = await call<TaskStatusDocument>("cancel_task", { taskId: submitted.task.taskId });
    expect(cancelled).toMatchObject({ taskId: submitted.task.taskId, status: "cancelled", error: { code: "task_cancelled" } });
    const { document: ended } = await call<Outcome>("wait_for_task", { taskId: submitted.task.taskId, timeoutSeconds: 10 });
    expect(ended.result).toMatchObject({ status: "cancelled", success: false, error: { code: "task_cancelled" } });
    expect(await failure("cancel_task", { taskId: submitted.task.taskId })).toMatch(/^task_finished \(HTTP 409\): Task has already finished; .*status: cancelled/);
  });

  it("lists tasks newest first, by status, a page at a time", async () => {
    // Other files' tasks share the stub: the list is checked for order and paging, not for being only these.
    const older = await call<Outcome>("run_task", { task: `First\n${FAST}`, wait: true });
    const newer = await call<Outcome>("run_task", { task: `Second\n${FAST}`, wait: true });
    const { document: all } = await call<TaskListDocument>("list_tasks", { status: "succeeded", limit: 100 });
    expect(all.tasks.every((task) => task.status === "succeeded")).toBe(true);
    const ids = all.tasks.map((task) => task.taskId);
    expect(ids.indexOf(newer.document.task.taskId)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(newer.document.task.taskId)).toBeLessThan(ids.indexOf(older.document.task.taskId));

    const { document: first, text } = await call<TaskListDocument>("list_tasks", { limit: 1 });
    expect(first.tasks).toHaveLength(1);
    expect(first.cursor).toBe(first.tasks[0]!.taskId);
    expect(text).toContain(`Older tasks: pass cursor: ${first.cursor}.`);
    const { document: second } = await call<TaskListDocument>("list_tasks", { limit: 1, cursor: first.cursor });
    expect(second.tasks[0]!.taskId < first.cursor!).toBe(true);
  });
});

describe("errors", () => {
  it.each([
    ["run_task", { task: "   " }, "task_required (HTTP 400): Task is required"],
    ["run_task", { task: "t", timeout: 5 }, 'invalid_timeout (HTTP 400): Timeout must be an integer number of milliseconds within the allowed range; details: {"min":1000,"max":900000}'],
    ["run_task", { task: "t", maxBudgetUsd: -1 }, "invalid_max_budget (HTTP 400)"],
    ["run_task", { task: "t", repo: { url: "http://github.com/octocat/Hello-World" } }, "invalid_repo_url (HTTP 400)"],
    ["run_task", { task: "t", pullRequest: true }, "repository_required (HTTP 400)"],
    ["run_task", { task: "t", continueFrom: UNKNOWN_ID }, "continue_from_unavailable (HTTP 409)"],
    ["get_task", { taskId: "not-a-task-id" }, "invalid_task_id (HTTP 400): Task id must be a UUID"],
    ["get_task", { taskId: ".." }, "invalid_task_id (HTTP 400)"],
    ["get_task", { taskId: `../tasks/${UNKNOWN_ID}` }, "invalid_task_id (HTTP 400)"],
    ["get_task", { taskId: `${UNKNOWN_ID}?x=1` }, "invalid_task_id (HTTP 400)"],
    ["get_task", { taskId: UNKNOWN_ID }, "task_not_found (HTTP 404): Task not found"],
    ["wait_for_task", { taskId: UNKNOWN_ID, timeoutSeconds: 1 }, "task_not_found (HTTP 404)"],
    ["get_task_events", { taskId: UNKNOWN_ID }, "task_not_found (HTTP 404)"],
    ["get_task_events", { taskId: UNKNOWN_ID, limit: 5000 }, 'invalid_query (HTTP 400): Query parameter is not valid; details: {"parameter":"limit","min":1,"max":1000}'],
    ["get_task_events", { taskId: UNKNOWN_ID, after: -1 }, "invalid_query (HTTP 400)"],
    ["get_task_result", { taskId: UNKNOWN_ID }, "result_not_found (HTTP 404): Task result not found"],
    ["get_task_patch", { taskId: UNKNOWN_ID }, "artifact_not_found (HTTP 404)"],
    ["cancel_task", { taskId: UNKNOWN_ID }, "task_not_found (HTTP 404)"],
    ["cancel_task", { taskId: "x" }, "invalid_task_id (HTTP 400)"],
    ["list_tasks", { cursor: "not-a-cursor" }, 'invalid_query (HTTP 400): Query parameter is not valid; details: {"parameter":"cursor"}'],
    ["list_tasks", { limit: 0 }, "invalid_query (HTTP 400)"],
  ])("%s %j is an error result naming the API's code", async (name, args, expected) => {
    expect(await failure(name, args)).toContain(expected);
  });

  it("is an error result for a task without a repository's patch, and for a finished task's cancel", async () => {
    const { document } = await call<Outcome>("run_task", { task: `No repository\n${FAST}`, wait: true });
    expect(await failure("get_task_patch", { taskId: document.task.taskId })).toBe("artifact_not_found (HTTP 404): Task artifact not found");
    expect(await failure("cancel_task", { taskId: document.task.taskId })).toContain("task_finished (HTTP 409)");
  });

  it.each([
    ["a missing task", "run_task", {}],
    ["an argument no tool has", "get_task", { taskId: UNKNOWN_ID, verbose: true }],
    ["a wait over 50 s", "wait_for_task", { taskId: UNKNOWN_ID, timeoutSeconds: 51 }],
    ["a status that does not exist", "list_tasks", { status: "done" }],
    ["a tool that does not exist", "delete_everything", {}],
  ])("refuses %s before calling the API", async (_case, name, args) => {
    expect(await failure(name, args)).toMatch(/Input validation error|not found/);
  });

  it("answers a malformed message with a JSON-RPC parse error", async () => {
    const response = await rpc("{not json");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32700 } });
  });

  it("answers an unknown method with a JSON-RPC error", async () => {
    const response = await rpc(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tasks/explode", params: {} }));
    expect(response.status).toBe(200);
    const data = (await response.text()).split("\n").find((line) => line.startsWith("data: "))!;
    expect(JSON.parse(data.slice("data: ".length))).toEqual({ jsonrpc: "2.0", id: 7, error: { code: -32601, message: "Method not found" } });
  });

  it.each(["GET", "DELETE"])("answers %s with 405 and Allow: POST: no stream and no session to end", async (method) => {
    const response = await fetch(`${stub.url}/mcp`, { method, headers: { Authorization: `Bearer ${stub.token}`, Accept: "text/event-stream" } });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});

describe("auth", () => {
  const initialize = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
  });

  it.each([
    ["no token", {}],
    ["a wrong token", { Authorization: "Bearer not-the-token" }],
    ["another scheme", { Authorization: `Basic ${Buffer.from(`x:${"token"}`).toString("base64")}` }],
  ])("refuses %s with 401 before any MCP happens", async (_case, headers) => {
    const response = await rpc(initialize, headers);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await response.json()).toEqual({ error: "Unauthorized", code: "unauthorized" });
  });

  it("keeps the official client out with a wrong token", async () => {
    await expect(connect(`${stub.token}x`)).rejects.toThrow(/401|Unauthorized/);
  });
});
