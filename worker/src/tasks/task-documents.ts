/**
 * The documents a task is seen through, built from its record by pure
 * functions: the status document (`GET /tasks/:id`, each entry of `GET /tasks`,
 * the webhook), the result (`GET /tasks/:id/result`, `POST /execute`, R2), the
 * events that end a task, and Claude Code's final message as the record keeps it.
 */
import { LIMITS, type RepositoryDocument, type TaskResult, type TaskStatusDocument, type TerminalStatus } from "../contract.js";
import type { ClaudeResultMessage, EventDraft } from "../events/stream-json.js";
import { redactorFor, redactSecrets } from "../redaction.js";
import { isTerminal } from "./lifecycle.js";
import type { TaskRecord } from "./task-record.js";

/** What the task object knows of a task's output when it builds the result. */
export interface TaskOutput {
  /**
   * The kept tails of Claude Code's stdout and stderr, and whether they lost
   * their beginning; null when nothing of them is known here (the object was
   * rebuilt after the task started and no stream replayed them).
   */
  streams: { stdout: string; stderr: string; truncated: boolean } | null;
  /** Claude's texts so far (its `text` events, the last of them when they are long). */
  texts: { text: string; truncated: boolean };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A task's title: its first non-blank line, cut to `LIMITS.titleLength` characters (never inside a surrogate pair). */
export function taskTitle(task: string): string {
  const line = task.split(/\r?\n/).find((candidate) => candidate.trim().length > 0)?.trim() ?? "";
  const characters = [...line];
  return characters.length <= LIMITS.titleLength ? line : `${characters.slice(0, LIMITS.titleLength - 1).join("")}…`;
}

/** Whether the task ended and R2 refused its result (it is retried meanwhile). */
export function storeFailed(record: TaskRecord): boolean {
  return isTerminal(record.status) && !record.archived && record.storeFailures > 0;
}

/** The repository fields of both documents: what a repository task worked on and handed back. */
function repositoryFields(record: TaskRecord): { repository?: RepositoryDocument; continuedFrom?: string } {
  const plan = record.submission.repository;
  if (!plan || !record.repository) return {};
  return { repository: record.repository.document, ...(plan.continuedFrom ? { continuedFrom: plan.continuedFrom } : {}) };
}

/** The status document of a task, as it is now; `secrets` are redacted from its title. */
export function statusDocument(record: TaskRecord, secrets: readonly string[]): TaskStatusDocument {
  const { taskId, createdAt, request } = record.submission;
  const self = `/tasks/${taskId}`;
  return {
    taskId,
    title: redactSecrets(taskTitle(request.task), secrets),
    status: record.status,
    createdAt: new Date(createdAt).toISOString(),
    startedAt: iso(record.startedAt),
    finishedAt: iso(record.finishedAt),
    durationMs: record.finishedAt === null ? null : record.finishedAt - (record.startedAt ?? createdAt),
    timeoutMs: request.timeoutMs,
    eventCount: record.eventCount,
    usage: record.final?.usage ?? null,
    error: record.error,
    ...(record.callback
      ? { callback: { attempts: record.callback.attempts, delivered: record.callback.delivered, lastStatus: record.callback.lastStatus } }
      : request.callbackUrl !== undefined
        ? { callback: { attempts: 0, delivered: false, lastStatus: null } }
        : {}),
    ...repositoryFields(record),
    ...(record.submission.submittedBy === undefined ? {} : { submittedBy: record.submission.submittedBy }),
    ...(record.status === "queued" && record.repository && record.repository.position > 0 ? { queuePosition: record.repository.position } : {}),
    links: { self, events: `${self}/events`, result: `${self}/result`, cancel: `${self}/cancel` },
  };
}

/**
 * The result of an ended task. `output` is what a person reads: Claude's final
 * text when it gave one; for a task that ended without one (cancelled, timed
 * out, interrupted), its texts so far; else stderr. stdout and stderr are
 * redacted of the deployment's `secrets` here, whatever the container printed.
 */
export function taskResult(record: TaskRecord, output: TaskOutput, secrets: readonly string[], now: number): TaskResult {
  const status = record.status as TerminalStatus;
  const stdout = redactSecrets(output.streams?.stdout ?? "", secrets);
  const stderr = redactSecrets(output.streams?.stderr ?? "", secrets);
  const result = record.final?.result ?? "";
  const finished = record.finishedAt ?? now;
  const shown = record.final === null && output.texts.text.trim().length > 0 ? output.texts.text : result.trim().length > 0 ? result : stderr;
  // After an eviction without a replay, nothing of the output is known here any more.
  const outputLost = record.startedAt !== null && output.streams === null;
  return {
    taskId: record.submission.taskId,
    status,
    success: status === "succeeded",
    exitCode: record.exitCode,
    stdout,
    stderr,
    output: shown,
    result,
    usage: record.final?.usage ?? null,
    timedOut: status === "timed_out",
    truncated: outputLost || (output.streams?.truncated ?? false),
    ...(record.error === null ? {} : { error: record.error }),
    startedAt: iso(record.startedAt),
    timestamp: new Date(finished).toISOString(),
    durationMs: finished - (record.startedAt ?? record.submission.createdAt),
    ...repositoryFields(record),
  };
}

/**
 * Claude Code's final `result` message as the record keeps it: every text
 * from the container redacted of the deployment's `secrets` (Claude's text,
 * the errors, the session id and the models' names), so the status document,
 * the result, the index and the webhook built from it hold none of them. Its
 * size was bounded when it was read (events/stream-json.ts).
 */
export function storedFinal(final: ClaudeResultMessage, secrets: readonly string[]): ClaudeResultMessage {
  const redact = redactorFor(secrets);
  const { usage } = final;
  return {
    ...final,
    result: redact(final.result),
    errors: final.errors.map(redact),
    usage: {
      ...usage,
      sessionId: usage.sessionId === null ? null : redact(usage.sessionId),
      models: usage.models === null ? null : Object.fromEntries(Object.entries(usage.models).map(([model, counts]) => [redact(model), counts])),
    },
  };
}

/** The last two events of an ended task (its status and error already set): `result`, then `end`. */
export function endEvents(record: TaskRecord): EventDraft[] {
  const status = record.status as TerminalStatus;
  return [
    {
      type: "result",
      data: {
        success: status === "succeeded",
        error: record.error,
        usage: record.final?.usage ?? null,
        ...(record.repository ? { repository: record.repository.document } : {}),
      },
    },
    { type: "end", data: { status } },
  ];
}
