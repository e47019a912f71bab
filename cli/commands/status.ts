/** `status [url] [token] <taskId>`: a task's status document. */
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import { asJson, callApi, taskPath } from "../lib/api.js";
import type { CommandResult } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";

export async function taskStatus(options: { args: string[] }): Promise<CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "status", rest: ["taskId"] }, tokenRequired: true });
  const secrets = [target.token];
  const answer = await callApi<TaskStatusDocument>(target, taskPath(target.rest[0]!), { expect: [200] });
  // Reading worked, whatever the task's status: `wait` is the command whose exit code tells how a task ended.
  return answer.ok ? { output: asJson(answer.body), ok: true, secrets } : { output: answer.failure, ok: false, secrets };
}
