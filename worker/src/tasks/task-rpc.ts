/**
 * What the Worker's routes get back from a task's object (task-object.ts)
 * when they call its methods: plain data, so the routes never depend on the
 * object's class.
 */
import type { TaskResult, TaskStatus, TaskStatusDocument } from "../contract.js";

/** `awaitResult`: the task's result once it is stored, or why not yet. */
export type ResultWait =
  | { state: "pending"; status: TaskStatus }
  /** Stored in R2; `result` is null when the object no longer holds it (read R2). */
  | { state: "stored"; result: TaskResult | null }
  /** The task ended but R2 refused the result: it is retried; here it is meanwhile. */
  | { state: "store_failed"; result: TaskResult };

/** A page of events as stored: each event is its JSON text, passed through to clients unparsed. */
export interface StoredEventsPage {
  /** The events' JSON, in `seq` order. */
  events: string[];
  /** The last `seq` returned (`after` when none). */
  next: number;
  /** Whether nothing follows this page: the task ended, and the page reaches its `end` event (or `after` is at or past it). */
  done: boolean;
}

/** `start`: the task's first status document, or why it was not accepted. */
export type StartOutcome = TaskStatusDocument | { refused: "branch_queue_full" };

/** `cancel`: whether the task was cancelled now or had already ended. */
export type CancelOutcome = { outcome: "cancelled" | "finished"; document: TaskStatusDocument };
