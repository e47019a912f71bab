/**
 * The console's one way to the API: the same public routes and token as any
 * other client. The token travels in the Authorization header; without one
 * (behind Cloudflare Access) requests go with the browser's own credentials
 * for the origin. A 401 is reported to `onUnauthorized` (the console goes
 * back to its sign-in) before it is thrown.
 */
import type { TaskListDocument, TaskResult, TaskStatus, TaskStatusDocument } from "../../worker/src/contract.js";

/** A task as the console reads it: the status document. */
export type ConsoleTask = TaskStatusDocument;

/** An answer of the API other than the one expected, or no answer at all (`status` 0). */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiRequestError";
    this.status = status;
    this.code = code;
  }
}

export interface ApiOptions {
  /** The bearer token; null when the deployment lets the browser in without one (Cloudflare Access). */
  token: string | null;
  /** Called on any 401, before the request's promise rejects. */
  onUnauthorized: () => void;
  /** Where the API is: "" for the console's own origin. */
  baseUrl?: string;
  fetch?: typeof fetch;
}

/** What `GET /tasks` takes. */
export interface ListQuery {
  status?: TaskStatus | null;
  limit?: number;
  cursor?: string | null;
}

/** The API's routes, as the console calls them. */
export interface Api {
  /** The headers every request carries (the token, when there is one). */
  headers(): Record<string, string>;
  /** An absolute or origin-relative URL of `path`. */
  url(path: string): string;
  /** Tells the console the API refused its credentials (for requests made outside this client, such as the event stream). */
  unauthorized(): void;
  listTasks(query?: ListQuery): Promise<TaskListDocument & { tasks: ConsoleTask[] }>;
  getTask(taskId: string): Promise<ConsoleTask>;
  getResult(taskId: string): Promise<TaskResult>;
  getPatch(taskId: string): Promise<string>;
  cancelTask(taskId: string): Promise<ConsoleTask>;
  submitTask(body: Record<string, unknown>): Promise<ConsoleTask>;
}

/** Reads an error answer's `{error, code}`, whatever came. */
async function failure(response: Response): Promise<ApiRequestError> {
  let code = `http_${response.status}`;
  let message = `The API answered ${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { error?: unknown; code?: unknown };
    if (typeof body.code === "string") code = body.code;
    if (typeof body.error === "string") message = body.error;
  } catch {
    // Not JSON: the status says enough.
  }
  return new ApiRequestError(response.status, code, message);
}

export function createApi(options: ApiOptions): Api {
  const baseUrl = options.baseUrl ?? "";
  const fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  const headers = (): Record<string, string> => (options.token === null ? {} : { Authorization: `Bearer ${options.token}` });

  const request = async (path: string, init: { method?: "GET" | "POST"; body?: unknown; accept?: string } = {}): Promise<Response> => {
    let response: Response;
    try {
      response = await fetcher(`${baseUrl}${path}`, {
        method: init.method ?? "GET",
        headers: {
          ...headers(),
          Accept: init.accept ?? "application/json",
          ...(init.body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      throw new ApiRequestError(0, "network_error", "The API could not be reached. Check your connection; the page tries again.");
    }
    if (response.status === 401) {
      options.onUnauthorized();
      throw await failure(response);
    }
    if (!response.ok) throw await failure(response);
    return response;
  };
  const json = async <T>(path: string, init?: Parameters<typeof request>[1]): Promise<T> => (await (await request(path, init)).json()) as T;
  const taskPath = (taskId: string, rest = "") => `/tasks/${encodeURIComponent(taskId)}${rest}`;

  return {
    headers,
    url: (path) => `${baseUrl}${path}`,
    unauthorized: () => options.onUnauthorized(),
    listTasks: (query = {}) => {
      const params = new URLSearchParams();
      if (query.limit !== undefined) params.set("limit", String(query.limit));
      if (query.status) params.set("status", query.status);
      if (query.cursor) params.set("cursor", query.cursor);
      const search = params.toString();
      return json(`/tasks${search === "" ? "" : `?${search}`}`);
    },
    getTask: (taskId) => json(taskPath(taskId)),
    getResult: (taskId) => json(taskPath(taskId, "/result")),
    getPatch: async (taskId) => (await request(taskPath(taskId, "/artifacts/changes.patch"), { accept: "text/x-patch" })).text(),
    cancelTask: (taskId) => json(taskPath(taskId, "/cancel"), { method: "POST" }),
    submitTask: (body) => json("/tasks", { method: "POST", body }),
  };
}
