/**
 * `submit [url] [token] [options] [--] <task>`: hands a task to the deployment
 * and prints its status document at once (202). The task runs to its end
 * whether or not anyone follows it: `events --follow`, `wait` and `result` read
 * it later. With `--repo` the task works on a branch of a repository; with
 * `--continue` it follows up an earlier repository task. The API checks every
 * value; the CLI refuses only the combinations it can see are wrong.
 */
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import { type ApiAnswer, asJson, callApi } from "../lib/api.js";
import { type CommandResult, type JsonObject, UsageError } from "../lib/result.js";
import { resolveTarget, type Target } from "../lib/target.js";

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

/** The repository fields of `POST /tasks`, as the flags give them. */
export interface RepositorySettings {
  /** `--repo`: the https URL of the repository to check out. */
  repo?: string;
  /** `--ref`: the branch, tag or commit to check out. */
  ref?: string;
  /** `--branch`: the work branch. */
  branch?: string;
  /** `--push`: push the work branch. */
  push?: boolean;
  /** `--pr`: open a pull request from the work branch. */
  pullRequest?: boolean;
  /** `--pr-title` */
  pullRequestTitle?: string;
  /** `--pr-body` */
  pullRequestBody?: string;
  /** `--continue`: the id of the task to follow up. */
  continueFrom?: string;
}

/** The flags of `submit`, as the command line gives them. */
export interface SubmitFlags {
  timeout?: number;
  model?: string;
  maxTurns?: number;
  permissionMode?: string;
  maxBudgetUsd?: number;
  callbackUrl?: string;
  repo?: string;
  ref?: string;
  branch?: string;
  push?: boolean;
  pr?: boolean;
  prTitle?: string;
  prBody?: string;
  continue?: string;
}

export interface SubmitOptions extends TaskSettings, RepositorySettings {
  args: string[];
}

/**
 * The repository fields of the body, under the API's names. Throws a
 * UsageError for a combination the API would refuse whatever the values are.
 */
export function repositoryFields(settings: RepositorySettings): JsonObject {
  const followUp = settings.continueFrom !== undefined;
  if (followUp && settings.repo !== undefined) {
    throw new UsageError("conflicting_options", "--continue cannot be given with --repo", "A follow-up works on the earlier task's repository and branch: leave out --repo, --ref and --branch.");
  }
  if (followUp && settings.branch !== undefined) {
    throw new UsageError("conflicting_options", "--continue cannot be given with --branch", "A follow-up works on the earlier task's branch: leave out --branch.");
  }
  if (followUp && settings.ref !== undefined) {
    throw new UsageError("conflicting_options", "--continue cannot be given with --ref", "A follow-up works on the earlier task's working tree: leave out --ref.");
  }
  if (settings.repo === undefined && !followUp) {
    const given = (["ref", "branch", "push", "pullRequest"] as const).find((key) => settings[key] !== undefined);
    if (given !== undefined) {
      const flag = { ref: "--ref", branch: "--branch", push: "--push", pullRequest: "--pr" }[given];
      throw new UsageError("missing_option", `${flag} needs a repository`, "Give the repository with --repo <url>, or the earlier task with --continue <taskId>.");
    }
  }
  if (settings.pullRequest === undefined) {
    const given = settings.pullRequestTitle !== undefined ? "--pr-title" : settings.pullRequestBody !== undefined ? "--pr-body" : undefined;
    if (given !== undefined) throw new UsageError("missing_option", `${given} needs --pr`, "Add --pr to open a pull request with this title and body.");
  }

  const fields: JsonObject = {};
  if (settings.repo !== undefined) fields.repo = { url: settings.repo, ...(settings.ref === undefined ? {} : { ref: settings.ref }) };
  if (settings.branch !== undefined) fields.branch = settings.branch;
  if (settings.push !== undefined) fields.push = settings.push;
  if (settings.pullRequest !== undefined) {
    const text = { ...(settings.pullRequestTitle === undefined ? {} : { title: settings.pullRequestTitle }), ...(settings.pullRequestBody === undefined ? {} : { body: settings.pullRequestBody }) };
    fields.pullRequest = Object.keys(text).length > 0 ? text : settings.pullRequest;
  }
  if (settings.continueFrom !== undefined) fields.continueFrom = settings.continueFrom;
  return fields;
}

/** The body of `POST /tasks`: the task and the settings that were given, under the API's names. */
function taskBody(task: string, settings: TaskSettings & RepositorySettings): JsonObject {
  const body: JsonObject = { task };
  if (settings.timeoutMs !== undefined) body.timeout = settings.timeoutMs;
  if (settings.model !== undefined) body.model = settings.model;
  if (settings.maxTurns !== undefined) body.maxTurns = settings.maxTurns;
  if (settings.permissionMode !== undefined) body.permissionMode = settings.permissionMode;
  if (settings.maxBudgetUsd !== undefined) body.maxBudgetUsd = settings.maxBudgetUsd;
  if (settings.callbackUrl !== undefined) body.callbackUrl = settings.callbackUrl;
  return { ...body, ...repositoryFields(settings) };
}

/** Sends a task to `POST /tasks`: its status document (202), or the failure to print. */
export function sendTask(target: Pick<Target, "url" | "token">, task: string, settings: TaskSettings & RepositorySettings): Promise<ApiAnswer<TaskStatusDocument>> {
  return callApi<TaskStatusDocument>(target, "/tasks", { method: "POST", json: taskBody(task, settings), expect: [202] });
}

/** The task text of the positional arguments; an empty one is a usage mistake. */
export function taskText(target: Target): string {
  const task = target.rest[0]!;
  if (task.trim() === "") throw new UsageError("task_required", "The task is empty", "Give the task text as the last argument.");
  return task;
}

/** The settings of a task as `submit` and `execute-task` take them from their flags. */
export function taskSettings(flags: SubmitFlags): TaskSettings & RepositorySettings {
  const { timeout, pr, prTitle, prBody, continue: continueFrom, ...rest } = flags;
  const settings: TaskSettings & RepositorySettings = { ...rest };
  if (timeout !== undefined) settings.timeoutMs = timeout;
  if (pr !== undefined) settings.pullRequest = pr;
  if (prTitle !== undefined) settings.pullRequestTitle = prTitle;
  if (prBody !== undefined) settings.pullRequestBody = prBody;
  if (continueFrom !== undefined) settings.continueFrom = continueFrom;
  return settings;
}

export async function submitTask(options: SubmitOptions): Promise<CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "submit", rest: ["task"] }, tokenRequired: true });
  const task = taskText(target);
  const secrets = [target.token];
  const answer = await sendTask(target, task, options);
  if (!answer.ok) return { output: answer.failure, ok: false, secrets };
  return { output: asJson(answer.body), ok: true, secrets };
}
