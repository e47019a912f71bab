/**
 * `execute-task [url] [token] <task> [--timeout ms]`: posts a task and returns
 * the server's answer plus `execution_time_ms`. The task text is sent as is
 * (multi-line, quotes, leading dashes). The HTTP wait is the task timeout plus
 * a margin, since the server answers only when the task has finished.
 */
import { httpFailure, request, UnreachableError, unreachable } from "../lib/http.js";
import { startProgress } from "../lib/progress.js";
import { type CommandResult, type JsonObject, UsageError } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";

/** The server's default task timeout, used for the HTTP wait when --timeout is not given. */
export const DEFAULT_TASK_TIMEOUT_MS = 300_000;

/** Extra HTTP wait beyond the task timeout: the server's own deadline margin plus start-up. */
export const HTTP_MARGIN_MS = 60_000;

/** How long to wait for the HTTP answer of a task with this timeout: a little longer than the task. */
export function httpWaitMs(taskTimeoutMs: number | undefined): number {
  return (taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS) + HTTP_MARGIN_MS;
}

/** The flags of `execute-task`, as the command line gives them. */
export interface ExecuteTaskFlags {
  /** Task timeout in ms. */
  timeout?: number;
}

export interface ExecuteTaskOptions {
  args: string[];
  timeoutMs?: number;
}

export async function executeTask(options: ExecuteTaskOptions): Promise<CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "execute-task", rest: ["task"] }, tokenRequired: true });
  const task = target.rest[0]!;
  if (task.trim() === "") throw new UsageError("task_required", "The task is empty", "Give the task text as the last argument.");
  const body = { task, ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }) };
  const stop = startProgress("waiting for the task to finish");
  try {
    const response = await request(`${target.url}/execute`, {
      method: "POST",
      token: target.token,
      json: body,
      timeoutMs: httpWaitMs(options.timeoutMs),
    });
    if (response.status !== 200) {
      return { output: httpFailure(response.status, response.body, { headers: response.headers, executionTimeMs: response.durationMs }), ok: false, secrets: [target.token] };
    }
    const result = response.body as JsonObject;
    return {
      output: { ...result, execution_time_ms: response.durationMs },
      ok: result.success === true,
      secrets: [target.token],
    };
  } catch (error) {
    if (error instanceof UnreachableError) return { output: unreachable(error), ok: false, secrets: [target.token] };
    throw error;
  } finally {
    stop();
  }
}
