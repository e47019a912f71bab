/**
 * Validation of `POST /tasks` and `POST /execute` bodies, task ids and list
 * queries, as pure functions.
 * Order of checks: content type (415), size (413), JSON syntax, JSON shape,
 * then each field; the first failure decides the error code.
 */
import { isUuid, LIMITS, MODEL_PATTERN, PERMISSION_MODES, type PermissionMode, TASK_STATUSES, type TaskStatus } from "../contract.js";
import { parseRepositoryRequest, REPOSITORY_FIELDS, type RepositoryRequest, RepositoryRequestError } from "../repositories/request.js";
import { readRequestAtMost } from "../streams.js";
import type { TaskRequest } from "../tasks/submission.js";
import { callbackUrlProblem } from "./callback-url.js";
import { ApiError, type ApiErrorCode } from "./errors.js";

/** What a request may ask for, given the deployment's settings. */
export interface RequestDefaults {
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  permissionMode: PermissionMode;
  /** Largest `maxBudgetUsd`; null: no cap beyond `LIMITS.maxBudgetUsd`. */
  maxBudgetUsd: number | null;
  /** Whether `callbackUrl` may reach loopback, over plain http too (local development). */
  allowInsecureCallbacks: boolean;
  /** Hosts the container may reach (a repository's host must be one). */
  allowedHosts: readonly string[];
  /** The host of the deployment's GitHub (`Settings.githubHost`). */
  githubHost: string;
  /** The id of the task being created (it names the default work branch). */
  taskId: string;
}

/** Returns the canonical (lower-case) task id, or throws `invalid_task_id`. */
export function parseTaskId(raw: string): string {
  if (!isUuid(raw)) throw new ApiError("invalid_task_id");
  return raw.toLowerCase();
}

/** Accepts `application/json` and `application/<anything>+json`, with parameters. */
export function isJsonContentType(header: string | null): boolean {
  if (!header) return false;
  const mediaType = header.split(";")[0]!.trim().toLowerCase();
  return mediaType === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

/**
 * Reads the body as text, refusing (413) more than `LIMITS.maxBodyBytes`
 * whatever Content-Length says, and a Content-Length that declares more or is
 * not a number of bytes.
 */
export async function readBodyText(request: Request): Promise<string> {
  const bytes = await readRequestAtMost(request, LIMITS.maxBodyBytes);
  if (bytes === null) throw new ApiError("body_too_large");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError("invalid_json");
  }
}

/** The fields a task body may have, in the order their errors take precedence. */
const FIELD_ORDER = ["task", "timeout", "model", "maxTurns", "permissionMode", "maxBudgetUsd", "callbackUrl"] as const;
type Field = (typeof FIELD_ORDER)[number];

const isInteger = (value: unknown, min: number, max: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;

/** Each field's rule: the error code of a present but unacceptable value, or undefined when it is fine. */
function fieldError(field: Field, value: unknown, defaults: RequestDefaults): ApiErrorCode | undefined {
  switch (field) {
    case "task":
      if (value === undefined || value === null) return "task_required";
      if (typeof value !== "string") return "invalid_task";
      if (value.trim().length === 0) return "task_required";
      if (value.length > LIMITS.maxTaskLength) return "task_too_long";
      return value.includes("\0") || !value.isWellFormed() ? "invalid_task" : undefined;
    case "timeout":
      return isInteger(value, LIMITS.minTimeoutMs, defaults.maxTimeoutMs) ? undefined : "invalid_timeout";
    case "model":
      return typeof value === "string" && MODEL_PATTERN.test(value) ? undefined : "invalid_model";
    case "maxTurns":
      return isInteger(value, 1, LIMITS.maxTurns) ? undefined : "invalid_max_turns";
    case "permissionMode":
      return (PERMISSION_MODES as readonly unknown[]).includes(value) ? undefined : "invalid_permission_mode";
    case "maxBudgetUsd":
      return typeof value === "number" && Number.isFinite(value) && value > 0 && value <= (defaults.maxBudgetUsd ?? LIMITS.maxBudgetUsd)
        ? undefined
        : "invalid_max_budget";
    case "callbackUrl":
      return typeof value === "string" ? (callbackUrlProblem(value, defaults.allowInsecureCallbacks) ?? undefined) : "invalid_callback_url";
  }
}

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

  const fields = body as Record<string, unknown>;
  const allowed: readonly string[] = [...FIELD_ORDER, ...REPOSITORY_FIELDS];
  const unknown = Object.keys(fields).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new ApiError("unknown_field", { details: { fields: unknown.slice(0, 10).map((key) => key.slice(0, 64)), allowed } });
  }
  for (const field of FIELD_ORDER) {
    // Only `task` is required; an optional field that is absent needs no check.
    if (field !== "task" && fields[field] === undefined) continue;
    const code = fieldError(field, fields[field], defaults);
    if (code === undefined) continue;
    const details = fieldDetails(code, defaults);
    throw new ApiError(code, details ? { details } : {});
  }
  let repository: RepositoryRequest | null;
  try {
    repository = parseRepositoryRequest(fields, { taskId: defaults.taskId, allowedHosts: defaults.allowedHosts, githubHost: defaults.githubHost });
  } catch (error) {
    if (error instanceof RepositoryRequestError) throw new ApiError(error.code);
    throw error;
  }
  const { task, timeout, model, maxTurns, permissionMode, maxBudgetUsd, callbackUrl } = fields as {
    task: string;
    timeout?: number;
    model?: string;
    maxTurns?: number;
    permissionMode?: PermissionMode;
    maxBudgetUsd?: number;
    callbackUrl?: string;
  };
  return {
    task,
    timeoutMs: timeout ?? defaults.defaultTimeoutMs,
    permissionMode: permissionMode ?? defaults.permissionMode,
    ...(model === undefined ? {} : { model }),
    ...(maxTurns === undefined ? {} : { maxTurns }),
    ...(maxBudgetUsd === undefined ? {} : { maxBudgetUsd }),
    ...(callbackUrl === undefined ? {} : { callbackUrl }),
    ...(repository === null ? {} : { repository }),
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
  if (cursor !== null && !isUuid(cursor)) throw new ApiError("invalid_query", { details: { parameter: "cursor" } });
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
