/**
 * Cloudflare's published list prices for what a task uses outside its
 * container, in one place. They are the rates beyond the usage the Workers
 * Paid plan includes each month (10 M Worker requests, 1 M Durable Object
 * requests, 25 B rows read, 50 M rows written, 1 M R2 class A and 10 M
 * class B operations, 5 GB of SQLite and 10 GB of R2 storage, 50 GB of logs
 * ingested): what one more task costs once a deployment is past them.
 */

/** When the prices below were read from the pages below. */
export const PRICES_READ_ON = "2026-12-01";

/** A price in US dollars per unit, with the page it was read from. */
export interface Price {
  usd: number;
  unit: string;
  source: string;
}

const WORKERS = "https://developers.cloudflare.com/workers/platform/pricing/";
const DURABLE_OBJECTS = "https://developers.cloudflare.com/durable-objects/platform/pricing/";
const R2 = "https://developers.cloudflare.com/r2/pricing/";
const OBSERVABILITY = "https://developers.cloudflare.com/observability/pricing/";

export const PRICES = {
  /** $0.30 per million requests (Workers Standard). */
  workerRequest: { usd: 0.3 / 1e6, unit: "request", source: WORKERS },
  /** $0.15 per million: HTTP requests, RPC method calls (each its own session) and alarm invocations. */
  durableObjectRequest: { usd: 0.15 / 1e6, unit: "request", source: DURABLE_OBJECTS },
  /** $12.50 per million GB-s of wall time while an object is active, at 128 MB per object. */
  durableObjectGbSecond: { usd: 12.5 / 1e6, unit: "GB-s", source: DURABLE_OBJECTS },
  /** SQLite-backed storage: $0.001 per million rows read (key-value methods are rows too). */
  rowRead: { usd: 0.001 / 1e6, unit: "row", source: DURABLE_OBJECTS },
  /** $1.00 per million rows written; each `setAlarm` is one. */
  rowWritten: { usd: 1 / 1e6, unit: "row", source: DURABLE_OBJECTS },
  /** $0.20 per GB-month of SQLite storage. */
  sqliteGbMonth: { usd: 0.2, unit: "GB-month", source: DURABLE_OBJECTS },
  /** Class A (PutObject, ListObjects, multipart): $4.50 per million, Standard storage. */
  r2ClassA: { usd: 4.5 / 1e6, unit: "operation", source: R2 },
  /** Class B (GetObject, HeadObject): $0.36 per million. DeleteObject is free. */
  r2ClassB: { usd: 0.36 / 1e6, unit: "operation", source: R2 },
  /** $0.015 per GB-month, Standard storage. */
  r2GbMonth: { usd: 0.015, unit: "GB-month", source: R2 },
  /** Workers Logs (Cloudflare Observability from 2026-12-01): $0.25 per GB ingested, counted before compression. */
  logIngestGb: { usd: 0.25, unit: "GB", source: OBSERVABILITY },
  /** $0.10 per GB-month of queryable logs. */
  logGbMonth: { usd: 0.1, unit: "GB-month", source: OBSERVABILITY },
} as const satisfies Record<string, Price>;

/** Days Workers Logs keeps a log queryable (the default retention). */
export const LOG_RETENTION_DAYS = 7;

/** Memory a Durable Object is billed for while active, in GB (128 MB). */
export const DURABLE_OBJECT_GB = 128 / 1024;

/** R2 operations by class, as the Workers binding's methods map to them. */
export const R2_CLASS_A = ["put", "list", "createMultipartUpload"] as const;
export const R2_CLASS_B = ["get", "head"] as const;
