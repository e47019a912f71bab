/** HTTP calls to a deployment, with a timeout and errors that say what to do. */
import type { Json, JsonObject } from "./result.js";

export interface HttpResponse {
  status: number;
  /** Parsed JSON body, or the raw text when the body is not JSON. */
  body: unknown;
  durationMs: number;
  headers: Headers;
}

/** The server could not be reached or did not answer in time. */
export class UnreachableError extends Error {
  constructor(
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

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** Sends one request; throws UnreachableError when no HTTP answer comes back. */
export async function request(url: string, options: RequestOptions): Promise<HttpResponse> {
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const started = Date.now();
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? "GET",
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const origin = new URL(url).origin;
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      throw new UnreachableError(
        `No answer from ${origin} within ${Math.round(options.timeoutMs / 1000)} s`,
        "The server may still be working: read the result later with `claude-sandbox result`, or raise --timeout.",
      );
    }
    throw new UnreachableError(
      `Could not reach ${origin}: ${describeNetworkError(error)}`,
      "Check the URL and that the server is running (locally: npm run dev:stub; deployed: pulumi stack output url).",
    );
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, body: parsed, durationMs: Date.now() - started, headers: response.headers };
}

/** A hint for an HTTP error answer of the API. */
export function hintFor(status: number, code: string | undefined): string {
  switch (status) {
    case 400:
      return "The request was refused as invalid; see `error` and `details` (docs/api.md lists every code).";
    case 401:
      return "The token was refused: use the current token (`pulumi stack output serverAuthToken --show-secrets`, or the token npm run dev:stub printed on start).";
    case 404:
      if (code === "result_not_found") return "No stored result for that task id: it never ran here, or it expired (resultRetentionDays).";
      if (code === "task_not_found") return "No task with that id here: see `claude-sandbox list`; old tasks expire after resultRetentionDays.";
      return "Unknown path: check the URL is the deployment's base URL.";
    case 409:
      return code === "task_not_finished"
        ? "The task has not finished: follow it with `claude-sandbox events <taskId> --follow`, or `claude-sandbox wait <taskId>`."
        : "The task has already finished: read its result with `claude-sandbox result <taskId>`.";
    case 413:
      return "The task is too large: keep the body under 256 KiB.";
    case 429:
      return "Too many tasks were created with this token in the last minute (rateLimitPerMinute): retry after Retry-After seconds.";
    case 503:
      return "No sandbox is free right now (maxInstances reached or the platform is busy): retry after Retry-After seconds.";
    default:
      return status >= 500
        ? "The deployment failed while handling the request: see `error`, and its logs (npx wrangler tail <workerName>)."
        : "Unexpected answer: see `error`.";
  }
}

/** The answer of a failed HTTP call, in the CLI's failure shape. */
export function httpFailure(status: number, body: unknown, executionTimeMs?: number): JsonObject {
  const error = (typeof body === "object" && body !== null ? body : {}) as Record<string, Json>;
  const code = typeof error.code === "string" ? error.code : undefined;
  return {
    success: false,
    error: typeof error.error === "string" ? error.error : typeof body === "string" && body ? body.slice(0, 500) : `HTTP ${status}`,
    ...(code ? { code } : {}),
    http_code: status,
    hint: hintFor(status, code),
    ...(error.details === undefined ? {} : { details: error.details }),
    ...(typeof error.taskId === "string" ? { taskId: error.taskId } : {}),
    ...(typeof error.status === "string" ? { status: error.status } : {}),
    ...(error.result === undefined ? {} : { result: error.result }),
    ...(executionTimeMs === undefined ? {} : { execution_time_ms: executionTimeMs }),
  };
}

/** A server that could not be reached, in the CLI's failure shape. */
export function unreachable(error: UnreachableError): JsonObject {
  return { success: false, error: error.message, http_code: null, hint: error.hint };
}
