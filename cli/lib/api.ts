/**
 * Calls of the task API for the lifecycle commands: the parsed body of an
 * expected answer, or the failure the CLI prints (the API's error with a hint,
 * or the server not answering).
 */
import { type ArtifactName, type TaskResult, type TaskStatus, TERMINAL_STATUSES, type TerminalStatus } from "../../worker/src/contract.js";
import { httpFailure, request, UnreachableError, unreachable } from "./http.js";
import type { JsonObject } from "./result.js";
import type { Target } from "./target.js";

/** How long one API call may take. */
export const API_TIMEOUT_MS = 30_000;

export type ApiAnswer<T> = { ok: true; status: number; body: T } | { ok: false; status: number | null; failure: JsonObject };

/** Sends one request to `target.url + path`; `expect` lists the statuses that count as an answer. */
export async function callApi<T>(
  target: Pick<Target, "url" | "token">,
  path: string,
  options: { method?: string; json?: unknown; expect: readonly number[] },
): Promise<ApiAnswer<T>> {
  try {
    const response = await request(`${target.url}${path}`, {
      method: options.method ?? "GET",
      token: target.token,
      ...(options.json === undefined ? {} : { json: options.json }),
      timeoutMs: API_TIMEOUT_MS,
    });
    if (options.expect.includes(response.status)) return { ok: true, status: response.status, body: response.body as T };
    return { ok: false, status: response.status, failure: httpFailure(response.status, response.body, { headers: response.headers }) };
  } catch (error) {
    if (error instanceof UnreachableError) return { ok: false, status: null, failure: unreachable(error) };
    throw error;
  }
}

/** The path of a task's route; the id is encoded, so a hostile one reaches the server's own check. */
export function taskPath(taskId: string, route: "" | "/events" | "/result" | "/cancel" | `/artifacts/${ArtifactName}` = ""): string {
  return `/tasks/${encodeURIComponent(taskId)}${route}`;
}

/** How long to keep asking for the result of a task whose `end` event has come. */
const RESULT_WAIT_MS = 30_000;

/**
 * A finished task's stored result. The `end` event comes just before the
 * result is stored, so a `task_not_finished` answer is asked again, for up to
 * `waitMs` or until the signal stops it.
 */
export async function readFinalResult(
  target: Pick<Target, "url" | "token">,
  taskId: string,
  options: { waitMs?: number; signal?: AbortSignal } = {},
): Promise<ApiAnswer<TaskResult>> {
  const giveUpAt = Date.now() + (options.waitMs ?? RESULT_WAIT_MS);
  let delay = 100;
  for (;;) {
    const answer = await callApi<TaskResult>(target, taskPath(taskId, "/result"), { expect: [200] });
    if (answer.ok || answer.failure.code !== "task_not_finished" || Date.now() + delay > giveUpAt || options.signal?.aborted) return answer;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 2_000);
  }
}

/** Whether a task in this status has ended for good (the contract's TERMINAL_STATUSES). */
export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly TaskStatus[]).includes(status);
}

/** An API document as the JSON a command prints. */
export function asJson(document: object): JsonObject {
  return document as unknown as JsonObject;
}
