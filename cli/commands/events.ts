/**
 * `events [url] [token] <taskId> [--follow] [--after seq]`: a task's events,
 * handed one by one to the sink the entry point gives (JSON lines, or the live
 * view on a terminal). Without --follow: the events so far; with it: live until
 * the task's `end` event, reconnecting where the stream stopped if it drops.
 * Exit 1 when the events show that the task ended without success, or when
 * they could not be read.
 */
import type { TaskEvent } from "../../worker/src/contract.js";
import { type FollowEventsOptions, followEvents, readEventPages } from "../lib/event-stream.js";
import type { StreamedResult } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";

/** Where the events go. */
export interface EventSink {
  /** Called once before the first event, with the values the output must never show. */
  open(secrets: readonly (string | undefined)[]): void;
  event(event: TaskEvent): void;
  /** Called once after the last event. */
  close(): void;
}

/** The flags of `events`, as the command line gives them. */
export interface EventsFlags {
  follow?: boolean;
  after?: number;
  /** JSON lines even on a terminal. */
  json?: boolean;
}

export interface EventsOptions {
  args: string[];
  follow?: boolean;
  /** Only the events after this `seq`. */
  after?: number;
  sink: EventSink;
  /** How a dropped stream is retried (tests shorten it). */
  reconnect?: Pick<FollowEventsOptions, "retryDelaysMs" | "idleTimeoutMs">;
}

export async function taskEvents(options: EventsOptions): Promise<StreamedResult> {
  const target = resolveTarget(options.args, { positionals: { command: "events", rest: ["taskId"] }, tokenRequired: true });
  const secrets = [target.token];
  const reading = { target, taskId: target.rest[0]!, after: options.after ?? 0, onEvent: (event: TaskEvent) => options.sink.event(event) };
  options.sink.open(secrets);
  let outcome;
  try {
    outcome = options.follow ? await followEvents({ ...reading, ...options.reconnect }) : await readEventPages(reading);
  } finally {
    options.sink.close();
  }
  if (outcome.kind === "failed") return { ok: false, failure: outcome.failure, secrets };
  return { ok: outcome.kind !== "ended" || outcome.status === "succeeded", failure: null, secrets };
}
