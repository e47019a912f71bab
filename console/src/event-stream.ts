/**
 * Following a task's events live: `GET /tasks/:id/events` as Server-Sent
 * Events read through `fetch` (so the token goes in the Authorization header,
 * which `EventSource` cannot send) and parsed with eventsource-parser. When
 * the connection drops, it is opened again with `Last-Event-ID` set to the
 * last event taken; events at or below it are skipped and a gap reopens the
 * stream, so every event is delivered once, in order. It gives up only on an
 * answer that another try cannot change (400, 401, 404); a 401 is reported
 * to the API client, which sends the console back to its sign-in.
 */
import { createParser } from "eventsource-parser";
import type { TaskEvent } from "../../worker/src/contract.js";
import { type Api, ApiRequestError } from "./api.js";

/** The connection as the page shows it. */
export type StreamState = "connecting" | "live" | "reconnecting" | "ended";

/** How following ended. */
export type FollowOutcome = { kind: "ended" } | { kind: "stopped" } | { kind: "failed"; error: ApiRequestError };

export interface FollowOptions {
  /** Its headers and URLs; told of a 401. */
  api: Pick<Api, "headers" | "url" | "unauthorized">;
  taskId: string;
  /** Deliver the events after this `seq` (0: all). */
  after: number;
  /** New events, in order, each once; called once per chunk received. */
  onEvents: (events: TaskEvent[]) => void;
  onState: (state: StreamState) => void;
  /** Stops following (the view closed). */
  signal: AbortSignal;
  fetch?: typeof fetch;
  /** Pauses before each new try after a try that brought nothing new; the last one repeats. */
  retryDelaysMs?: readonly number[];
  /** A stream silent this long (the API sends a keep-alive every 15 s) counts as dropped. */
  idleTimeoutMs?: number;
}

const RETRY_DELAYS_MS = [250, 1_000, 2_000, 5_000] as const;
const IDLE_TIMEOUT_MS = 45_000;

/** A pause the signal cuts short. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** What one connection came to. */
type Connection = { kind: "ended" } | { kind: "dropped"; progressed: boolean } | { kind: "refused"; error: ApiRequestError };

export async function followTaskEvents(options: FollowOptions): Promise<FollowOutcome> {
  const fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  const delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
  const idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const url = options.api.url(`/tasks/${encodeURIComponent(options.taskId)}/events`);
  let last = options.after;

  const connect = async (): Promise<Connection> => {
    const connection = new AbortController();
    const stop = () => connection.abort();
    options.signal.addEventListener("abort", stop, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const watch = () => {
      clearTimeout(idle);
      idle = setTimeout(stop, idleTimeoutMs);
    };
    const startedAt = last;
    try {
      watch();
      let response: Response;
      try {
        response = await fetcher(url, {
          headers: { ...options.api.headers(), Accept: "text/event-stream", ...(last > 0 ? { "Last-Event-ID": String(last) } : {}) },
          credentials: "same-origin",
          cache: "no-store",
          signal: connection.signal,
        });
      } catch {
        return { kind: "dropped", progressed: false };
      }
      if (response.status !== 200 || response.body === null) {
        const body = (await response.json().catch(() => ({}))) as { code?: unknown; error?: unknown };
        const error = new ApiRequestError(
          response.status,
          typeof body.code === "string" ? body.code : `http_${response.status}`,
          typeof body.error === "string" ? body.error : `The event stream answered ${response.status}`,
        );
        if (response.status === 401) options.api.unauthorized();
        return response.status >= 500 || response.status === 429 || response.status === 200 ? { kind: "dropped", progressed: false } : { kind: "refused", error };
      }
      options.onState("live");
      let ended = false;
      let gap = false;
      let batch: TaskEvent[] = [];
      const parser = createParser({
        onEvent: (message) => {
          if (ended || gap) return;
          const event = JSON.parse(message.data) as TaskEvent;
          if (event.seq <= last) return;
          // Never expected from the API (seq has no gaps); reopening from the last event taken mends it.
          if (event.seq !== last + 1) {
            gap = true;
            return;
          }
          last = event.seq;
          batch.push(event);
          if (event.type === "end") ended = true;
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        while (!ended && !gap) {
          const { done, value } = await reader.read();
          if (done) break;
          watch();
          parser.feed(value);
          if (batch.length > 0) {
            options.onEvents(batch);
            batch = [];
          }
        }
      } catch {
        // Dropped, or stopped by the idle watch or the signal: the outcome below says which.
      } finally {
        connection.abort();
        await reader.cancel().catch(() => undefined);
      }
      if (batch.length > 0) options.onEvents(batch);
      return ended ? { kind: "ended" } : { kind: "dropped", progressed: last > startedAt };
    } finally {
      clearTimeout(idle);
      options.signal.removeEventListener("abort", stop);
    }
  };

  options.onState("connecting");
  let failedTries = 0;
  for (;;) {
    if (options.signal.aborted) return { kind: "stopped" };
    const outcome = await connect();
    if (options.signal.aborted) return { kind: "stopped" };
    if (outcome.kind === "ended") {
      options.onState("ended");
      return { kind: "ended" };
    }
    if (outcome.kind === "refused") return { kind: "failed", error: outcome.error };
    failedTries = outcome.progressed ? 0 : failedTries + 1;
    options.onState("reconnecting");
    if (failedTries > 0) await pause(delays[Math.min(failedTries, delays.length) - 1]!, options.signal);
  }
}
