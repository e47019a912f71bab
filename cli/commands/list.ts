/** `list [url] [token] [--status s] [--limit n] [--cursor c]`: the deployment's tasks, newest first. */
import { TASK_STATUSES, type TaskListDocument, type TaskStatus } from "../../worker/src/contract.js";
import { asJson, callApi } from "../lib/api.js";
import { type CommandResult, UsageError } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";

/** The flags of `list`, as the command line gives them. */
export interface ListFlags {
  status?: string;
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

export interface ListOptions extends ListFlags {
  args: string[];
}

export async function listTasks(options: ListOptions): Promise<CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "list", rest: [] }, tokenRequired: true });
  if (options.status !== undefined && !TASK_STATUSES.includes(options.status as TaskStatus)) {
    throw new UsageError("invalid_option_value", `--status must be one of ${TASK_STATUSES.join(", ")}, got "${options.status}"`, "Give one of the statuses, e.g. --status running.");
  }
  const query = new URLSearchParams();
  if (options.limit !== undefined) query.set("limit", String(options.limit));
  if (options.cursor !== undefined) query.set("cursor", options.cursor);
  if (options.status !== undefined) query.set("status", options.status);
  const secrets = [target.token];
  const answer = await callApi<TaskListDocument>(target, `/tasks${query.size > 0 ? `?${query}` : ""}`, { expect: [200] });
  return answer.ok ? { output: asJson(answer.body), ok: true, secrets } : { output: answer.failure, ok: false, secrets };
}
