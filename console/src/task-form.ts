/**
 * The New task form's values and the `POST /tasks` body they make: every
 * field of the API, the repository fields and `continueFrom` included. Pure.
 * Only what the form itself can tell is checked here (a number that is not
 * one, a follow-up given a repository); the API checks the rest and its
 * answer is shown as it is.
 */
import type { PermissionMode } from "../../worker/src/contract.js";

/** What the form holds: text inputs as typed, checkboxes as booleans. */
export interface TaskFormValues {
  task: string;
  /** Seconds. */
  timeoutSeconds: string;
  model: string;
  maxTurns: string;
  /** "" for the deployment's default. */
  permissionMode: PermissionMode | "";
  maxBudgetUsd: string;
  callbackUrl: string;
  repoUrl: string;
  repoRef: string;
  branch: string;
  push: boolean;
  pullRequest: boolean;
  pullRequestTitle: string;
  pullRequestBody: string;
  continueFrom: string;
}

export const EMPTY_TASK_FORM: TaskFormValues = {
  task: "",
  timeoutSeconds: "",
  model: "",
  maxTurns: "",
  permissionMode: "",
  maxBudgetUsd: "",
  callbackUrl: "",
  repoUrl: "",
  repoRef: "",
  branch: "",
  push: false,
  pullRequest: false,
  pullRequestTitle: "",
  pullRequestBody: "",
  continueFrom: "",
};

/** A body for `POST /tasks`, or the field the form must fix first and why. */
export type TaskFormOutcome =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; field: keyof TaskFormValues; message: string };

function wholeNumber(text: string): number | null {
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** The request body the form's values make. */
export function taskRequestBody(values: TaskFormValues): TaskFormOutcome {
  if (values.task.trim() === "") return { ok: false, field: "task", message: "Describe the task." };
  const body: Record<string, unknown> = { task: values.task };

  const timeout = values.timeoutSeconds.trim();
  if (timeout !== "") {
    const seconds = Number(timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) return { ok: false, field: "timeoutSeconds", message: "The timeout is a number of seconds." };
    body.timeout = Math.round(seconds * 1000);
  }
  if (values.model.trim() !== "") body.model = values.model.trim();
  if (values.maxTurns.trim() !== "") {
    const turns = wholeNumber(values.maxTurns.trim());
    if (turns === null) return { ok: false, field: "maxTurns", message: "Max turns is a whole number." };
    body.maxTurns = turns;
  }
  if (values.permissionMode !== "") body.permissionMode = values.permissionMode;
  if (values.maxBudgetUsd.trim() !== "") {
    const budget = Number(values.maxBudgetUsd.trim());
    if (!Number.isFinite(budget)) return { ok: false, field: "maxBudgetUsd", message: "The budget is an amount in USD." };
    body.maxBudgetUsd = budget;
  }
  if (values.callbackUrl.trim() !== "") body.callbackUrl = values.callbackUrl.trim();

  const continueFrom = values.continueFrom.trim();
  const repoUrl = values.repoUrl.trim();
  if (continueFrom !== "") {
    if (repoUrl !== "" || values.repoRef.trim() !== "" || values.branch.trim() !== "") {
      return { ok: false, field: "continueFrom", message: "A follow-up works on the earlier task's repository and branch: leave the repository, ref and branch empty." };
    }
    body.continueFrom = continueFrom;
  } else if (repoUrl !== "") {
    body.repo = values.repoRef.trim() === "" ? { url: repoUrl } : { url: repoUrl, ref: values.repoRef.trim() };
    if (values.branch.trim() !== "") body.branch = values.branch.trim();
  } else if (values.repoRef.trim() !== "" || values.branch.trim() !== "") {
    return { ok: false, field: "repoUrl", message: "A ref or branch needs the repository's URL." };
  }
  const hasRepository = continueFrom !== "" || repoUrl !== "";
  if ((values.push || values.pullRequest) && !hasRepository) {
    return { ok: false, field: "repoUrl", message: "Pushing a branch or opening a pull request needs a repository or a task to follow up." };
  }
  if (values.pullRequest) {
    const title = values.pullRequestTitle.trim();
    const text = values.pullRequestBody;
    body.pullRequest = title === "" && text.trim() === "" ? true : { ...(title === "" ? {} : { title }), ...(text.trim() === "" ? {} : { body: text }) };
  } else if (values.push) {
    body.push = true;
  }
  return { ok: true, body };
}
