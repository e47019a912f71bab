/**
 * Event streaming: how fast events go from the stand-in sandbox through the
 * Task object to a client of `GET /tasks/:id/events` (Server-Sent Events), and
 * how late each arrives after it was stored (its `at`, which the Task object
 * stamps when it stores the event).
 */
import { createParser } from "eventsource-parser";
import type { DevServer } from "./dev-server.js";
import { type Figure, ms, num } from "./figures.js";
import { quantile } from "./load.js";
import { BENCH_TOKEN } from "./workers.js";

/** One event as the client received it. */
export interface ArrivedEvent {
  seq: number;
  type: string;
  /** When the Task object stored it (epoch ms). */
  storedAt: number;
  /** When its bytes reached the client (epoch ms, sub-millisecond). */
  arrivedAt: number;
}

export interface FollowedTask {
  taskId: string;
  /** When the stream's headers arrived (epoch ms). */
  connectedAt: number;
  events: ArrivedEvent[];
}

const HEADERS = { Authorization: `Bearer ${BENCH_TOKEN}` };

/** The wall clock with sub-millisecond precision. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Submits `task` and returns its id. */
export async function submitTask(server: DevServer, task: string, path = "/tasks"): Promise<string> {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { ...HEADERS, "Content-Type": "application/json" },
    body: JSON.stringify({ task }),
  });
  const body = (await response.json()) as { taskId?: string };
  if (response.status !== 202 || typeof body.taskId !== "string") throw new Error(`POST ${path} answered ${response.status}`);
  return body.taskId;
}

/** Follows a task's event stream from `after` until its `end` event. */
export async function followEvents(server: DevServer, taskId: string, after = 0): Promise<FollowedTask> {
  const response = await fetch(`${server.url}/tasks/${taskId}/events?after=${after}`, {
    headers: { ...HEADERS, Accept: "text/event-stream" },
    signal: AbortSignal.timeout(120_000),
  });
  const connectedAt = now();
  if (response.status !== 200 || !response.body) throw new Error(`GET /tasks/${taskId}/events answered ${response.status}`);
  const events: ArrivedEvent[] = [];
  let arrivedAt = connectedAt;
  let ended = false;
  const parser = createParser({
    onEvent: (message) => {
      const event = JSON.parse(message.data) as { seq: number; type: string; at: string };
      events.push({ seq: event.seq, type: event.type, storedAt: Date.parse(event.at), arrivedAt });
      if (event.type === "end") ended = true;
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    arrivedAt = now();
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (ended) break;
  }
  if (!ended) throw new Error(`the event stream of task ${taskId} closed before its end event`);
  return { taskId, connectedAt, events };
}

/** Events printed at once for the throughput figure, and events paced for the latency figure. */
const BURST_EVENTS = 1000;
const PACED_EVENTS = 200;
const PACE_MS = 10;

/** Measures events per second (a burst) and added latency (events paced 10 ms apart). */
export async function measureStreaming(server: DevServer): Promise<Figure[]> {
  // Throughput: everything from the task's first event (its acceptance) to the arrival of its `end`.
  const burstId = await submitTask(server, `@stub events=${BURST_EVENTS}\n@stub delay=0`);
  const burst = await followEvents(server, burstId);
  const first = burst.events[0]!;
  const last = burst.events.at(-1)!;
  const perSecond = burst.events.length / ((last.arrivedAt - first.storedAt) / 1000);

  // Latency: only events stored after the client connected (earlier ones are a replay).
  const pacedId = await submitTask(server, `@stub events=${PACED_EVENTS}\n@stub delay=${PACE_MS}`);
  const paced = await followEvents(server, pacedId);
  const live = paced.events.filter((event) => event.storedAt >= Math.ceil(paced.connectedAt));
  const latencies = live.map((event) => event.arrivedAt - event.storedAt).sort((a, b) => a - b);
  return [
    {
      figure: `SSE delivery: ${BURST_EVENTS} assistant texts printed at once`,
      measured: `${num(perSecond)} events/s (${burst.events.length} events)`,
      reference: "",
      ratio: "",
    },
    {
      figure: `SSE added latency: a text every ${PACE_MS} ms, event stored → client`,
      measured: `p50 ${ms(quantile(latencies, 0.5))} · p99 ${ms(quantile(latencies, 0.99))} (${latencies.length} live events)`,
      reference: "",
      ratio: "",
    },
  ];
}
