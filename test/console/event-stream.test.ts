/**
 * The console's live event stream against a local server that plays the
 * API's SSE and misbehaves as networks do: a connection cut mid-event, a
 * replay of events already delivered, a gap, a 503, and answers another try
 * cannot change (401, 404). Every event must arrive once, in order.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { TaskEvent } from "../../worker/src/contract.js";
import { createApi } from "../../console/src/api.js";
import { followTaskEvents, type StreamState } from "../../console/src/event-stream.js";

const TASK_ID = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
const TOKEN = "console-stream-token";

function event(seq: number, last = false): TaskEvent {
  const at = "2026-08-15T10:00:00.000Z";
  return last ? { seq, type: "end", at, data: { status: "succeeded" } } : { seq, type: "text", at, data: { text: `text ${seq}` } };
}

function sse(value: TaskEvent): string {
  return `id: ${value.seq}\nevent: ${value.type}\ndata: ${JSON.stringify(value)}\n\n`;
}

interface Seen {
  url: string;
  authorization: string | undefined;
  accept: string | undefined;
  lastEventId: string | undefined;
}

/** A server whose n-th connection (from 0) is answered by `connections[n]`. */
async function server(connections: ((response: ServerResponse, request: IncomingMessage) => void)[]) {
  const seen: Seen[] = [];
  const http = createServer((request, response) => {
    seen.push({ url: request.url!, authorization: request.headers.authorization, accept: request.headers.accept, lastEventId: request.headers["last-event-id"] as string | undefined });
    const answer = connections[seen.length - 1];
    if (answer) answer(response, request);
    else response.writeHead(500).end();
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const close = () => new Promise<void>((resolve) => http.close(() => resolve()));
  closers.push(close);
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, seen };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const streamHead = (response: ServerResponse) => response.writeHead(200, { "content-type": "text/event-stream" });

async function follow(url: string, after = 0) {
  const delivered: number[] = [];
  const states: StreamState[] = [];
  let unauthorized = 0;
  const controller = new AbortController();
  const api = createApi({ token: TOKEN, baseUrl: url, onUnauthorized: () => (unauthorized += 1) });
  const outcome = await followTaskEvents({
    api,
    taskId: TASK_ID,
    after,
    signal: controller.signal,
    retryDelaysMs: [10],
    onState: (state) => states.push(state),
    onEvents: (events) => delivered.push(...events.map((value) => value.seq)),
  });
  return { outcome, delivered, states, unauthorized: () => unauthorized };
}

describe("followTaskEvents", () => {
  it("asks for the stream with the token in the header, and ends at the end event", async () => {
    const api = await server([(response) => (streamHead(response), response.end(sse(event(1)) + ": keep-alive\n\n" + sse(event(2, true))))]);
    const run = await follow(api.url);
    expect(run.outcome).toEqual({ kind: "ended" });
    expect(run.delivered).toEqual([1, 2]);
    expect(api.seen).toEqual([{ url: `/tasks/${TASK_ID}/events`, authorization: `Bearer ${TOKEN}`, accept: "text/event-stream", lastEventId: undefined }]);
    expect(run.states).toEqual(["connecting", "live", "ended"]);
  });

  it("resumes a connection cut in the middle of an event from the last whole one, skipping what is replayed", async () => {
    const api = await server([
      (response) => {
        streamHead(response);
        const fourth = sse(event(4));
        response.write(sse(event(1)) + sse(event(2)) + sse(event(3)) + fourth.slice(0, fourth.length / 2));
        setTimeout(() => response.socket?.destroy(), 20);
      },
      // The API replays after Last-Event-ID; this one also repeats an event the client has.
      (response) => (streamHead(response), response.end(sse(event(3)) + sse(event(4)) + sse(event(5, true)))),
    ]);
    const run = await follow(api.url);
    expect(run.outcome).toEqual({ kind: "ended" });
    expect(run.delivered).toEqual([1, 2, 3, 4, 5]);
    expect(api.seen.map((request) => request.lastEventId)).toEqual([undefined, "3"]);
    expect(run.states).toEqual(["connecting", "live", "reconnecting", "live", "ended"]);
  });

  it("reopens the stream at a gap instead of delivering out of order", async () => {
    const api = await server([
      (response) => (streamHead(response), response.end(sse(event(1)) + sse(event(3)))),
      (response) => (streamHead(response), response.end(sse(event(2)) + sse(event(3)) + sse(event(4, true)))),
    ]);
    const run = await follow(api.url);
    expect(run.delivered).toEqual([1, 2, 3, 4]);
    expect(api.seen.map((request) => request.lastEventId)).toEqual([undefined, "1"]);
  });

  it("starts after a given event, and tries again after a 503", async () => {
    const api = await server([
      (response) => response.writeHead(503, { "content-type": "application/json" }).end('{"error":"busy","code":"task_store_failed"}'),
      (response) => (streamHead(response), response.end(sse(event(8)) + sse(event(9, true)))),
    ]);
    const run = await follow(api.url, 7);
    expect(run.delivered).toEqual([8, 9]);
    expect(api.seen.map((request) => request.lastEventId)).toEqual(["7", "7"]);
  });

  it("stops at a 401, telling the console, and tries no more", async () => {
    const api = await server([(response) => response.writeHead(401, { "content-type": "application/json" }).end('{"error":"Unauthorized","code":"unauthorized"}')]);
    const run = await follow(api.url);
    expect(run.outcome).toMatchObject({ kind: "failed", error: { status: 401, code: "unauthorized" } });
    expect(run.unauthorized()).toBe(1);
    expect(api.seen).toHaveLength(1);
  });

  it("stops at a 404 with the API's code", async () => {
    const api = await server([(response) => response.writeHead(404, { "content-type": "application/json" }).end('{"error":"Task not found","code":"task_not_found"}')]);
    const run = await follow(api.url);
    expect(run.outcome).toMatchObject({ kind: "failed", error: { status: 404, code: "task_not_found", message: "Task not found" } });
    expect(api.seen).toHaveLength(1);
  });

  it("stops when the view closes, mid-stream", async () => {
    const api = await server([(response) => (streamHead(response), response.write(sse(event(1))))]);
    const controller = new AbortController();
    const delivered: number[] = [];
    const outcome = await followTaskEvents({
      api: createApi({ token: TOKEN, baseUrl: api.url, onUnauthorized: () => undefined }),
      taskId: TASK_ID,
      after: 0,
      signal: controller.signal,
      onState: () => undefined,
      onEvents: (events) => {
        delivered.push(...events.map((value) => value.seq));
        controller.abort();
      },
    });
    expect(outcome).toEqual({ kind: "stopped" });
    expect(delivered).toEqual([1]);
  });
});
