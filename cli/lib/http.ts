/** HTTP calls to a deployment, with a timeout and errors that say what to do. */
import { failure, type Json, type JsonObject } from "./result.js";

export interface HttpResponse {
  status: number;
  /** Parsed JSON body, or the raw text when the body is not JSON. */
  body: unknown;
  durationMs: number;
  headers: Headers;
}

/** The server could not be reached (`server_unreachable`) or did not answer in time (`server_timeout`). */
export class UnreachableError extends Error {
  constructor(
    readonly code: "server_unreachable" | "server_timeout",
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "UnreachableError";
  }
}

export interface RequestOptions {
  method?: string;
  token?: string | undefined;
  /** Sent as JSON. */
  json?: unknown;
  /** Raw body, sent as is. */
  body?: string;
  headers?: Record<string, string>;
  timeoutMs: number;
}

/** Why a request got no HTTP answer, as Node's fetch reports it: the system error code (ECONNREFUSED) when there is one. */
export function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** An answer whose body is kept as the bytes that came (an artifact). */
export interface HttpBytesResponse {
  status: number;
  bytes: Uint8Array;
  durationMs: number;
  headers: Headers;
}

/**
 * Sends one request and reads its whole body; throws UnreachableError when no
 * HTTP answer comes back, or the body does not, within the timeout.
 */
export async function requestBytes(url: string, options: RequestOptions): Promise<HttpBytesResponse> {
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const started = Date.now();
  try {
    const response = await fetch(url, {
      method: options.method ?? "GET",
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, bytes, durationMs: Date.now() - started, headers: response.headers };
  } catch (error) {
    const origin = new URL(url).origin;
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      throw new UnreachableError(
        "server_timeout",
        `No answer from ${origin} within ${Math.round(options.timeoutMs / 1000)} s`,
        "The server may still be working: read the result later with `claude-sandbox result`, or raise --timeout.",
      );
    }
    throw new UnreachableError(
      "server_unreachable",
      `Could not reach ${origin}: ${describeNetworkError(error)}`,
      "Check the URL and that the server is running (locally: npm run dev:stub; deployed: pulumi stack output url).",
    );
  }
}

/** A body as JSON when it is JSON, else as its text. */
export function parseBody(bytes: Uint8Array): unknown {
  const text = new TextDecoder().decode(bytes);
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** Sends one request; throws UnreachableError when no HTTP answer comes back. */
export async function request(url: string, options: RequestOptions): Promise<HttpResponse> {
  const response = await requestBytes(url, options);
  return { status: response.status, body: parseBody(response.bytes), durationMs: response.durationMs, headers: response.headers };
}

/** How to collect a repository task's changes when it cannot push. */
const TAKE_THE_PATCH = "leave out --push and --pr and take the patch with `claude-sandbox artifact <taskId> changes.patch`";

/** Hints for the refusals of a request whose fix is outside the request itself (the deployment's settings). */
const BAD_REQUEST_HINTS: Readonly<Record<string, string>> = {
  repo_host_not_allowed: "The repository's host is not one the sandbox may reach: add it to allowedHosts (docs/configuration.md) and run pulumi up, or use a repository on an allowed host.",
  protected_branch: "A task never pushes to main, master or the ref it checked out: give another --branch, or leave it out for claude/<task id>.",
  github_not_configured: `The deployment has no GitHub credential to push with: set githubAppId and githubAppPrivateKey, or githubToken (docs/configuration.md), and run pulumi up; or ${TAKE_THE_PATCH}.`,
  repo_not_granted: `The deployment may not push to this repository: add it to githubRepos (docs/configuration.md) and run pulumi up; or ${TAKE_THE_PATCH}.`,
  push_not_supported: `Tasks push and open pull requests only on GitHub repositories: ${TAKE_THE_PATCH}.`,
  follow_up_without_repository: "Only a repository task can be followed up, and the earlier task had no repository: submit a new task instead.",
  branch_is_default: "The earlier task worked on the repository's default branch, which a task never pushes: follow it up without --push, or submit a new task with --repo (the default branch as --ref) and a --branch of its own.",
  repo_host_has_door: "That host is the Anthropic API, not a git host: give the URL of the repository on its git host (github.com, …).",
  callback_url_not_public: "The webhook would go to a private or local address (loopback, a private network, a metadata service): give a public https:// URL (plain http to localhost only on npm run dev:stub).",
};

/** The seconds of a Retry-After header; null without one, or for one that is not a number of seconds. */
function retryAfterSeconds(headers: Headers | undefined): number | null {
  const value = headers?.get("retry-after")?.trim();
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : null;
}

/** When to try again, as a hint says it. */
function retryWhen(seconds: number | null): string {
  return seconds === null ? "retry in a minute" : `retry in ${seconds} s`;
}

/** A hint for an HTTP error answer of the API. */
function hintFor(status: number, code: string | undefined, retryAfter: number | null): string {
  switch (status) {
    case 400:
      return (code === undefined ? undefined : BAD_REQUEST_HINTS[code]) ?? "The request was refused as invalid; see `error` and `details` (docs/api.md lists every code).";
    case 401:
      return "The token was refused: use the current token (`pulumi stack output serverAuthToken --show-secrets`, or the token npm run dev:stub printed on start).";
    case 404:
      if (code === "result_not_found") return "No stored result for that task id: it never ran here, or it expired (resultRetentionDays).";
      if (code === "task_not_found") return "No task with that id here: see `claude-sandbox list`; old tasks expire after resultRetentionDays.";
      if (code === "artifact_not_found") {
        return "The task stored no such artifact: it was not a repository task, it ended before its changes were read, its patch was over 10 MiB, or it expired (resultRetentionDays); `repository.artifacts` in `claude-sandbox result <taskId>` lists what it stored.";
      }
      return "Unknown path: check the URL is the deployment's base URL.";
    case 409:
      if (code === "task_not_finished") return "The task has not finished: follow it with `claude-sandbox events <taskId> --follow`, or `claude-sandbox wait <taskId>`.";
      if (code === "continue_from_unavailable") {
        return "The earlier task has no workspace to restore: it is unknown here, past resultRetentionDays, or ended without storing one. Submit a new task with --repo instead.";
      }
      return "The task has already finished: read its result with `claude-sandbox result <taskId>`.";
    case 413:
      return "The task is too large: keep the body under 256 KiB.";
    case 429:
      return `Too many tasks were created with this token in the last minute (rateLimitPerMinute): ${retryWhen(retryAfter)}.`;
    case 503:
      return `No sandbox is free right now (maxInstances reached or the platform is busy): ${retryWhen(retryAfter)}.`;
    default:
      return status >= 500
        ? "The deployment failed while handling the request: see `error`, and its logs (npx wrangler tail <workerName>)."
        : "Unexpected answer: see `error`.";
  }
}

/**
 * The answer of a failed HTTP call, in the CLI's failure shape: the API's
 * `code`, or `unexpected_response` for an answer that is not the API's
 * (a proxy's error page).
 */
export function httpFailure(status: number, body: unknown, options: { headers?: Headers; executionTimeMs?: number } = {}): JsonObject {
  const error = (typeof body === "object" && body !== null ? body : {}) as Record<string, Json>;
  const code = typeof error.code === "string" ? error.code : undefined;
  const retryAfter = retryAfterSeconds(options.headers);
  const { executionTimeMs } = options;
  return {
    ...failure({
      code: code ?? "unexpected_response",
      error: typeof error.error === "string" ? error.error : typeof body === "string" && body ? body.slice(0, 500) : `HTTP ${status}`,
      hint: hintFor(status, code, retryAfter),
      httpCode: status,
    }),
    ...(retryAfter === null ? {} : { retry_after_s: retryAfter }),
    ...(error.details === undefined ? {} : { details: error.details }),
    ...(typeof error.taskId === "string" ? { taskId: error.taskId } : {}),
    ...(typeof error.status === "string" ? { status: error.status } : {}),
    ...(error.result === undefined ? {} : { result: error.result }),
    ...(executionTimeMs === undefined ? {} : { execution_time_ms: executionTimeMs }),
  };
}

/** A server that could not be reached, in the CLI's failure shape. */
export function unreachable(error: UnreachableError): JsonObject {
  return failure({ code: error.code, error: error.message, hint: error.hint, httpCode: null });
}
