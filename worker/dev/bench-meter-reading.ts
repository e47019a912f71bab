/**
 * What the benchmark's metered Worker (bench-metered-entry.ts) counts, and
 * where it answers: shared by the Worker and `npm run bench` (plain
 * TypeScript, no runtime types, so Node code imports it too). Never deployed.
 */

/** The meter's path: `GET` reads the counts, `DELETE` resets them; outside the API's routes and never counted. */
export const METER_PATH = "/__bench/meter";

/** Everything counted since the last reset. */
export interface MeterReading {
  /** Requests to the Worker's fetch handler (the meter's own route excluded). */
  workerRequests: number;
  /** Durable Object requests, by `<binding>.<method>` (`TASKS.start`, `TASKS.alarm`). */
  doRequests: Record<string, number>;
  /** SQLite rows read, by Durable Object class. */
  rowsRead: Record<string, number>;
  /** SQLite rows written, by Durable Object class. */
  rowsWritten: Record<string, number>;
  /** Calls of `deleteAll`, by Durable Object class (a task's object clears itself when its result is stored). */
  storageCleared: Record<string, number>;
  /** R2 operations, by method (`put`, `get`, `head`, …). */
  r2: Record<string, number>;
  /** Bytes of every object put in R2. */
  r2BytesWritten: number;
  /** Bytes of the task index rows last recorded per task (id, status, time and document), kept for the retention. */
  indexBytes: number;
  /** Lines written with `console.log` (with observability on, each is a Workers Logs event). */
  logLines: number;
  /** Their bytes, as text. */
  logBytes: number;
}
