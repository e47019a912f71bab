/**
 * New task: the task's text and every optional field of `POST /tasks`, the
 * repository fields and the task to follow up included. Empty fields are
 * left out, so the deployment's defaults apply. The API checks every value;
 * its refusal is shown as it answered.
 */
import { useState } from "preact/hooks";
import { LIMITS, PERMISSION_MODES, type PermissionMode } from "../../../worker/src/contract.js";
import type { Api } from "../api.js";
import { routeHash } from "../routes.js";
import { EMPTY_TASK_FORM, taskRequestBody, type TaskFormValues } from "../task-form.js";
import { describeError, ErrorNotice } from "./common.js";

type TextField = { [Key in keyof TaskFormValues]: TaskFormValues[Key] extends string ? Key : never }[keyof TaskFormValues];

export function NewTaskView({ api, continueFrom }: { api: Api; continueFrom: string | null }) {
  const [values, setValues] = useState<TaskFormValues>({ ...EMPTY_TASK_FORM, continueFrom: continueFrom ?? "" });
  const [error, setError] = useState<string | null>(null);
  const [invalid, setInvalid] = useState<keyof TaskFormValues | null>(null);
  const [busy, setBusy] = useState(false);

  const set = <Key extends keyof TaskFormValues>(key: Key, value: TaskFormValues[Key]) => setValues((current) => ({ ...current, [key]: value }));
  const text = (key: TextField) => ({
    id: `field-${key}`,
    value: values[key],
    "aria-invalid": invalid === key,
    onInput: (event: Event) => set(key, (event.currentTarget as HTMLInputElement).value),
  });
  const following = values.continueFrom.trim() !== "";

  const submit = async (event: Event) => {
    event.preventDefault();
    const outcome = taskRequestBody(values);
    if (!outcome.ok) {
      setInvalid(outcome.field);
      setError(outcome.message);
      document.getElementById(`field-${outcome.field}`)?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    setInvalid(null);
    try {
      const task = await api.submitTask(outcome.body);
      window.location.hash = routeHash({ view: "task", taskId: task.taskId });
    } catch (failure) {
      setError(`The task was not accepted: ${describeError(failure)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title" tabIndex={-1}>
        {following ? "Follow up" : "New task"}
      </h1>
      <form class="task-form" onSubmit={submit} noValidate>
        <div class="field">
          <label for="field-task">Task</label>
          <textarea {...text("task")} rows={8} required maxLength={LIMITS.maxTaskLength} aria-describedby="task-help" />
          <p id="task-help" class="help">
            What Claude Code should do. Everything else is optional: empty fields take the deployment's defaults.
          </p>
        </div>

        <fieldset>
          <legend>Run</legend>
          <div class="grid">
            <div class="field">
              <label for="field-timeoutSeconds">Timeout (seconds)</label>
              <input {...text("timeoutSeconds")} type="number" inputMode="numeric" min={LIMITS.minTimeoutMs / 1000} step="1" />
            </div>
            <div class="field">
              <label for="field-model">Model</label>
              <input {...text("model")} list="models" autoComplete="off" spellcheck={false} />
              <datalist id="models">
                <option value="sonnet" />
                <option value="opus" />
                <option value="haiku" />
              </datalist>
            </div>
            <div class="field">
              <label for="field-maxTurns">Max turns</label>
              <input {...text("maxTurns")} type="number" inputMode="numeric" min={1} max={LIMITS.maxTurns} step="1" />
            </div>
            <div class="field">
              <label for="field-permissionMode">Permission mode</label>
              <select
                id="field-permissionMode"
                value={values.permissionMode}
                onChange={(event) => set("permissionMode", event.currentTarget.value as PermissionMode | "")}
              >
                <option value="">Deployment default</option>
                {PERMISSION_MODES.map((mode) => (
                  <option value={mode}>{mode}</option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="field-maxBudgetUsd">Max budget (USD)</label>
              <input {...text("maxBudgetUsd")} type="number" inputMode="decimal" min="0" step="0.01" />
            </div>
            <div class="field">
              <label for="field-callbackUrl">Webhook URL</label>
              <input {...text("callbackUrl")} type="url" autoComplete="off" spellcheck={false} placeholder="https://" />
            </div>
          </div>
        </fieldset>

        <fieldset>
          <legend>Repository</legend>
          <p class="help">
            {following
              ? "A follow-up goes on with the earlier task's repository, branch and Claude session."
              : "Claude works on a branch of this repository; the task hands back the patch, and can push the branch or open a pull request."}
          </p>
          <div class="grid">
            <div class="field">
              <label for="field-continueFrom">Follow up on task</label>
              <input {...text("continueFrom")} autoComplete="off" spellcheck={false} placeholder="task id" />
            </div>
            <div class="field wide">
              <label for="field-repoUrl">Repository URL</label>
              <input {...text("repoUrl")} type="url" disabled={following} autoComplete="off" spellcheck={false} placeholder="https://github.com/owner/repo" />
            </div>
            <div class="field">
              <label for="field-repoRef">Ref</label>
              <input {...text("repoRef")} disabled={following} autoComplete="off" spellcheck={false} placeholder="default branch" />
            </div>
            <div class="field">
              <label for="field-branch">Branch</label>
              <input {...text("branch")} disabled={following} autoComplete="off" spellcheck={false} placeholder="claude/<task id>" />
            </div>
          </div>
          <label class="check">
            <input type="checkbox" checked={values.push || values.pullRequest} disabled={values.pullRequest} onChange={(event) => set("push", event.currentTarget.checked)} /> Push
            the branch
          </label>
          <label class="check">
            <input type="checkbox" checked={values.pullRequest} onChange={(event) => set("pullRequest", event.currentTarget.checked)} /> Open a pull request
          </label>
          {values.pullRequest && (
            <div class="grid">
              <div class="field wide">
                <label for="field-pullRequestTitle">Pull request title</label>
                <input {...text("pullRequestTitle")} placeholder="the task's first line" />
              </div>
              <div class="field wide">
                <label for="field-pullRequestBody">Pull request description</label>
                <textarea {...text("pullRequestBody")} rows={4} />
              </div>
            </div>
          )}
        </fieldset>

        <ErrorNotice error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Submitting…" : "Run task"}
        </button>
      </form>
    </section>
  );
}
