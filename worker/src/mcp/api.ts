/**
 * The HTTP API as the MCP tools reach it: every call is a `Request` to one of
 * the API's routes, answered in-process by the Worker's own request handler
 * with the MCP caller's credentials. Auth, validation, limits and
 * error codes are therefore those of the API itself, and there is no private
 * way in. An error answer becomes an {@link ApiAnswerError}, whose message is
 * the tool's error text.
 */
import { createParser } from "eventsource-parser";
import { isUuid, type TaskEvent, type TaskEventsPage, type TaskListDocument, type TaskResult, type TaskStatus, type TaskStatusDocument } from "../contract.js";
import { readPrefix } from "../streams.js";
import { type ApiErrorBody, describeApiError } from "./text.js";

/** Answers one request as the API does (the `/mcp` route passes the Worker's request handler). */
export type CallApi = (request: Request) => Promise<Response>;

/** An error answer of the API: its status and body, and a message that names its code. */
export class ApiAnswerError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody;

  constructor(status: number, body: ApiErrorBody) {
    super(describeApiError(status, body));
    this.name = "ApiAnswerError";
    this.status = status;
    this.body = body;
  }
}

/** Reads the next chunk of `reader`, or null when the stream ended or `until` (epoch ms) came first. */
async function readBefore(reader: ReadableStreamDefaultReader<string>, until: number): Promise<string | null> {
  let timer!: ReturnType<typeof setTimeout>;
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, until - Date.now()));
  });
  try {
    const chunk = await Promise.race([reader.read(), deadline]);
    return chunk === null || chunk.done ? null : chunk.value;
  } finally {
    clearTimeout(timer);
  }
}

/** The headers the API knows a caller by: the bearer token, and the assertion Cloudflare Access adds in front of the Worker. */
const CREDENTIAL_HEADERS = ["authorization", "cf-access-jwt-assertion"] as const;

/** The API's task routes, called in-process as the caller of one MCP request. */
export class TaskApi {
  readonly #callApi: CallApi;
  readonly #origin: string;
  readonly #credentials: [string, string][];

  /** Calls the API at the origin `caller` reached, with `caller`'s credentials passed on as they are. */
  constructor(callApi: CallApi, caller: Request) {
    this.#callApi = callApi;
    this.#origin = new URL(caller.url).origin;
    this.#credentials = CREDENTIAL_HEADERS.flatMap((name) => {
      const value = caller.headers.get(name);
      return value === null ? [] : [[name, value] as [string, string]];
    });
  }

  async #send(method: "GET" | "POST", path: string, options: { accept?: string; body?: unknown } = {}): Promise<Response> {
    const headers = new Headers([...this.#credentials, ["accept", options.accept ?? "application/json"]]);
    if (options.body !== undefined) headers.set("content-type", "application/json");
    const init: RequestInit = { method, headers };
    if (options.body !== undefined) init.body = JSON.stringify(options.body);
    const response = await this.#callApi(new Request(new URL(path, this.#origin), init));
    if (!response.ok) throw await answerError(response);
    return response;
  }

  async #json<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await this.#send(method, path, body === undefined ? {} : { body });
    return (await response.json()) as T;
  }

  /** `POST /tasks`. */
  submit(body: Record<string, unknown>): Promise<TaskStatusDocument> {
    return this.#json("POST", "/tasks", body);
  }

  /** `GET /tasks/:taskId`. */
  status(taskId: string): Promise<TaskStatusDocument> {
    return this.#json("GET", taskPath(taskId));
  }

  /** `GET /tasks/:taskId/result`. */
  result(taskId: string): Promise<TaskResult> {
    return this.#json("GET", `${taskPath(taskId)}/result`);
  }

  /** `POST /tasks/:taskId/cancel`. */
  cancel(taskId: string): Promise<TaskStatusDocument> {
    return this.#json("POST", `${taskPath(taskId)}/cancel`);
  }

  /** `GET /tasks?status=&limit=&cursor=`. */
  list(query: { status?: TaskStatus | undefined; limit?: number | undefined; cursor?: string | undefined }): Promise<TaskListDocument> {
    return this.#json("GET", withQuery("/tasks", query));
  }

  /** `GET /tasks/:taskId/events?after=&limit=` as a JSON page. */
  events(taskId: string, query: { after?: number | undefined; limit?: number | undefined }): Promise<TaskEventsPage> {
    return this.#json("GET", withQuery(`${taskPath(taskId)}/events`, query));
  }

  /**
   * Follows `GET /tasks/:taskId/events` as Server-Sent Events: hands each event
   * after `after` to `onEvent` as it is stored, until the `end` event (true),
   * or the stream closes or `until` (epoch ms) comes (false). The API's own
   * wait: nothing is polled.
   */
  async follow(taskId: string, after: number, until: number, onEvent: (event: TaskEvent) => Promise<void>): Promise<boolean> {
    const response = await this.#send("GET", `${taskPath(taskId)}/events?after=${after}`, { accept: "text/event-stream" });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const arrived: TaskEvent[] = [];
    const parser = createParser({ onEvent: (message) => arrived.push(JSON.parse(message.data) as TaskEvent) });
    try {
      for (;;) {
        const chunk = await readBefore(reader, until);
        if (chunk === null) return false;
        parser.feed(chunk);
        for (const event of arrived.splice(0)) {
          await onEvent(event);
          if (event.type === "end") return true;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  /**
   * `GET /tasks/:taskId/artifacts/changes.patch`, at most `limit` bytes of it
   * as UTF-8 text: a longer patch is cut after its last whole line within the limit.
   */
  async patch(taskId: string, limit: number): Promise<{ patch: string; truncated: boolean }> {
    const response = await this.#send("GET", `${taskPath(taskId)}/artifacts/changes.patch`, { accept: "text/x-patch" });
    const { bytes, truncated } = await readPrefix(response.body, limit);
    const lineEnd = bytes.lastIndexOf(0x0a) + 1;
    const kept = truncated && lineEnd > 0 ? bytes.subarray(0, lineEnd) : bytes;
    return { patch: new TextDecoder().decode(kept), truncated };
  }
}

/** `path` with the parameters of `query` that are set. */
function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  return params.size > 0 ? `${path}?${params}` : path;
}

/**
 * The path of a task. The id goes into a URL path, where `.` or `..` (in any
 * spelling) would be folded into another route; so only a UUID goes in as
 * given, and anything else as a segment the API refuses the way it refuses
 * any malformed id: its own `invalid_task_id`.
 */
function taskPath(taskId: string): string {
  return `/tasks/${isUuid(taskId) ? taskId.toLowerCase() : "not-a-task-id"}`;
}

/** The error of a non-2xx answer, from its JSON body `{error, code, …}`. */
async function answerError(response: Response): Promise<Error> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === "object" && body !== null && typeof (body as ApiErrorBody).code === "string" && typeof (body as ApiErrorBody).error === "string") {
      return new ApiAnswerError(response.status, body as ApiErrorBody);
    }
  } catch {
    // Not JSON: described below.
  }
  return new Error(`The API answered ${response.status} without an error document`);
}
