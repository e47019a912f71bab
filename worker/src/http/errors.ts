/**
 * Every error the HTTP API can answer with: a stable machine-readable code,
 * its status and its human message. Messages are fixed text: an error body
 * never echoes the task, the command run in the sandbox, or a secret.
 */
import { MAX_QUEUED_PER_BRANCH } from "../repositories/branch-queue.js";
import { REPOSITORY_REQUEST_ERRORS } from "../repositories/request.js";

export const API_ERRORS = {
  // 400: the caller's mistakes.
  invalid_json: { status: 400, message: "Request body is not valid JSON" },
  invalid_body: { status: 400, message: "Request body must be a JSON object" },
  task_required: { status: 400, message: "Task is required" },
  invalid_task: { status: 400, message: "Task must be valid Unicode text without NUL characters" },
  task_too_long: { status: 400, message: "Task is too long" },
  invalid_timeout: { status: 400, message: "Timeout must be an integer number of milliseconds within the allowed range" },
  invalid_model: { status: 400, message: "Model must be a Claude model name or alias" },
  invalid_max_turns: { status: 400, message: "maxTurns must be a positive integer within the allowed range" },
  invalid_permission_mode: { status: 400, message: "permissionMode is not one of the allowed modes" },
  invalid_max_budget: { status: 400, message: "maxBudgetUsd must be a number above 0 and within the deployment's cap" },
  invalid_callback_url: { status: 400, message: "callbackUrl must be an https:// URL without credentials" },
  callback_url_not_public: {
    status: 400,
    message: "callbackUrl must name a public host: not a loopback, private, link-local or shared address, nor a name only a local network resolves",
  },
  unknown_field: { status: 400, message: "Request body has unknown fields" },
  invalid_task_id: { status: 400, message: "Task id must be a UUID" },
  invalid_query: { status: 400, message: "Query parameter is not valid" },
  // The repository fields (repositories/request.ts), and what the deployment allows of them.
  ...REPOSITORY_REQUEST_ERRORS,
  push_not_supported: { status: 400, message: "push and pullRequest need a repository on GitHub" },
  github_not_configured: { status: 400, message: "This deployment has no GitHub credential, so tasks cannot push or open pull requests" },
  repo_not_granted: { status: 400, message: "This deployment does not let tasks push to that repository (githubRepos)" },
  // 401
  unauthorized: { status: 401, message: "Unauthorized" },
  // 404 / 405
  task_not_found: { status: 404, message: "Task not found" },
  result_not_found: { status: 404, message: "Task result not found" },
  artifact_not_found: { status: 404, message: "Task artifact not found" },
  not_found: { status: 404, message: "Not found" },
  method_not_allowed: { status: 405, message: "Method not allowed" },
  // 409: the task is not in a state that allows this.
  task_finished: { status: 409, message: "Task has already finished" },
  task_not_finished: { status: 409, message: "Task has not finished yet" },
  branch_queue_full: {
    status: 409,
    message: `The branch already has ${MAX_QUEUED_PER_BRANCH} tasks waiting; wait for some to finish or name another branch`,
  },
  continue_from_unavailable: {
    status: 409,
    message: "The task to continue has no workspace to restore: it is unknown, past the retention, or ended without storing one",
  },
  // 413 / 415 / 429
  body_too_large: { status: 413, message: "Request body is too large" },
  unsupported_media_type: { status: 415, message: "Content-Type must be application/json" },
  rate_limited: { status: 429, message: "Too many tasks created; retry later" },
  // 5xx: failures of the platform or of this deployment.
  task_execution_failed: { status: 500, message: "Task execution failed" },
  result_store_failed: { status: 500, message: "Task ran but its result could not be stored" },
  result_read_failed: { status: 500, message: "Task result could not be read" },
  auth_not_configured: { status: 500, message: "Server auth token is not configured" },
  credential_not_configured: { status: 500, message: "Claude credential is not configured" },
  settings_invalid: { status: 500, message: "Worker settings are invalid" },
  webhook_not_configured: { status: 500, message: "Webhook signing secret is not configured" },
  task_store_failed: { status: 500, message: "Task state could not be reached" },
  internal_error: { status: 500, message: "Internal error" },
  sandbox_unavailable: { status: 503, message: "No sandbox is available right now; retry later" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 30;

/** Seconds a client should wait before retrying a 429 (the rate limit's window). */
export const RATE_LIMIT_RETRY_AFTER_SECONDS = 60;

/** An error answer: thrown anywhere in request handling, rendered by the app. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ApiErrorCode, options: { details?: Record<string, unknown>; extra?: Record<string, unknown> } = {}) {
    super(API_ERRORS[code].message);
    this.name = "ApiError";
    this.code = code;
    this.status = API_ERRORS[code].status;
    this.details = options.details;
    this.extra = options.extra;
  }

  /** The JSON body: `{error, code}` plus `details` and any extra fields such as `taskId`. */
  toBody(): Record<string, unknown> {
    return {
      error: this.message,
      code: this.code,
      ...(this.details === undefined ? {} : { details: this.details }),
      ...this.extra,
    };
  }
}
