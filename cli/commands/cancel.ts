/**
 * `cancel [url] [token] <taskId>`: stops a queued or running task; its
 * container is destroyed and what it printed so far is kept as its result.
 * A task that has already finished is a failure (409 task_finished, with its status).
 */
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import { asJson, callApi, taskPath } from "../lib/api.js";
import type { CommandResult } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";

export async function cancelTask(options: { args: string[] }): Promise<CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "cancel", rest: ["taskId"] }, tokenRequired: true });
  const secrets = [target.token];
  const answer = await callApi<TaskStatusDocument>(target, taskPath(target.rest[0]!, "/cancel"), { method: "POST", expect: [202] });
  return answer.ok ? { output: asJson(answer.body), ok: true, secrets } : { output: answer.failure, ok: false, secrets };
}
