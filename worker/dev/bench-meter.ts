/**
 * Counting wrappers for the benchmark's cost figures (`npm run bench`): they
 * wrap the real bindings and Durable Object storage that the real code uses,
 * and count each operation Cloudflare bills, as it happens:
 *
 * - a Durable Object request per RPC call or `fetch` on a stub, and per alarm;
 * - SQLite rows read and written, as each SQL cursor reports them
 *   (`rowsRead`, `rowsWritten`, the figures Cloudflare bills); the
 *   key-value API (stored in a SQLite table) as one row read per key got or
 *   listed and one row written per key put or deleted; `setAlarm` as one row
 *   written (as the pricing page says), `deleteAlarm` likewise and `getAlarm`
 *   as one row read (not priced there; counted so nothing is missed);
 * - R2 operations by name (class A: put, list, multipart; class B: get, head;
 *   delete is free) and the bytes each put stores;
 * - lines written with `console.log`, and their bytes (Workers Logs events).
 *
 * The counts live in module state, which the Worker and every Durable Object
 * of the local runtime share (one isolate); the bench reads and resets them
 * through the meter's route (bench-metered-entry.ts). Never deployed.
 */

import type { MeterReading } from "./bench-meter-reading.js";

type Method = (...args: unknown[]) => unknown;

const counts = {
  workerRequests: 0,
  doRequests: new Map<string, number>(),
  rowsRead: new Map<string, number>(),
  rowsWritten: new Map<string, number>(),
  storageCleared: new Map<string, number>(),
  r2: new Map<string, number>(),
  r2BytesWritten: 0,
  indexRows: new Map<string, number>(),
  logLines: 0,
  logBytes: 0,
};

/** SQL cursors read at reading time: rows are counted as the code consumes them. */
let cursors: { owner: string; cursor: SqlStorageCursor<Record<string, SqlStorageValue>> }[] = [];

function add(map: Map<string, number>, key: string, amount = 1): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

/** Counts a request to the Worker. */
export function countWorkerRequest(): void {
  counts.workerRequests += 1;
}

/** Counts an alarm invocation of a Durable Object (a billed request). */
export function countAlarm(binding: string): void {
  add(counts.doRequests, `${binding}.alarm`);
}

/** Counts every line written with `console.log` from now on. */
export function meterConsole(): void {
  const log = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    counts.logLines += 1;
    counts.logBytes += args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" ").length + 1;
    log(...args);
  };
}

/** The counts so far. */
export function readMeter(): MeterReading {
  const rowsRead = new Map(counts.rowsRead);
  const rowsWritten = new Map(counts.rowsWritten);
  for (const { owner, cursor } of cursors) {
    add(rowsRead, owner, cursor.rowsRead);
    add(rowsWritten, owner, cursor.rowsWritten);
  }
  return {
    workerRequests: counts.workerRequests,
    doRequests: Object.fromEntries(counts.doRequests),
    rowsRead: Object.fromEntries(rowsRead),
    rowsWritten: Object.fromEntries(rowsWritten),
    storageCleared: Object.fromEntries(counts.storageCleared),
    r2: Object.fromEntries(counts.r2),
    r2BytesWritten: counts.r2BytesWritten,
    indexBytes: [...counts.indexRows.values()].reduce((sum, bytes) => sum + bytes, 0),
    logLines: counts.logLines,
    logBytes: counts.logBytes,
  };
}

/** Starts counting from zero. */
export function resetMeter(): void {
  counts.workerRequests = 0;
  counts.r2BytesWritten = 0;
  counts.logLines = 0;
  counts.logBytes = 0;
  for (const map of [counts.doRequests, counts.rowsRead, counts.rowsWritten, counts.storageCleared, counts.r2, counts.indexRows]) map.clear();
  cursors = [];
}

/** A view of `target` whose methods named in `hooks` are replaced; every other member is the target's own, bound to it. */
function intercept<T extends object>(target: T, hooks: Record<string, (original: Method) => Method>): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== "function") return value;
      const original = (value as Method).bind(object);
      const hook = typeof property === "string" ? hooks[property] : undefined;
      return hook ? hook(original) : original;
    },
  });
}

/** A Durable Object stub whose every call is counted as a request to `binding`. */
function meteredStub<T extends object>(stub: T, binding: string): T {
  return new Proxy(stub, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        add(counts.doRequests, `${binding}.${property}`);
        if (binding === "TASK_INDEX" && property === "record") recordIndexRow(args[0]);
        // Reflect.apply: an RPC method's own `apply` would be a remote call of that name.
        return Reflect.apply(value as Method, object, args);
      };
    },
  });
}

/** Remembers the size of the index row a status document becomes (see TaskIndex.record). */
function recordIndexRow(document: unknown): void {
  if (typeof document !== "object" || document === null) return;
  const { taskId, status } = document as { taskId?: unknown; status?: unknown };
  if (typeof taskId !== "string" || typeof status !== "string") return;
  // id, status, created_at (an 8-byte integer) and the document; the status index repeats id and status.
  counts.indexRows.set(taskId, 2 * (taskId.length + status.length) + 8 + JSON.stringify(document).length);
}

/** Each wrapped binding once, so that caches keyed by a binding (the SDK keeps one per namespace) work as deployed. */
const wrappers = new WeakMap<object, object>();

/** A Durable Object namespace whose stubs count their calls. */
function meteredNamespace<T extends object>(namespace: T, binding: string): T {
  const known = wrappers.get(namespace);
  if (known) return known as T;
  const wrapStub = (original: Method): Method => (...args) => meteredStub(original(...args) as object, binding);
  const wrapped = intercept(namespace, { get: wrapStub, getByName: wrapStub });
  wrappers.set(namespace, wrapped);
  return wrapped;
}

const R2_METHODS = ["put", "get", "head", "list", "delete", "createMultipartUpload"] as const;

/** An R2 bucket whose operations are counted, with the bytes each put stores. */
function meteredBucket(bucket: R2Bucket): R2Bucket {
  const known = wrappers.get(bucket);
  if (known) return known as R2Bucket;
  const hooks: Record<string, (original: Method) => Method> = {};
  for (const method of R2_METHODS) {
    hooks[method] = (original) => (...args) => {
      add(counts.r2, method);
      const result = original(...args);
      if (method === "put") {
        return (result as Promise<R2Object | null>).then((object) => {
          counts.r2BytesWritten += object?.size ?? 0;
          return object;
        });
      }
      return result;
    };
  }
  const wrapped = intercept(bucket, hooks);
  wrappers.set(bucket, wrapped);
  return wrapped;
}

/** The bindings, with every Durable Object namespace and the R2 bucket counted. */
export function meteredEnv<T extends object>(env: T): T {
  const known = wrappers.get(env);
  if (known) return known as T;
  const bindings = env as Record<string, unknown>;
  const wrapped = { ...bindings };
  for (const [binding, value] of Object.entries(bindings)) {
    const isNamespace = typeof value === "object" && value !== null && typeof (value as { idFromName?: unknown }).idFromName === "function";
    if (isNamespace) wrapped[binding] = meteredNamespace(value, binding);
  }
  const bucket = bindings.RESULTS;
  if (typeof bucket === "object" && bucket !== null) wrapped.RESULTS = meteredBucket(bucket as R2Bucket);
  wrappers.set(env, wrapped);
  return wrapped as T;
}

/**
 * Makes the storage of a Durable Object's state count its operations under
 * `owner` (its class), before the object is constructed with it. The state
 * stays the runtime's own object (the base class accepts no other), with its
 * `storage` replaced by a counting view.
 */
export function meterState(state: DurableObjectState, owner: string): DurableObjectState {
  const storage = state.storage;
  const rows = (map: Map<string, number>) => (original: Method): Method => (...args) => {
    add(map, owner);
    return original(...args);
  };
  const sql = intercept(storage.sql, {
    exec: (original) => (...args) => {
      const cursor = original(...args) as SqlStorageCursor<Record<string, SqlStorageValue>>;
      cursors.push({ owner, cursor });
      return cursor;
    },
  });
  /** Rows a key-value call touches: one per key named, whether one, a list, or the entries of an object put at once. */
  const perKey = (map: Map<string, number>) => (original: Method): Method => (...args) => {
    const [keys] = args;
    add(map, owner, Array.isArray(keys) ? keys.length : typeof keys === "object" && keys !== null ? Object.keys(keys).length : 1);
    return original(...args);
  };
  const kv = intercept(storage.kv, {
    get: perKey(counts.rowsRead),
    put: perKey(counts.rowsWritten),
    delete: perKey(counts.rowsWritten),
    list: (original) => (...args) => {
      const entries = [...(original(...args) as Iterable<[string, unknown]>)];
      add(counts.rowsRead, owner, Math.max(1, entries.length));
      return entries;
    },
  });
  const meteredStorage = new Proxy(storage, {
    get(object, property) {
      if (property === "sql") return sql;
      if (property === "kv") return kv;
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== "function") return value;
      const original = (value as Method).bind(object);
      switch (property) {
        // The asynchronous key-value API, the same table as `kv`.
        case "get":
          return perKey(counts.rowsRead)(original);
        case "put":
        case "delete":
          return perKey(counts.rowsWritten)(original);
        case "list":
          return async (...args: unknown[]) => {
            const entries = (await original(...args)) as Map<string, unknown>;
            add(counts.rowsRead, owner, Math.max(1, entries.size));
            return entries;
          };
        case "setAlarm":
        case "deleteAlarm":
          return rows(counts.rowsWritten)(original);
        case "getAlarm":
          return rows(counts.rowsRead)(original);
        case "deleteAll":
          return rows(counts.storageCleared)(original);
        default:
          return original;
      }
    },
  });
  Object.defineProperty(state, "storage", { value: meteredStorage, configurable: true });
  return state;
}
