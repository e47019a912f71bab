/**
 * `execute-task [url] [token] [options] [--] <task>`: runs a task to its end in
 * one command and prints its result plus `execution_time_ms`. It is `submit`
 * and `wait`: the task is submitted with the same options as `submit` (the
 * task text sent as is: multi-line, quotes, leading dashes), its id handed to
 * the entry point at once (printed on stderr), and its events followed
 * through queueing and running until it ends, however long that is; the
 * deployment ends every task by its deadline. Stopping the command does not
 * stop the task: `wait <taskId>` collects it later.
 */
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import type { FollowEventsOptions } from "../lib/event-stream.js";
import type { CommandResult } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";
import { type RepositorySettings, type SubmitFlags, sendTask, type TaskSettings, taskText } from "./submit.js";
import { waitForResult } from "./wait.js";

/** The flags of `execute-task`: those of `submit`. */
export type ExecuteTaskFlags = SubmitFlags;

export interface ExecuteTaskOptions extends TaskSettings, RepositorySettings {
  args: string[];
  /** Called once the deployment has accepted the task, before the wait. */
  onAccepted?: (document: TaskStatusDocument) => void;
  /** How a dropped stream is retried (tests shorten it). */
  reconnect?: Pick<FollowEventsOptions, "retryDelaysMs" | "idleTimeoutMs">;
}

export async function executeTask(options: ExecuteTaskOptions): Promise<CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "execute-task", rest: ["task"] }, tokenRequired: true });
  const task = taskText(target);
  const { args: _args, onAccepted, reconnect, ...settings } = options;
  const secrets = [target.token];
  const started = Date.now();
  const submitted = await sendTask(target, task, settings);
  if (!submitted.ok) {
    return { output: { ...submitted.failure, ...(submitted.status === null ? {} : { execution_time_ms: Date.now() - started }) }, ok: false, secrets };
  }
  const { taskId } = submitted.body;
  onAccepted?.(submitted.body);
  const waited = await waitForResult(target, taskId, reconnect === undefined ? {} : { reconnect });
  // A result has its taskId already; a failure to follow the task gets it, so that the task can be collected later.
  return { output: { ...waited.output, taskId, execution_time_ms: Date.now() - started }, ok: waited.ok, secrets };
}
