/**
 * Reading a task's events: the JSON pages (what happened so far) and the live
 * SSE stream, parsed with eventsource-parser. A stream that drops or goes
 * silent is reopened with `Last-Event-ID`, so no event is lost or repeated.
 */
import { createParser } from "eventsource-parser";
import type { TaskEvent, TaskEventsPage, TerminalStatus } from "../../worker/src/contract.js";
import { callApi, taskPath } from "./api.js";
import { describeNetworkError, httpFailure, parseBody, UnreachableError, unreachable } from "./http.js";
import { failure, type JsonObject } from "./result.js";
import type { Target } from "./target.js";

/** How a reading of events ended. */
export type EventsOutcome =
  /** The task's `end` event arrived. */
  | { kind: "ended"; status: TerminalStatus; last: number }
  /** Every event so far was read; the task has not ended (pages only). */
  | { kind: "caught_up"; last: number }
  /** The caller's signal stopped the reading. */
  | { kind: "stopped"; last: number }
  | { kind: "failed"; failure: JsonObject; last: number };

export interface ReadEventsOptions {
  target: Pick<Target, "url" | "token">;
  taskId: string;
  /** Read the events after this `seq` (0: all). */
  after: number;
  onEvent: (event: TaskEvent) => void;
}

/** Largest JSON page the API gives. */
const PAGE_LIMIT = 1000;

/** Reads the events so far, page by page. */
export async function readEventPages(options: ReadEventsOptions): Promise<EventsOutcome> {
  let last = options.after;
  for (;;) {
    const answer = await callApi<TaskEventsPage>(options.target, `${taskPath(options.taskId, "/events")}?after=${last}&limit=${PAGE_LIMIT}`, { expect: [200] });
    if (!answer.ok) return { kind: "failed", failure: answer.failure, last };
    for (const event of answer.body.events) {
      if (event.seq <= last) continue;
      last = event.seq;
      options.onEvent(event);
      if (event.type === "end") return { kind: "ended", status: event.data.status, last };
    }
    if (answer.body.done || answer.body.events.length === 0) return { kind: "caught_up", last };
  }
}

export interface FollowEventsOptions extends ReadEventsOptions {
  /** Stops the reading (a deadline, a signal). */
  signal?: AbortSignal;
  /** Pauses before each new try after a try that brought no event; one try per entry. */
  retryDelaysMs?: readonly number[];
  /** A stream that sends nothing, not even its keep-alive comment, for this long counts as dropped. */
  idleTimeoutMs?: number;
}

/** Five tries over about 15 s, then the failure is reported. */
const RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000] as const;
/** Three times the API's keep-alive interval (15 s). */
const IDLE_TIMEOUT_MS = 45_000;

/** A pause that the signal cuts short. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

type Attempt = { kind: "ended"; status: TerminalStatus } | { kind: "dropped"; failure: JsonObject } | { kind: "refused"; failure: JsonObject };

/** Follows the live stream until the task's `end` event, reopening it where it stopped when it drops. */
export async function followEvents(options: FollowEventsOptions): Promise<EventsOutcome> {
  const delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
  const idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const url = `${options.target.url}${taskPath(options.taskId, "/events")}`;
  let last = options.after;
  let failedTries = 0;

  const attempt = async (): Promise<Attempt> => {
    const connection = new AbortController();
    const stop = () => connection.abort();
    options.signal?.addEventListener("abort", stop, { once: true });
    let idle: NodeJS.Timeout | undefined;
    const watch = () => {
      clearTimeout(idle);
      idle = setTimeout(stop, idleTimeoutMs);
    };
    let ended: TerminalStatus | null = null;
    try {
      watch();
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (options.target.token !== undefined) headers.authorization = `Bearer ${options.target.token}`;
      if (last > 0) headers["last-event-id"] = String(last);
      let response: Response;
      try {
        response = await fetch(url, { headers, signal: connection.signal });
      } catch (error) {
        const origin = new URL(url).origin;
        const detail = connection.signal.aborted ? `no answer within ${Math.round(idleTimeoutMs / 1000)} s` : describeNetworkError(error);
        return {
          kind: "dropped",
          failure: unreachable(
            new UnreachableError(
              connection.signal.aborted ? "server_timeout" : "server_unreachable",
              `Could not reach ${origin}: ${detail}`,
              "Check the URL and that the server is running; the task goes on without you: follow it again later.",
            ),
          ),
        };
      }
      if (response.status !== 200) {
        const answer = httpFailure(response.status, parseBody(new Uint8Array(await response.arrayBuffer())), { headers: response.headers });
        // The caller's mistakes end the reading; the server's trouble is worth another try.
        return response.status >= 500 || response.status === 429 ? { kind: "dropped", failure: answer } : { kind: "refused", failure: answer };
      }
      if (!response.body || !(response.headers.get("content-type") ?? "").includes("text/event-stream")) {
        const error = `${url} did not answer with an event stream`;
        return { kind: "refused", failure: failure({ code: "unexpected_response", error, hint: "Check the URL is the deployment's base URL.", httpCode: 200 }) };
      }
      const parser = createParser({
        onEvent: (message) => {
          const event = JSON.parse(message.data) as TaskEvent;
          if (event.seq <= last) return;
          last = event.seq;
          failedTries = 0;
          options.onEvent(event);
          if (event.type === "end") ended = event.data.status;
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        while (ended === null) {
          const { done, value } = await reader.read();
          if (done) break;
          watch();
          parser.feed(value);
        }
      } catch {
        // Dropped, or stopped by the idle watch or the caller: handled below.
      } finally {
        connection.abort();
        await reader.cancel().catch(() => undefined);
      }
      if (ended !== null) return { kind: "ended", status: ended };
      return {
        kind: "dropped",
        failure: failure({
          code: "stream_ended",
          error: `The event stream of task ${options.taskId} ended before the task did`,
          hint: "The task goes on without you: follow it again later.",
          httpCode: null,
        }),
      };
    } finally {
      clearTimeout(idle);
      options.signal?.removeEventListener("abort", stop);
    }
  };

  for (;;) {
    if (options.signal?.aborted) return { kind: "stopped", last };
    const outcome = await attempt();
    if (outcome.kind === "ended") return { kind: "ended", status: outcome.status, last };
    if (options.signal?.aborted) return { kind: "stopped", last };
    if (outcome.kind === "refused") return { kind: "failed", failure: outcome.failure, last };
    const delay = delays[failedTries];
    if (delay === undefined) return { kind: "failed", failure: outcome.failure, last };
    failedTries += 1;
    await pause(delay, options.signal);
  }
}
