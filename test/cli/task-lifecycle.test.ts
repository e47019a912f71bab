/**
 * The asynchronous task commands (submit, status, events, wait, cancel, list)
 * against the run's shared `npm run dev:stub`, whose stand-in sandbox is shaped
 * by `@stub` lines in the task. Most cases call the command functions in this
 * process; a few run the built CLI for the stdout and exit-code contract, and
 * one runs it on a real terminal to show the live view. Stand-in event servers
 * show that a dropped or silent stream is resumed with Last-Event-ID.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskEvent, TaskListDocument, TaskResult, TaskStatusDocument } from "../../worker/src/contract.js";
import { cancelTask } from "../../cli/commands/cancel.js";
import { type EventSink, taskEvents } from "../../cli/commands/events.js";
import { listTasks } from "../../cli/commands/list.js";
import { taskStatus } from "../../cli/commands/status.js";
import { type SubmitOptions, submitTask } from "../../cli/commands/submit.js";
import { waitForTask } from "../../cli/commands/wait.js";
import { UsageError } from "../../cli/lib/result.js";
import { type SharedStub, sharedStub } from "../fixtures/dev-stub.js";
import { FAST, hasScript, noEnv, runCli, runCliRaw, runOnTerminal } from "./fixtures/run-cli.js";

let stub: SharedStub;
let target: [string, string];

beforeAll(async () => {
  stub = await sharedStub();
  target = [stub.url, stub.token];
});

const UNKNOWN_ID = "3f1c1c3e-5a7b-4c8d-9e0f-112233445566";

async function submit(task: string, settings: Omit<SubmitOptions, "args"> = {}): Promise<TaskStatusDocument> {
  const result = await submitTask({ args: [...target, task], ...settings });
  expect(result.ok, JSON.stringify(result.output)).toBe(true);
  return result.output as unknown as TaskStatusDocument;
}

/** A sink that keeps the events, with the local time each arrived. */
function collector() {
  const events: TaskEvent[] = [];
  const arrivals: number[] = [];
  const opened: (string | undefined)[][] = [];
  let closed = 0;
  const sink: EventSink = {
    open: (secrets) => void opened.push([...secrets]),
    event: (event) => {
      events.push(event);
      arrivals.push(Date.now());
    },
    close: () => void (closed += 1),
  };
  return { sink, events, arrivals, opened, closed: () => closed };
}

describe("submit", () => {
  it("accepts a task and gives its status document at once, before the task has run", async () => {
    // The stand-in takes 9 s to finish: a document that is not final shows submit did not wait for it.
    const document = await submit("quick\n@stub delay=3000", { timeoutMs: 60_000 });
    expect(document).toMatchObject({ status: expect.stringMatching(/^(queued|running)$/), timeoutMs: 60_000, finishedAt: null });
    expect(document.links).toEqual({
      self: `/tasks/${document.taskId}`,
      events: `/tasks/${document.taskId}/events`,
      result: `/tasks/${document.taskId}/result`,
      cancel: `/tasks/${document.taskId}/cancel`,
    });
  });

  it("sends every setting under the API's field names", async () => {
    const bodies: unknown[] = [];
    const recorder = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        bodies.push({ method: request.method, url: request.url, authorization: request.headers.authorization, body: JSON.parse(body) as unknown });
        response.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ taskId: "x", status: "queued" }));
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
      const settings = { timeoutMs: 120_000, model: "sonnet", maxTurns: 7, permissionMode: "plan", maxBudgetUsd: 1.5, callbackUrl: "https://hooks.example.com/done" };
      const result = await submitTask({ args: [url, "tok-abcdefgh", "the task"], ...settings });
      expect(result.ok).toBe(true);
      expect(bodies).toEqual([
        {
          method: "POST",
          url: "/tasks",
          authorization: "Bearer tok-abcdefgh",
          body: { task: "the task", timeout: 120_000, model: "sonnet", maxTurns: 7, permissionMode: "plan", maxBudgetUsd: 1.5, callbackUrl: "https://hooks.example.com/done" },
        },
      ]);
    } finally {
      await new Promise((resolve) => recorder.close(resolve));
    }
  });

  it("is accepted by the API with every setting", async () => {
    const document = await submit(`all settings\n${FAST}`, { timeoutMs: 30_000, model: "sonnet", maxTurns: 3, permissionMode: "plan", maxBudgetUsd: 2 });
    expect(document.timeoutMs).toBe(30_000);
  });

  it("reports a setting the API refuses (exit 1), with the API's code", async () => {
    const result = await submitTask({ args: [...target, "t"], permissionMode: "yolo" });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, code: "invalid_permission_mode", http_code: 400 });
  });

  it("refuses an empty task before sending it", async () => {
    await expect(submitTask({ args: [...target, "  "] })).rejects.toBeInstanceOf(UsageError);
  });
});

describe("status", () => {
  it("gives the status document of a task as it moves to its end", async () => {
    const { taskId } = await submit(`status me\n${FAST}`);
    const finished = await waitForTask({ args: [...target, taskId] });
    expect(finished.ok).toBe(true);
    const result = await taskStatus({ args: [...target, taskId] });
    expect(result.ok).toBe(true);
    expect(result.output).toMatchObject({ taskId, status: "succeeded", error: null, eventCount: 10 });
    expect(result.output.finishedAt).toEqual(expect.any(String));
  });

  it("says task_not_found for an unknown id, with a hint", async () => {
    const result = await taskStatus({ args: [...target, UNKNOWN_ID] });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ code: "task_not_found", http_code: 404 });
    expect(String(result.output.hint)).toContain("claude-sandbox list");
  });
});

describe("events", () => {
  it("follows a task live: every event once, in order, each as it happens, the end last", async () => {
    const { taskId } = await submit("follow me\n@stub delay=400\n@stub events=2");
    const { sink, events, arrivals, opened, closed } = collector();
    const result = await taskEvents({ args: [...target, taskId], follow: true, sink });
    expect(result).toEqual({ ok: true, failure: null, secrets: [stub.token] });
    expect(opened).toEqual([[stub.token]]);
    expect(closed()).toBe(1);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events.map((event) => event.type)).toEqual(["status", "status", "init", "text", "tool_use", "tool_result", "text", "result", "end"]);
    expect(events.at(-1)).toMatchObject({ type: "end", data: { status: "succeeded" } });
    // Live, not all at the end: the first text arrived well before the end.
    const firstText = events.findIndex((event) => event.type === "text");
    expect(arrivals.at(-1)! - arrivals[firstText]!).toBeGreaterThanOrEqual(300);
  });

  it("gives the events so far without --follow, and with --after only the later ones", async () => {
    const { taskId } = await submit(`page me\n${FAST}`);
    await waitForTask({ args: [...target, taskId] });
    const all = collector();
    expect((await taskEvents({ args: [...target, taskId], sink: all.sink })).ok).toBe(true);
    expect(all.events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const later = collector();
    await taskEvents({ args: [...target, taskId], after: 7, sink: later.sink });
    expect(later.events.map((event) => event.seq)).toEqual([8, 9, 10]);
    const live = collector();
    await taskEvents({ args: [...target, taskId], after: 8, follow: true, sink: live.sink });
    expect(live.events.map((event) => [event.seq, event.type])).toEqual([
      [9, "result"],
      [10, "end"],
    ]);
  });

  it("stops at the events so far of a running task without --follow (exit 0)", async () => {
    const { taskId } = await submit("@stub hang");
    try {
      const { sink, events } = collector();
      const result = await taskEvents({ args: [...target, taskId], sink });
      expect(result.ok).toBe(true);
      expect(events.length).toBeGreaterThanOrEqual(1);
      expect(events.some((event) => event.type === "end")).toBe(false);
    } finally {
      await cancelTask({ args: [...target, taskId] });
    }
  });

  it("fails (exit 1) when the events show the task did not succeed, and for an unknown task", async () => {
    const { taskId } = await submit(`${FAST}\n@stub exit=4`);
    const failed = collector();
    const result = await taskEvents({ args: [...target, taskId], follow: true, sink: failed.sink });
    expect(result).toMatchObject({ ok: false, failure: null });
    expect(failed.events.at(-1)).toMatchObject({ type: "end", data: { status: "failed" } });
    const unknown = await taskEvents({ args: [...target, UNKNOWN_ID], follow: true, sink: collector().sink });
    expect(unknown).toMatchObject({ ok: false, failure: { code: "task_not_found", http_code: 404 } });
  });
});

describe("wait", () => {
  it("waits for a running task and gives its result (ok only when it succeeded)", async () => {
    const { taskId } = await submit("wait for me\n@stub delay=200");
    const result = await waitForTask({ args: [...target, taskId] });
    expect(result.ok).toBe(true);
    expect(result.output).toMatchObject({ taskId, status: "succeeded", success: true });
    const failing = await submit(`${FAST}\n@stub exit=9`);
    const failed = await waitForTask({ args: [...target, failing.taskId] });
    expect(failed.ok).toBe(false);
    expect(failed.output).toMatchObject({ status: "failed", success: false, exitCode: 9 });
  });

  it("gives up after --timeout with wait_timeout, leaving the task running", async () => {
    const { taskId } = await submit("@stub hang");
    try {
      const started = Date.now();
      const result = await waitForTask({ args: [...target, taskId], timeoutMs: 1_500 });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(result.ok).toBe(false);
      expect(result.output).toMatchObject({ success: false, code: "wait_timeout", taskId, status: "running" });
      expect((await taskStatus({ args: [...target, taskId] })).output.status).toBe("running");
    } finally {
      await cancelTask({ args: [...target, taskId] });
    }
  });
});

describe("cancel", () => {
  it("stops a hanging task; a waiter sees it cancelled; a second cancel is a 409 with the status", async () => {
    const { taskId } = await submit("@stub hang");
    const waiting = waitForTask({ args: [...target, taskId] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const cancelled = await cancelTask({ args: [...target, taskId] });
    expect(cancelled.ok).toBe(true);
    expect(cancelled.output).toMatchObject({ taskId, status: "cancelled", error: { code: "task_cancelled" } });
    const waited = await waiting;
    expect(waited.ok).toBe(false);
    expect(waited.output).toMatchObject({ status: "cancelled", success: false, error: { code: "task_cancelled" } });
    const again = await cancelTask({ args: [...target, taskId] });
    expect(again.ok).toBe(false);
    expect(again.output).toMatchObject({ code: "task_finished", http_code: 409, taskId, status: "cancelled" });
    expect(String(again.output.hint)).toContain("claude-sandbox result");
  });
});

describe("list", () => {
  it("lists tasks newest first, by status, a page at a time", async () => {
    const older = await submit(`older\n${FAST}`);
    const newer = await submit(`newer\n${FAST}`);
    await waitForTask({ args: [...target, newer.taskId] });
    await waitForTask({ args: [...target, older.taskId] });
    const all = (await listTasks({ args: target, limit: 100 })).output as unknown as TaskListDocument;
    const ids = all.tasks.map((task) => task.taskId);
    expect(ids.indexOf(newer.taskId)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(newer.taskId)).toBeLessThan(ids.indexOf(older.taskId));

    const first = (await listTasks({ args: target, limit: 1 })).output as unknown as TaskListDocument;
    expect(first.tasks).toHaveLength(1);
    expect(first.cursor).toEqual(expect.any(String));
    const second = (await listTasks({ args: target, limit: 1, cursor: first.cursor! })).output as unknown as TaskListDocument;
    expect(second.tasks).toHaveLength(1);
    expect(second.tasks[0]!.taskId).not.toBe(first.tasks[0]!.taskId);

    const failing = await submit(`${FAST}\n@stub exit=5`);
    await waitForTask({ args: [...target, failing.taskId] });
    const failed = (await listTasks({ args: target, status: "failed", limit: 100 })).output as unknown as TaskListDocument;
    expect(failed.tasks.map((task) => task.taskId)).toContain(failing.taskId);
    expect(failed.tasks.every((task) => task.status === "failed")).toBe(true);
  });

  it("refuses a status that does not exist before asking the server", async () => {
    await expect(listTasks({ args: ["http://127.0.0.1:1", "tok-abcdefgh"], status: "done" })).rejects.toThrow(
      '--status must be one of queued, running, succeeded, failed, timed_out, cancelled, got "done"',
    );
  });
});

/** A stand-in event server: each request is answered by the next handler, and its Last-Event-ID kept. */
async function eventServer(handlers: ((response: ServerResponse) => void)[]): Promise<{ url: string; lastEventIds: (string | undefined)[]; close: () => Promise<void> }> {
  const lastEventIds: (string | undefined)[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    lastEventIds.push(request.headers["last-event-id"] as string | undefined);
    const handler = handlers.shift();
    if (!handler) return void response.writeHead(500).end();
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    handler(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lastEventIds,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function sse(seq: number, type: TaskEvent["type"], data: object): string {
  return `id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify({ seq, type, at: new Date(1_700_000_000_000 + seq * 1000).toISOString(), data })}\n\n`;
}

describe("events --follow when the stream drops", () => {
  const taskId = "01234567-89ab-7def-8123-456789abcdef";

  it("reconnects with Last-Event-ID after a dropped connection, losing and repeating nothing", async () => {
    const server = await eventServer([
      (response) => {
        response.write(sse(1, "status", { status: "queued" }) + sse(2, "status", { status: "running" }) + ": keep-alive\n\n");
        // Half an event, then the connection is cut.
        response.write("id: 3\nevent: text\ndata: {\"seq\":3,");
        setTimeout(() => response.socket?.destroy(), 50);
      },
      (response) => {
        // The server replays from Last-Event-ID; a repeat of 2 is ignored.
        response.end(sse(2, "status", { status: "running" }) + sse(3, "text", { text: "hi" }) + sse(4, "end", { status: "succeeded" }));
      },
    ]);
    try {
      const { sink, events } = collector();
      const result = await taskEvents({ args: [server.url, "tok-abcdefgh", taskId], follow: true, sink, reconnect: { retryDelaysMs: [10, 10] } });
      expect(result).toMatchObject({ ok: true, failure: null });
      expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4]);
      expect(server.lastEventIds).toEqual([undefined, "2"]);
    } finally {
      await server.close();
    }
  });

  it("treats a stream that sends nothing, not even keep-alives, as dropped", async () => {
    const server = await eventServer([
      (response) => response.write(sse(1, "status", { status: "running" })),
      (response) => response.end(sse(2, "end", { status: "cancelled" })),
    ]);
    try {
      const { sink, events } = collector();
      const result = await taskEvents({ args: [server.url, "tok-abcdefgh", taskId], follow: true, sink, reconnect: { retryDelaysMs: [10], idleTimeoutMs: 300 } });
      expect(result).toMatchObject({ ok: false, failure: null });
      expect(events.map((event) => [event.seq, event.type])).toEqual([
        [1, "status"],
        [2, "end"],
      ]);
      expect(server.lastEventIds).toEqual([undefined, "1"]);
    } finally {
      await server.close();
    }
  });

  it("gives up with a failure after its retries bring nothing", async () => {
    const server = await eventServer([(response) => response.end(), (response) => response.end(), (response) => response.end()]);
    try {
      const result = await taskEvents({ args: [server.url, "tok-abcdefgh", taskId], follow: true, sink: collector().sink, reconnect: { retryDelaysMs: [10, 10] } });
      expect(result.ok).toBe(false);
      expect(result.failure).toMatchObject({ success: false, error: `The event stream of task ${taskId} ended before the task did` });
      expect(server.lastEventIds).toHaveLength(3);
    } finally {
      await server.close();
    }
  });
});

describe("the built CLI", () => {
  it("submit → events --follow → wait: a status document, JSON lines, then the result (exit 0)", async () => {
    const submitted = await runCli(["submit", ...target, "--timeout", "60000", "--", `-dash first\n${FAST}`], { env: noEnv });
    expect(submitted.code).toBe(0);
    expect(submitted.json).toMatchObject({ status: expect.stringMatching(/^(queued|running)$/), timeoutMs: 60_000 });
    const taskId = String(submitted.json.taskId);

    const followed = await runCliRaw(["events", taskId, "--follow"], { env: { CLAUDE_SANDBOX_URL: stub.url, CLAUDE_SANDBOX_TOKEN: stub.token } });
    expect(followed.code).toBe(0);
    expect(followed.stderr).toBe("");
    const lines = followed.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as TaskEvent);
    expect(lines.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(lines.at(-1)).toMatchObject({ type: "end", data: { status: "succeeded" } });

    const waited = await runCli(["wait", ...target, taskId], { env: noEnv });
    expect(waited.code).toBe(0);
    expect((waited.json as unknown as TaskResult).result).toContain("-dash first");
  });

  it("wait exits 1 for a task that did not succeed; cancel exits 1 for a finished one; list prints JSON", async () => {
    const { taskId } = await submit(`${FAST}\n@stub exit=2`);
    const waited = await runCli(["wait", ...target, taskId], { env: noEnv });
    expect(waited.json).toMatchObject({ success: false, status: "failed" });
    expect(waited.code).toBe(1);
    const cancelled = await runCli(["cancel", ...target, taskId], { env: noEnv });
    expect(cancelled.json).toMatchObject({ code: "task_finished", status: "failed" });
    expect(cancelled.code).toBe(1);
    const listed = await runCli(["list", ...target, "--status", "failed", "--limit", "5"], { env: noEnv });
    expect(listed.code).toBe(0);
    expect((listed.json as unknown as TaskListDocument).tasks.map((task) => task.taskId)).toContain(taskId);
    for (const run of [waited, cancelled, listed]) expect(run.stdout).not.toContain(stub.token);
  });

  it("events prints a failure as one JSON line and exits 1", async () => {
    const run = await runCliRaw(["events", ...target, UNKNOWN_ID, "--follow"], { env: noEnv });
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ success: false, code: "task_not_found", http_code: 404 });
  });

  it.skipIf(!hasScript)("shows a live task on a terminal: each event, the tool in use and the elapsed time", async () => {
    const { taskId } = await submit("watch me\n@stub delay=1200\n@stub events=2");
    const run = runOnTerminal(["events", stub.url, stub.token, taskId, "--follow"]);
    const screen = run.stdout.replaceAll("\r\n", "\n");
    expect(run.status).toBe(0);
    expect(screen).toMatch(/ 0:00 {2}queued\n/);
    expect(screen).toContain("Claude Code started: model claude-stub-1, tools Bash, Edit, Read, Write");
    expect(screen).toMatch(/\d:\d\d {2}→ Bash: echo hello from the stub\n/);
    expect(screen).toMatch(/running · using Bash · \d+:\d\d elapsed/);
    // The status line ticks on while the task runs (the stand-in pauses 1.2 s before each text).
    expect(screen).toMatch(/running · (?!0:00)\d+:\d\d elapsed/);
    expect(screen).toMatch(/result: succeeded; 2 turns/);
    expect(screen).toMatch(/end: succeeded\n/);
    expect(screen).not.toContain('"seq"');
    expect(screen).not.toContain(stub.token);
  });
});
