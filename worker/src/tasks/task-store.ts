/**
 * A task's state in its Durable Object's storage: the task record
 * (task-record.ts; one key of the object's key-value storage) and its events
 * (a SQLite table), behind the small store the Task object calls.
 *
 * The rule that keeps a cancel from ever being overwritten: **the store never
 * caches a record across an `await`**. Every `load` reads storage afresh, so
 * code that awaited anything (a container start, a repository step, a call to
 * another object) loads the record again before it decides or writes.
 * `reload(...statuses)` is that step: it answers null when the task left those
 * statuses meanwhile (a cancel, an end), and the caller then does nothing.
 * Storage calls here are synchronous (SQLite-backed objects), so no other
 * request runs between a load and the save that follows it without an await.
 */
import { LIMITS, type TaskStatus } from "../contract.js";
import type { EventDraft } from "../events/stream-json.js";
import { redactSecrets } from "../redaction.js";
import type { EventPages } from "../storage/results.js";
import { lastBytes } from "./output-tail.js";
import type { TaskRecord } from "./task-record.js";

/** Something that happens now and then, that callers wait for with a time limit (no polling). */
export class ChangeSignal {
  readonly #waiters = new Set<() => void>();

  /** Resolves at the next `notify`, or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  /** Wakes everyone waiting. */
  notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** A stored event as it is kept: its number and its JSON text. */
export interface StoredEvent {
  seq: number;
  json: string;
}

const RECORD_KEY = "record";

/** The task's record and events in its object's storage. */
export class TaskStore {
  readonly #storage: DurableObjectStorage;
  /** A new event was stored, or the storage was cleared: readers of events wait on it. */
  readonly eventAdded = new ChangeSignal();
  /** The result was stored in R2 (or R2 refused it), or the storage was cleared: `/execute` waits on it. */
  readonly resultSettled = new ChangeSignal();

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    storage.sql.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, json TEXT NOT NULL)");
  }

  /** The record as stored now; null when this object holds no task (never accepted, or finished and cleared). */
  load(): TaskRecord | null {
    return (this.#storage.kv.get<TaskRecord>(RECORD_KEY) as TaskRecord | undefined) ?? null;
  }

  /** The record as stored now, when its status is still one of `statuses`; null when the task moved on (a cancel, an end). */
  reload(...statuses: readonly TaskStatus[]): TaskRecord | null {
    const record = this.load();
    return record !== null && statuses.includes(record.status) ? record : null;
  }

  save(record: TaskRecord): void {
    this.#storage.kv.put(RECORD_KEY, record);
  }

  /**
   * Numbers, stamps, redacts and stores an event, counting it in `record`
   * (which the caller saves). Beyond `LIMITS.maxEvents`, only `result` and
   * `end` are kept, so a task always has its last two.
   */
  append(record: TaskRecord, draft: EventDraft, secrets: readonly string[]): void {
    if (record.eventCount >= LIMITS.maxEvents && draft.type !== "result" && draft.type !== "end") return;
    record.eventCount += 1;
    const event = { seq: record.eventCount, type: draft.type, at: new Date().toISOString(), data: draft.data };
    this.#storage.sql.exec("INSERT INTO events (seq, json) VALUES (?, ?)", event.seq, redactSecrets(JSON.stringify(event), secrets));
    this.eventAdded.notify();
  }

  /** The events after `after`, at most `limit`, in order. */
  readEvents(after: number, limit: number): StoredEvent[] {
    return this.#storage.sql.exec<{ seq: number; json: string }>("SELECT seq, json FROM events WHERE seq > ? ORDER BY seq LIMIT ?", after, limit).toArray();
  }

  /** Claude's texts so far (the `text` events), in order, at most `maxBytes` of them (the last ones). */
  texts(maxBytes: number): { text: string; truncated: boolean } {
    const rows = this.#storage.sql
      .exec<{ text: string | null }>("SELECT json_extract(json, '$.data.text') AS text FROM events WHERE json_extract(json, '$.type') = 'text' ORDER BY seq")
      .toArray();
    const joined = rows
      .map((row) => row.text ?? "")
      .filter((text) => text.length > 0)
      .join("\n\n");
    const kept = lastBytes(joined, maxBytes);
    return { text: kept, truncated: kept.length < joined.length };
  }

  /** The stored events as pages of JSON lines, with their total size, for R2. */
  eventPages(): EventPages {
    const sql = this.#storage.sql;
    const total = sql.exec<{ bytes: number | null }>("SELECT SUM(LENGTH(CAST(json AS BLOB)) + 1) AS bytes FROM events").one().bytes ?? 0;
    return {
      totalBytes: total,
      *pages() {
        let after = 0;
        for (;;) {
          const rows = sql.exec<{ seq: number; json: string }>("SELECT seq, json FROM events WHERE seq > ? ORDER BY seq LIMIT 200", after).toArray();
          if (rows.length === 0) return;
          yield rows.map((row) => row.json);
          after = rows.at(-1)!.seq;
        }
      },
    };
  }

  /** Deletes everything the object stores, its alarm included: the task now lives in R2 and the index. */
  async clear(): Promise<void> {
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    this.eventAdded.notify();
    this.resultSettled.notify();
  }
}
