/**
 * `GET /tasks/:taskId/events`: Server-Sent Events with replay from any
 * `Last-Event-ID`, live events and keep-alives, and JSON pages for polling,
 * from the task's object while it runs and from R2 after it is cleared.
 */
import { describe, expect, it } from "vitest";
import type { TaskEvent, TaskEventsPage, TaskStatusDocument } from "../../worker/src/contract.js";
import { taskEvents } from "./harness.js";
import {
  auth,
  call,
  cancel,
  captureLogs,
  eventually,
  expectGapless,
  freshState,
  getJson,
  statusBecomes,
  storedResult,
  stubEventTypes,
  submitted,
  taskStorage,
} from "./helpers.js";

freshState();
captureLogs();

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Reads an SSE response into messages until it closes or `until` says stop. */
async function readSse(response: Response, until: (messages: SseMessage[]) => boolean = () => false): Promise<SseMessage[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const messages: SseMessage[] = [];
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return messages;
      buffer += value;
      let boundary: number;
      while ((boundary = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const message: SseMessage = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) message.comment = line.slice(1).trim();
          else {
            const colon = line.indexOf(":");
            const field = line.slice(0, colon) as keyof SseMessage;
            message[field] = line.slice(colon + 1).replace(/^ /, "");
          }
        }
        messages.push(message);
        if (until(messages)) return messages;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function stream(taskId: string, headers: Record<string, string> = {}, query = ""): Promise<Response> {
  return call(`/tasks/${taskId}/events${query}`, { headers: { ...auth(), accept: "text/event-stream", ...headers } });
}

const eventsIn = (messages: SseMessage[]) => messages.filter((message) => message.data !== undefined).map((message) => JSON.parse(message.data!) as TaskEvent);

describe("SSE", () => {
  it("streams every event live, with id and event fields, and closes after end", async () => {
    const { taskId } = await submitted({ task: "follow me\n@stub delay=50" });
    const response = await stream(taskId);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const messages = await readSse(response);
    const events = eventsIn(messages);
    expect(events.map((event) => event.type)).toEqual(stubEventTypes());
    for (const message of messages.filter((candidate) => candidate.data !== undefined)) {
      const event = JSON.parse(message.data!) as TaskEvent;
      expect(message.id).toBe(String(event.seq));
      expect(message.event).toBe(event.type);
      expect(Object.keys(event)).toEqual(["seq", "type", "at", "data"]);
    }
    await storedResult(taskId);
  });

  it("replays everything after Last-Event-ID, for every position of a finished task", async () => {
    const { taskId } = await submitted({ task: "replay me" });
    await storedResult(taskId);
    const all = eventsIn(await readSse(await stream(taskId)));
    expect(all.length).toBe(10);
    for (let last = 0; last <= all.length; last++) {
      const replayed = eventsIn(await readSse(await stream(taskId, { "last-event-id": String(last) })));
      expect(replayed.map((event) => event.seq)).toEqual(all.slice(last).map((event) => event.seq));
    }
  });

  it("replays from Last-Event-ID while the task runs, then continues live", async () => {
    const { taskId } = await submitted({ task: "resume me\n@stub delay=150\n@stub events=4" });
    const firstPart = eventsIn(await readSse(await stream(taskId), (messages) => eventsIn(messages).length >= 4));
    const lastSeen = firstPart.at(-1)!.seq;
    const rest = eventsIn(await readSse(await stream(taskId, { "last-event-id": String(lastSeen) })));
    expect(rest[0]!.seq).toBe(lastSeen + 1);
    expectGapless([...firstPart, ...rest]);
    expect(rest.at(-1)!.type).toBe("end");
  });

  it("takes ?after= like Last-Event-ID", async () => {
    const { taskId } = await submitted({ task: "after" });
    await storedResult(taskId);
    const events = eventsIn(await readSse(await stream(taskId, {}, "?after=7")));
    expect(events.map((event) => event.seq)).toEqual([8, 9, 10]);
  });

  it("sends a keep-alive comment while nothing happens, at least every 15 s", async () => {
    const { taskId } = await submitted({ task: "quiet\n@stub hang\n@stub events=0" });
    await statusBecomes(taskId, "running");
    // The task prints its init and then nothing: follow it from after the init.
    const body = await eventually(async () => {
      const page = (await getJson<TaskEventsPage>(`/tasks/${taskId}/events`)).body;
      return page.events.some((event) => event.type === "init") ? page : undefined;
    });
    const started = Date.now();
    taskEvents.eventReads = 0;
    const messages = await readSse(await stream(taskId, { "last-event-id": String(body.next) }), (seen) => seen.filter((message) => message.comment === "keep-alive").length >= 2);
    const elapsed = Date.now() - started;
    expect(messages.every((message) => message.comment === "keep-alive")).toBe(true);
    expect(elapsed).toBeLessThan(15_000);
    // Idle, the stream reads the task's storage at most once per keep-alive (and once before the first).
    expect(taskEvents.eventReads).toBeLessThanOrEqual(messages.length + 1);
    await cancel(taskId);
    await storedResult(taskId);
  }, 30_000);

  it("closes at once a stream from or past the end of an ended task whose object still holds it, replaying what follows", async () => {
    // A webhook that cannot be delivered keeps the object's storage (its retry is pending).
    const { taskId } = await submitted({ task: "ended", callbackUrl: "http://127.0.0.1:9/hooks/closed" });
    const ended = await eventually(async () => {
      const { body } = await getJson<TaskStatusDocument>(`/tasks/${taskId}`);
      return body.callback?.attempts === 1 ? body : undefined;
    });
    expect((await taskStorage(taskId)).keys.length).toBeGreaterThan(0);
    const end = ended.eventCount;
    for (const [lastEventId, expected] of [
      [end - 1, [end]],
      [end, []],
      [end + 5, []],
    ] as const) {
      taskEvents.eventReads = 0;
      const started = Date.now();
      const messages = await readSse(await stream(taskId, { "last-event-id": String(lastEventId) }));
      expect(eventsIn(messages).map((event) => event.seq)).toEqual(expected);
      expect(messages.filter((message) => message.comment === "keep-alive")).toEqual([]);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(taskEvents.eventReads).toBeLessThanOrEqual(1);
    }
  });

  it("streams a finished task's events from R2 once its object is cleared", async () => {
    const { taskId } = await submitted({ task: "archived" });
    await storedResult(taskId);
    await eventually(async () => ((await taskStorage(taskId)).keys.length === 0 ? true : undefined));
    const events = eventsIn(await readSse(await stream(taskId, { "last-event-id": "8" })));
    expect(events.map((event) => event.type)).toEqual(["result", "end"]);
  });

  it("is a 404 task_not_found for an unknown task, not an empty stream", async () => {
    const response = await stream("3f1c1c3e-5a7b-4c8d-9e0f-112233445566");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Task not found", code: "task_not_found" });
  });

  it("refuses a Last-Event-ID that is not a number", async () => {
    const { taskId } = await submitted({ task: "bad id" });
    const response = await stream(taskId, { "last-event-id": "../1" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("invalid_query");
    await storedResult(taskId);
  });
});

describe("JSON pages", () => {
  it("pages with after and limit: next is the last seq returned, done once nothing follows (the page with end, or after it)", async () => {
    const { taskId } = await submitted({ task: "pages" });
    await storedResult(taskId);
    const first = await getJson<TaskEventsPage>(`/tasks/${taskId}/events?limit=4`);
    expect(first.headers.get("content-type")).toMatch(/^application\/json/);
    expect(first.body.events.map((event) => event.seq)).toEqual([1, 2, 3, 4]);
    expect(first.body).toMatchObject({ next: 4, done: false });
    const last = await getJson<TaskEventsPage>(`/tasks/${taskId}/events?after=${first.body.next}&limit=100`);
    expect(last.body.events.map((event) => event.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(last.body).toMatchObject({ next: 10, done: true });
    const exact = await getJson<TaskEventsPage>(`/tasks/${taskId}/events?after=6&limit=4`);
    expect(exact.body.events.map((event) => event.seq)).toEqual([7, 8, 9, 10]);
    expect(exact.body).toMatchObject({ next: 10, done: true });
    const empty = await getJson<TaskEventsPage>(`/tasks/${taskId}/events?after=10`);
    expect(empty.body).toEqual({ events: [], next: 10, done: true });
    const past = await getJson<TaskEventsPage>(`/tasks/${taskId}/events?after=15`);
    expect(past.body).toEqual({ events: [], next: 15, done: true });
  });

  it("serves a running task's page from its object", async () => {
    const { taskId } = await submitted({ task: "poll\n@stub hang" });
    await statusBecomes(taskId, "running");
    const page = await eventually(async () => {
      const { body } = await getJson<TaskEventsPage>(`/tasks/${taskId}/events`);
      return body.events.length >= 6 ? body : undefined;
    });
    expect(page.done).toBe(false);
    expect(page.events.map((event) => event.type).slice(0, 3)).toEqual(["status", "status", "init"]);
    await cancel(taskId);
    await storedResult(taskId);
  });

  it.each([["after=-1"], ["after=1.5"], ["limit=0"], ["limit=1001"]])("refuses ?%s with 400 invalid_query", async (query) => {
    const { status, body } = await getJson<{ code: string }>(`/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/events?${query}`);
    expect(status).toBe(400);
    expect(body.code).toBe("invalid_query");
  });

  it("is a 404 for an unknown task", async () => {
    const { status, body } = await getJson("/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/events");
    expect(status).toBe(404);
    expect(body).toEqual({ error: "Task not found", code: "task_not_found" });
  });
});
