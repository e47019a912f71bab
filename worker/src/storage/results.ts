/**
 * A finished task in R2: its result at `tasks/<taskId>/result.json` and its
 * events, one JSON object per line, at `tasks/<taskId>/events.jsonl`. Both are
 * written once, when the task ends, and kept until the bucket's lifecycle rule
 * deletes them. Events are streamed in and out line by line, never held whole.
 * Callers pass canonical task ids only (see `parseTaskId`), so no key is ever
 * built from unchecked input.
 */
import { eventsKey, resultKey, type TaskResult } from "../contract.js";
import { LineSplitter } from "../events/lines.js";

/** A stored result could not be read: R2 failed, or what it holds is not JSON. */
export class ResultReadError extends Error {
  constructor(readonly taskId: string) {
    super("The task's result could not be read");
    this.name = "ResultReadError";
  }
}

/** The part of an R2 bucket the store uses. */
export type ResultBucket = Pick<R2Bucket, "put" | "get" | "head">;

/** Writes a result (throws when R2 refuses; the caller keeps the result and retries). */
export async function storeResult(bucket: ResultBucket, result: TaskResult): Promise<void> {
  await bucket.put(resultKey(result.taskId), JSON.stringify(result), {
    httpMetadata: { contentType: "application/json" },
    customMetadata: { success: String(result.success), status: result.status },
  });
}

/** Reads a stored result, or null when there is none; throws a `ResultReadError` when R2 fails or it is not JSON. */
export async function loadResult(bucket: ResultBucket, taskId: string): Promise<unknown> {
  let text: string;
  try {
    const object = await bucket.get(resultKey(taskId));
    if (object === null) return null;
    text = await object.text();
  } catch {
    throw new ResultReadError(taskId);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ResultReadError(taskId);
  }
}

/** Events in pages, for writing without holding them all: each page is a list of JSON lines. */
export interface EventPages {
  /** Total UTF-8 bytes of every line plus its newline. */
  totalBytes: number;
  pages(): Iterable<string[]>;
}

/** Writes a task's events as JSON lines, streaming them page by page. */
export async function storeEvents(bucket: ResultBucket, taskId: string, events: EventPages): Promise<void> {
  const { readable, writable } = new FixedLengthStream(events.totalBytes);
  const encoder = new TextEncoder();
  const writing = (async () => {
    const writer = writable.getWriter();
    try {
      for (const page of events.pages()) await writer.write(encoder.encode(page.map((line) => `${line}\n`).join("")));
      await writer.close();
    } catch (error) {
      await writer.abort(error).catch(() => undefined);
      throw error;
    }
  })();
  const [put] = await Promise.allSettled([
    bucket.put(eventsKey(taskId), readable, { httpMetadata: { contentType: "application/x-ndjson" } }),
    writing,
  ]);
  if (put.status === "rejected") throw put.reason;
  await writing;
}

/** An archived event: its number, type and JSON text. */
export interface ArchivedEvent {
  seq: number;
  type: string;
  json: string;
}

/** Events are stored as `{"seq":N,"type":"…",…}`: both are read from the start of the text without parsing the rest. */
export const EVENT_HEAD = /^\{"seq":(\d+),"type":"(\w+)"/;

/** The archived events after `after`, in order, read line by line; null when the task has no archive. */
export async function archivedEvents(bucket: ResultBucket, taskId: string, after: number): Promise<AsyncIterable<ArchivedEvent> | null> {
  const object = await bucket.get(eventsKey(taskId));
  if (object === null) return null;
  const body = object.body;
  return {
    async *[Symbol.asyncIterator]() {
      const lines = new LineSplitter();
      const decoder = new TextDecoder();
      const reader = body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
          for (const line of [...lines.push(text), ...(done ? lines.end() : [])]) {
            const head = EVENT_HEAD.exec(line);
            if (!head) continue;
            const seq = Number(head[1]);
            if (seq > after) yield { seq, type: head[2]!, json: line };
          }
          if (done) return;
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
    },
  };
}
