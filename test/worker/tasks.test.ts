/**
 * The task engine through the real Worker and Durable Objects: a submitted
 * task runs to its terminal status in its own object, with its container
 * destroyed, its result and events in R2, and its object's storage cleared.
 */
import { describe, expect, it } from "vitest";
import { eventsKey, resultKey, type TaskEvent, type TaskListDocument, type TaskStatusDocument } from "../../worker/src/contract.js";
import { sandboxEvents, taskEvents, taskOf } from "./harness.js";
import {
  cancel,
  captureLogs,
  eventsOf,
  eventually,
  expectGapless,
  freshState,
  getJson,
  keysOf,
  OAUTH_TOKEN,
  sandboxIdOf,
  statusBecomes,
  storedResult,
  stubEventTypes,
  submit,
  submitted,
  taskStorage,
  testEnv,
  UUID_V7,
} from "./helpers.js";

freshState();
captureLogs();

describe("POST /tasks", () => {
  it("answers 202 with the status document and a Location, before the task ends", async () => {
    const response = await submit({ task: "wait for me\n@stub delay=200" });
    expect(response.status).toBe(202);
    const document = (await response.json()) as TaskStatusDocument;
    expect(document.taskId).toMatch(UUID_V7);
    expect(response.headers.get("location")).toBe(`/tasks/${document.taskId}`);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(document).toEqual({
      taskId: document.taskId,
      title: "wait for me",
      status: "queued",
      createdAt: expect.any(String),
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      timeoutMs: 300_000,
      eventCount: 1,
      usage: null,
      error: null,
      links: {
        self: `/tasks/${document.taskId}`,
        events: `/tasks/${document.taskId}/events`,
        result: `/tasks/${document.taskId}/result`,
        cancel: `/tasks/${document.taskId}/cancel`,
      },
    });
    await storedResult(document.taskId);
  });

  it("gives task ids that sort by creation time", async () => {
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push((await submitted({ task: `order ${index}` })).taskId);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) await storedResult(id);
  });
});

describe("a task's life", () => {
  it("goes queued → running → succeeded, with every event numbered from 1 without gaps", async () => {
    const { taskId } = await submitted({ task: "What is 2 + 2?" });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({
      taskId,
      status: "succeeded",
      success: true,
      exitCode: 0,
      timedOut: false,
      truncated: false,
      result: "Stub sandbox (no container, no Claude) received this task:\nWhat is 2 + 2?",
      output: "Stub sandbox (no container, no Claude) received this task:\nWhat is 2 + 2?",
      usage: { numTurns: 3, costUsd: 0, models: { "claude-stub-1": expect.objectContaining({ costUsd: 0 }) } },
    });
    expect(result).not.toHaveProperty("error");

    const events = await eventsOf(taskId);
    expectGapless(events);
    expect(events.map((event) => event.type)).toEqual(stubEventTypes());
    expect(events[0]!.data).toEqual({ status: "queued" });
    expect(events[1]!.data).toEqual({ status: "running" });
    expect(events[2]!.data).toMatchObject({ model: "claude-stub-1", tools: ["Bash", "Edit", "Read", "Write"] });
    expect(events[4]!.data).toEqual({
      id: "toolu_stub_1",
      name: "Bash",
      input: { command: "echo hello from the stub", description: "Say hello" },
    });
    expect(events[5]!.data).toEqual({ toolUseId: "toolu_stub_1", isError: false, content: "hello from the stub" });
    expect(events.at(-2)!.data).toMatchObject({ success: true, error: null, usage: { numTurns: 3 } });
    expect(events.at(-1)!.data).toEqual({ status: "succeeded" });

    const { body: status } = await getJson<TaskStatusDocument>(`/tasks/${taskId}`);
    expect(status).toMatchObject({ status: "succeeded", eventCount: 10, error: null, usage: { numTurns: 3 } });
    expect(Date.parse(status.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(status.startedAt!));
    expect(status.durationMs).toBe(Date.parse(status.finishedAt!) - Date.parse(status.startedAt!));
  });

  it("runs each task in its own sandbox, destroyed at the end", async () => {
    const first = await submitted({ task: "one" });
    const second = await submitted({ task: "two" });
    await storedResult(first.taskId);
    await storedResult(second.taskId);
    expect(sandboxEvents.starts.map((start) => start.sandboxId).sort()).toEqual([sandboxIdOf(first.taskId), sandboxIdOf(second.taskId)].sort());
    await eventually(async () => (sandboxEvents.destroyed.length === 2 ? true : undefined));
    expect(sandboxEvents.destroyed.sort()).toEqual([sandboxIdOf(first.taskId), sandboxIdOf(second.taskId)].sort());
  });

  it("stores the result and the events in R2, then clears the task's object", async () => {
    const { taskId } = await submitted({ task: "store me" });
    const result = await storedResult(taskId);
    expect(await keysOf(taskId)).toEqual([eventsKey(taskId), resultKey(taskId)].sort());
    const object = await testEnv.RESULTS.get(resultKey(taskId));
    expect(object?.httpMetadata?.contentType).toBe("application/json");
    expect(JSON.parse(await object!.text())).toEqual(result);

    const archived = (await (await testEnv.RESULTS.get(eventsKey(taskId)))!.text()).trimEnd().split("\n");
    expectGapless(archived.map((line) => JSON.parse(line) as TaskEvent));

    await eventually(async () => ((await taskStorage(taskId)).keys.length === 0 ? true : undefined), 5_000, "the object to clear");
    expect(await taskStorage(taskId)).toEqual({ keys: [], rows: 0, alarm: null });
    // Finished and cleared, the task is still known: from the index and R2.
    const { status, body } = await getJson<TaskStatusDocument>(`/tasks/${taskId}`);
    expect(status).toBe(200);
    expect(body.status).toBe("succeeded");
    expect((await eventsOf(taskId)).length).toBe(archived.length);
  });

  it("tells the task index each status once: queued, running, then the end", async () => {
    const { taskId } = await submitted({ task: "index me" });
    await storedResult(taskId);
    await eventually(async () => ((await taskStorage(taskId)).keys.length === 0 ? true : undefined), 5_000, "the object to clear");
    expect(taskEvents.indexed.filter((document) => document.taskId === taskId).map((document) => document.status)).toEqual(["queued", "running", "succeeded"]);
  });

  it("passes the request's settings to Claude Code and keeps the credential out of the container", async () => {
    const { taskId } = await submitted({ task: "settings", timeout: 120_000, model: "sonnet", maxTurns: 7, permissionMode: "plan", maxBudgetUsd: 2.5 });
    await storedResult(taskId);
    const [start] = sandboxEvents.starts;
    expect(taskOf(start!)).toBe("settings");
    expect(start!.command).toContain("'--output-format' 'stream-json' '--verbose'");
    expect(start!.command).toContain("'--model' 'sonnet'");
    expect(start!.command).toContain("'--permission-mode' 'plan'");
    expect(start!.command).toContain("'--max-budget-usd' '2.5'");
    expect(start!.command).toContain("timeout --kill-after=10s 120s");
    expect(start!.env.CLAUDE_CODE_MAX_TURNS).toBe("7");
    expect(JSON.stringify(start)).not.toContain(OAUTH_TOKEN);
    expect(start!.env.CLAUDE_CODE_OAUTH_TOKEN).toBe("injected-by-claude-sandbox-proxy");
  });
});

describe("GET /tasks/:taskId and /result while a task runs", () => {
  it("shows running, and answers 409 task_not_finished for the result", async () => {
    const { taskId } = await submitted({ task: "slow\n@stub hang" });
    await statusBecomes(taskId, "running");
    const { status, body } = await getJson(`/tasks/${taskId}/result`);
    expect(status).toBe(409);
    expect(body).toEqual({ error: "Task has not finished yet", code: "task_not_finished", taskId, status: "running" });
    await cancel(taskId);
    await storedResult(taskId);
  });

  it("answers 404 task_not_found for an unknown task", async () => {
    const { status, body } = await getJson("/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566");
    expect(status).toBe(404);
    expect(body).toEqual({ error: "Task not found", code: "task_not_found" });
  });
});

describe("GET /tasks", () => {
  it("lists tasks newest first, in pages joined by a cursor", async () => {
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) ids.push((await submitted({ task: `list ${index}` })).taskId);
    for (const id of ids) await storedResult(id);
    const first = await getJson<TaskListDocument>("/tasks?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.tasks.map((task) => task.taskId)).toEqual([ids[2], ids[1]]);
    expect(first.body.cursor).toBe(ids[1]);
    const second = await getJson<TaskListDocument>(`/tasks?limit=2&cursor=${first.body.cursor}`);
    expect(second.body.tasks[0]!.taskId).toBe(ids[0]);
  });

  it("filters by status", async () => {
    // A task of another status, made here, so the filter has something to leave out.
    const done = await submitted({ task: "already done" });
    await storedResult(done.taskId);
    const running = await submitted({ task: "still going\n@stub hang" });
    await statusBecomes(running.taskId, "running");
    const listed = await getJson<TaskListDocument>("/tasks?status=running&limit=100");
    expect(listed.body.tasks.map((task) => task.taskId)).toContain(running.taskId);
    expect(listed.body.tasks.map((task) => task.taskId)).not.toContain(done.taskId);
    expect(listed.body.tasks.every((task) => task.status === "running")).toBe(true);
    const succeeded = await getJson<TaskListDocument>("/tasks?status=succeeded&limit=100");
    expect(succeeded.body.tasks.map((task) => task.taskId)).toContain(done.taskId);
    expect(succeeded.body.tasks.map((task) => task.taskId)).not.toContain(running.taskId);
    expect(succeeded.body.tasks.every((task) => task.status === "succeeded")).toBe(true);
    await cancel(running.taskId);
    await storedResult(running.taskId);
    const cancelled = await getJson<TaskListDocument>("/tasks?status=cancelled&limit=100");
    expect(cancelled.body.tasks.map((task) => task.taskId)).toContain(running.taskId);
    expect(cancelled.body.tasks.map((task) => task.taskId)).not.toContain(done.taskId);
    expect(cancelled.body.tasks.every((task) => task.status === "cancelled")).toBe(true);
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=ten", "limit"],
    ["status=done", "status"],
    ["cursor=../../x", "cursor"],
    ["sort=asc", "sort"],
  ])("refuses ?%s with 400 invalid_query naming %s", async (query, parameter) => {
    const { status, body } = await getJson<{ code: string; details: { parameter: string } }>(`/tasks?${query}`);
    expect(status).toBe(400);
    expect(body.code).toBe("invalid_query");
    expect(body.details.parameter).toBe(parameter);
  });
});
