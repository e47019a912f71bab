/**
 * `submit [url] [token] [--] <task>`: hands a task to the deployment and prints
 * its status document at once (202). The task runs to its end whether or not
 * anyone follows it: `events --follow`, `wait` and `result` read it later.
 */
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import { asJson, callApi } from "../lib/api.js";
import { type CommandResult, UsageError } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";

/** The optional fields of `POST /tasks`, as the flags give them. */
export interface TaskSettings {
  /** Task timeout in ms (`timeout`). */
  timeoutMs?: number;
  model?: string;
  maxTurns?: number;
  permissionMode?: string;
  maxBudgetUsd?: number;
  callbackUrl?: string;
}

export interface SubmitOptions extends TaskSettings {
  args: string[];
}

/** The body of `POST /tasks`: the task and the settings that were given, under the API's names. */
export function taskBody(task: string, settings: TaskSettings): Record<string, string | number> {
  const body: Record<string, string | number> = { task };
  if (settings.timeoutMs !== undefined) body.timeout = settings.timeoutMs;
  if (settings.model !== undefined) body.model = settings.model;
  if (settings.maxTurns !== undefined) body.maxTurns = settings.maxTurns;
  if (settings.permissionMode !== undefined) body.permissionMode = settings.permissionMode;
  if (settings.maxBudgetUsd !== undefined) body.maxBudgetUsd = settings.maxBudgetUsd;
  if (settings.callbackUrl !== undefined) body.callbackUrl = settings.callbackUrl;
  return body;
}

export async function submitTask(options: SubmitOptions): Promise<CommandResult> {
  const target = resolveTarget(options.args, { restCount: 1, tokenRequired: true });
  const task = target.rest[0]!;
  if (task.trim() === "") throw new UsageError("The task is empty", "Give the task text as the last argument.");
  const secrets = [target.token];
  const answer = await callApi<TaskStatusDocument>(target, "/tasks", { method: "POST", json: taskBody(task, options), expect: [202] });
  if (!answer.ok) return { output: answer.failure, ok: false, secrets };
  return { output: asJson(answer.body), ok: true, secrets };
}
