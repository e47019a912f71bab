/**
 * `wait [url] [token] <taskId> [--timeout ms]`: waits until the task reaches a
 * terminal status (following its event stream, not polling), then prints its
 * result. Exit 0 only when the task succeeded; a task still running when
 * --timeout runs out is a failure with code `wait_timeout` (the task goes on).
 * On a terminal, stderr shows the task's status while it waits, and when a
 * repository task waits behind others on its branch, which branch.
 */
import type { TaskStatus, TaskStatusDocument } from "../../worker/src/contract.js";
import { asJson, callApi, isTerminal, readFinalResult, taskPath } from "../lib/api.js";
import { type FollowEventsOptions, followEvents } from "../lib/event-stream.js";
import { startProgress } from "../lib/progress.js";
import { type CommandResult, failure } from "../lib/result.js";
import { resolveTarget, type Target } from "../lib/target.js";

/** The flags of `wait`, as the command line gives them. */
export interface WaitFlags {
  /** Give up waiting after this many ms. */
  timeout?: number;
}

export interface WaitOptions {
  args: string[];
  /** Give up waiting after this many ms. */
  timeoutMs?: number;
  /** How a dropped stream is retried (tests shorten it). */
  reconnect?: Pick<FollowEventsOptions, "retryDelaysMs" | "idleTimeoutMs">;
}

export async function waitForTask(options: WaitOptions): Promise<CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "wait", rest: ["taskId"] }, tokenRequired: true });
  return waitForResult(target, target.rest[0]!, options);
}

/**
 * Waits for a task to reach a terminal status, then reads its result: the
 * result (ok when the task succeeded), or the failure to print.
 */
export async function waitForResult(
  target: Pick<Target, "url" | "token">,
  taskId: string,
  options: Pick<WaitOptions, "timeoutMs" | "reconnect"> = {},
): Promise<CommandResult> {
  const secrets = [target.token];
  const deadline = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  let status: TaskStatus | null = null;
  /** The branch a queued repository task waits on behind others. */
  let waitsOn: string | null = null;
  const stop = startProgress(() => {
    if (status === null) return `waiting for task ${taskId}`;
    if (status === "queued" && waitsOn !== null) return `waiting for task ${taskId}: queued behind other tasks on ${waitsOn}`;
    return `waiting for task ${taskId}: ${status}`;
  });
  try {
    const document = await callApi<TaskStatusDocument>(target, taskPath(taskId), { expect: [200] });
    if (!document.ok) return { output: document.failure, ok: false, secrets };
    status = document.body.status;
    const { queuePosition, repository } = document.body;
    if (queuePosition !== undefined && queuePosition > 0 && repository) waitsOn = repository.branch;
    if (!isTerminal(status)) {
      const outcome = await followEvents({
        target,
        taskId,
        after: document.body.eventCount,
        onEvent: (event) => {
          if (event.type === "status" || event.type === "end") status = event.data.status;
        },
        ...options.reconnect,
        ...(deadline === undefined ? {} : { signal: deadline }),
      });
      if (outcome.kind === "failed") return { output: outcome.failure, ok: false, secrets };
      if (outcome.kind === "stopped") {
        const output = failure(
          {
            code: "wait_timeout",
            error: `Task ${taskId} has not finished within ${options.timeoutMs} ms`,
            hint: "The task goes on: wait again, follow it with `claude-sandbox events <taskId> --follow`, or stop it with `claude-sandbox cancel <taskId>`.",
          },
          { taskId, status },
        );
        return { output, ok: false, secrets };
      }
    }
    const result = await readFinalResult(target, taskId, deadline === undefined ? {} : { signal: deadline });
    if (!result.ok) return { output: result.failure, ok: false, secrets };
    return { output: asJson(result.body), ok: result.body.success === true, secrets };
  } finally {
    stop();
  }
}
