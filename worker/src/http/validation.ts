/**
 * Validation of `POST /tasks` and `POST /execute` bodies, task ids and list
 * queries, as pure functions.
 * Order of checks: content type (415), size (413), JSON syntax, JSON shape,
 * then each field; the first failure decides the error code.
 */
import * as z from "zod/mini";
import { LIMITS, PERMISSION_MODES, type PermissionMode, TASK_STATUSES, type TaskStatus } from "../contract.js";
import { ApiError, type ApiErrorCode } from "./errors.js";

/** A validated task request, with the deployment's defaults applied. */
export interface TaskRequest {
  task: string;
  timeoutMs: number;
  permissionMode: PermissionMode;
  model?: string;
  maxTurns?: number;
  /** Passed to `claude --max-budget-usd`. */
  maxBudgetUsd?: number;
  /** Where the `task.finished` webhook goes. */
  callbackUrl?: string;
}

/** What a request may ask for, given the deployment's settings. */
export interface RequestDefaults {
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  permissionMode: PermissionMode;
  /** Largest `maxBudgetUsd`; null: no cap beyond `LIMITS.maxBudgetUsd`. */
  maxBudgetUsd: number | null;
  /** Whether `callbackUrl` may be plain http to localhost. */
  allowInsecureCallbacks: boolean;
}

/** Model names and aliases: `sonnet`, `opus`, `claude-sonnet-4-5-20250929`, `claude-opus-4-1[1m]`. */
export const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@\-[\]]{0,99}$/;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Whether `raw` may receive webhooks: an absolute `https://` URL without
 * credentials or fragment; plain `http://` only to a loopback host and only when
 * `allowInsecure` (local development).
 */
export function isAcceptableCallbackUrl(raw: string, allowInsecure: boolean): boolean {
  if (raw.length > LIMITS.maxCallbackUrlLength || /[\s\u0000-\u001f\u007f]/.test(raw)) return false;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username !== "" || url.password !== "" || url.hash !== "" || url.hostname === "") return false;
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && allowInsecure && LOOPBACK_HOSTS.has(url.hostname);
}

/** Returns the canonical (lower-case) task id, or throws `invalid_task_id`. */
export function parseTaskId(raw: string): string {
  if (!UUID_PATTERN.test(raw)) throw new ApiError("invalid_task_id");
  return raw.toLowerCase();
}

/** Accepts `application/json` and `application/<anything>+json`, with parameters. */
export function isJsonContentType(header: string | null): boolean {
  if (!header) return false;
  const mediaType = header.split(";")[0]!.trim().toLowerCase();
  return mediaType === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

/** Reads the body as text, refusing more than `LIMITS.maxBodyBytes` whatever Content-Length says. */
export async function readBodyText(request: Request): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > LIMITS.maxBodyBytes) throw new ApiError("body_too_large");
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > LIMITS.maxBodyBytes) {
      await reader.cancel();
      throw new ApiError("body_too_large");
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError("invalid_json");
  }
}

function executeBodySchema(defaults: RequestDefaults) {
  const maxTimeoutMs = defaults.maxTimeoutMs;
  const budgetCap = defaults.maxBudgetUsd ?? LIMITS.maxBudgetUsd;
  const bounded = (code: ApiErrorCode, min: number, max: number) =>
    z.int({ error: code }).check(z.gte(min, { error: code }), z.lte(max, { error: code }));
  return z.strictObject({
    task: z
      .string({ error: (issue) => (issue.input === undefined || issue.input === null ? "task_required" : "invalid_task") })
      .check(
        z.refine((task) => task.trim().length > 0, { error: "task_required", abort: true }),
        z.refine((task) => task.length <= LIMITS.maxTaskLength, { error: "task_too_long", abort: true }),
        z.refine((task) => !task.includes("\0") && task.isWellFormed(), { error: "invalid_task" }),
      ),
    timeout: z.optional(bounded("invalid_timeout", LIMITS.minTimeoutMs, maxTimeoutMs)),
    model: z.optional(z.string({ error: "invalid_model" }).check(z.regex(MODEL_PATTERN, { error: "invalid_model" }))),
    maxTurns: z.optional(bounded("invalid_max_turns", 1, LIMITS.maxTurns)),
    permissionMode: z.optional(z.enum(PERMISSION_MODES, { error: "invalid_permission_mode" })),
    maxBudgetUsd: z.optional(
      z.number({ error: "invalid_max_budget" }).check(z.gt(0, { error: "invalid_max_budget" }), z.lte(budgetCap, { error: "invalid_max_budget" })),
    ),
    callbackUrl: z.optional(
      z
        .string({ error: "invalid_callback_url" })
        .check(z.refine((url) => isAcceptableCallbackUrl(url, defaults.allowInsecureCallbacks), { error: "invalid_callback_url" })),
    ),
  });
}

const FIELD_ORDER = ["task", "timeout", "model", "maxTurns", "permissionMode", "maxBudgetUsd", "callbackUrl"];

/** The codes the schema's issues carry as their message (anything else is a shape problem). */
const FIELD_CODES = new Set<string>([
  "task_required",
  "invalid_task",
  "task_too_long",
  "invalid_timeout",
  "invalid_model",
  "invalid_max_turns",
  "invalid_permission_mode",
  "invalid_max_budget",
  "invalid_callback_url",
]);

/** Describes the accepted range of each field, for error `details`. */
function fieldDetails(code: ApiErrorCode, defaults: RequestDefaults): Record<string, unknown> | undefined {
  switch (code) {
    case "task_too_long":
      return { maxLength: LIMITS.maxTaskLength };
    case "invalid_timeout":
      return { min: LIMITS.minTimeoutMs, max: defaults.maxTimeoutMs };
    case "invalid_max_turns":
      return { min: 1, max: LIMITS.maxTurns };
    case "invalid_permission_mode":
      return { allowed: [...PERMISSION_MODES] };
    case "invalid_max_budget":
      return { max: defaults.maxBudgetUsd ?? LIMITS.maxBudgetUsd };
    case "invalid_callback_url":
      return { schemes: defaults.allowInsecureCallbacks ? ["https", "http (loopback only)"] : ["https"] };
    default:
      return undefined;
  }
}

/** Parses and validates a `POST /tasks` or `POST /execute` body (already read as text). */
export function parseTaskRequest(text: string, defaults: RequestDefaults): TaskRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError("invalid_json");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError("invalid_body");

  const parsed = executeBodySchema(defaults).safeParse(body);
  if (!parsed.success) {
    const unknown = parsed.error.issues.find((issue) => issue.code === "unrecognized_keys");
    if (unknown && unknown.code === "unrecognized_keys") {
      const fields = unknown.keys.slice(0, 10).map((key) => key.slice(0, 64));
      throw new ApiError("unknown_field", { details: { fields, allowed: FIELD_ORDER } });
    }
    const first = [...parsed.error.issues].sort(
      (a, b) => FIELD_ORDER.indexOf(String(a.path[0])) - FIELD_ORDER.indexOf(String(b.path[0])),
    )[0]!;
    const code = (FIELD_CODES.has(first.message) ? first.message : "invalid_body") as ApiErrorCode;
    const details = fieldDetails(code, defaults);
    throw new ApiError(code, details ? { details } : {});
  }
  const { task, timeout, model, maxTurns, permissionMode, maxBudgetUsd, callbackUrl } = parsed.data;
  return {
    task,
    timeoutMs: timeout ?? defaults.defaultTimeoutMs,
    permissionMode: permissionMode ?? defaults.permissionMode,
    ...(model === undefined ? {} : { model }),
    ...(maxTurns === undefined ? {} : { maxTurns }),
    ...(maxBudgetUsd === undefined ? {} : { maxBudgetUsd }),
    ...(callbackUrl === undefined ? {} : { callbackUrl }),
  };
}

/** A validated `GET /tasks` query. */
export interface ListQuery {
  limit: number;
  cursor: string | null;
  status: TaskStatus | null;
}

/** Parses `?limit=&cursor=&status=` of `GET /tasks`; unknown parameters are refused. */
export function parseListQuery(params: URLSearchParams): ListQuery {
  for (const name of params.keys()) {
    if (!["limit", "cursor", "status"].includes(name)) throw new ApiError("invalid_query", { details: { parameter: name.slice(0, 64) } });
  }
  const limit = params.get("limit");
  if (limit !== null && !(/^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= LIMITS.listPage.max)) {
    throw new ApiError("invalid_query", { details: { parameter: "limit", min: 1, max: LIMITS.listPage.max } });
  }
  const cursor = params.get("cursor");
  if (cursor !== null && !UUID_PATTERN.test(cursor)) throw new ApiError("invalid_query", { details: { parameter: "cursor" } });
  const status = params.get("status");
  if (status !== null && !(TASK_STATUSES as readonly string[]).includes(status)) {
    throw new ApiError("invalid_query", { details: { parameter: "status", allowed: [...TASK_STATUSES] } });
  }
  return {
    limit: limit === null ? LIMITS.listPage.default : Number(limit),
    cursor: cursor === null ? null : cursor.toLowerCase(),
    status: status as TaskStatus | null,
  };
}

/** Parses `?after=&limit=` (and `Last-Event-ID`, which wins) of `GET /tasks/:id/events`. */
export function parseEventsQuery(params: URLSearchParams, lastEventId: string | null): { after: number; limit: number } {
  const afterText = lastEventId ?? params.get("after");
  if (afterText !== null && !/^\d{1,9}$/.test(afterText.trim())) throw new ApiError("invalid_query", { details: { parameter: "after" } });
  const limit = params.get("limit");
  if (limit !== null && !(/^\d{1,4}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= LIMITS.eventsPage.max)) {
    throw new ApiError("invalid_query", { details: { parameter: "limit", min: 1, max: LIMITS.eventsPage.max } });
  }
  return {
    after: afterText === null ? 0 : Number(afterText.trim()),
    limit: limit === null ? LIMITS.eventsPage.default : Number(limit),
  };
}
