/** `result [url] [token] <taskId>`: the stored result of a task. */
import type { TaskResult } from "../../worker/src/contract.js";
import { asJson, callApi, taskPath } from "../lib/api.js";
import type { CommandResult } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";

export async function readResult(options: { args: string[] }): Promise<CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "result", rest: ["taskId"] }, tokenRequired: true });
  const taskId = target.rest[0]!;
  const secrets = [target.token];
  const answer = await callApi<TaskResult>(target, taskPath(taskId, "/result"), { expect: [200] });
  if (!answer.ok) return { output: answer.failure, ok: false, secrets };
  // Reading worked; the exit code still tells whether the task itself succeeded.
  return { output: asJson(answer.body), ok: answer.body.success === true, secrets };
}
