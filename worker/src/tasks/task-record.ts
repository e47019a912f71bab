/**
 * The task record: the persisted state of one task, as its object keeps it
 * (task-store.ts); the record of a task just accepted; and, read from a
 * record by pure functions, the task's timing and when its object must wake
 * next. Plain data, so the documents built from it (task-documents.ts) are
 * pure functions too.
 */
import type { CallbackState, RepositoryDocument, TaskError, TaskStatus } from "../contract.js";
import type { ClaudeResultMessage } from "../events/stream-json.js";
import { isTerminal, nextAlarmAt, type RunOutcome, type TaskClock, taskGraceMs } from "./lifecycle.js";
import type { RepositoryPlan, TaskSubmission } from "./submission.js";

/** A repository task's part of the record: where it is, and what it produced so far. */
export interface RepositoryState {
  /** `waiting` (for its branch), `prepare` (checkout or restore), `claude`, `finish` (commit, push, pull request, workspace). */
  phase: "waiting" | "prepare" | "claude" | "finish";
  /** Tasks ahead of it on the same repository and branch (0: it may run). */
  position: number;
  /** When it reached the head of its branch's queue (its queue timeout counts from then). */
  headAt: number | null;
  /** Claude Code's outcome, kept while the finish step runs. */
  claudeOutcome: RunOutcome | null;
  document: RepositoryDocument;
  /** Whether the branch's queue was told that this task let the branch go. */
  branchLetGo?: boolean;
}

/** The persisted state of a task. */
export interface TaskRecord {
  submission: TaskSubmission;
  status: TaskStatus;
  startedAt: number | null;
  finishedAt: number | null;
  error: TaskError | null;
  /** Failed requests for a container so far. */
  queueAttempts: number;
  /** Failed starts that were not about capacity. */
  startFailures: number;
  nextAttemptAt: number | null;
  processId: string | null;
  /** Streams that ended without the process's exit, in a row. */
  lostStreams: number;
  /** `uuid` of the last stream-json message turned into events: where a reattached stream resumes. */
  lastLineUuid: string | null;
  eventCount: number;
  exitCode: number | null;
  /** Claude Code's final `result` message, once seen. */
  final: ClaudeResultMessage | null;
  /** Whether the result and events are in R2. */
  archived: boolean;
  /** Whether the ended task's container was stopped and destroyed (or given up on). */
  containerDestroyed?: boolean;
  /** Failed attempts to store them. */
  storeFailures: number;
  /** Webhook delivery, when the task has a `callbackUrl`. */
  callback: (CallbackState & { nextAttemptAt: number | null }) | null;
  /** A repository task's part; null for a task without a repository. */
  repository: RepositoryState | null;
}

/** The record of a task just accepted: queued, nothing run, its first request for a container due now. */
export function newTaskRecord(submission: TaskSubmission, now: number): TaskRecord {
  return {
    submission,
    status: "queued",
    startedAt: null,
    finishedAt: null,
    error: null,
    queueAttempts: 0,
    startFailures: 0,
    nextAttemptAt: now,
    processId: null,
    lostStreams: 0,
    lastLineUuid: null,
    eventCount: 0,
    exitCode: null,
    final: null,
    archived: false,
    storeFailures: 0,
    callback: null,
    repository: submission.repository
      ? {
          phase: "waiting",
          position: 0,
          headAt: null,
          claudeOutcome: null,
          document: initialRepositoryDocument(submission.repository, submission.taskId),
        }
      : null,
  };
}

/** The repository document of a task before anything ran. */
export function initialRepositoryDocument(plan: RepositoryPlan, taskId: string): RepositoryDocument {
  return {
    url: plan.repo.url,
    ref: plan.repo.ref,
    branch: plan.branch,
    defaultBranch: plan.defaultBranch,
    push: plan.push,
    pullRequestRequested: plan.pullRequest !== null,
    base: null,
    head: null,
    diffStat: null,
    pushed: false,
    pullRequest: null,
    artifacts: { "changes.patch": `/tasks/${taskId}/artifacts/changes.patch` },
  };
}

/** Waits before storing the result again after R2 refused it: 5 s after the first refusal, then every 30 s. */
export const ARCHIVE_RETRY_MS = [5_000, 30_000] as const;

/** The task's timing, as the lifecycle's rules read it. */
export function taskClock(record: TaskRecord): TaskClock {
  const { submission, repository } = record;
  return {
    status: record.status,
    // A repository task's wait for a container counts from its turn on the branch; none runs while others are ahead.
    queueStartedAt: repository ? (repository.position > 0 ? null : (repository.headAt ?? submission.createdAt)) : submission.createdAt,
    startedAt: record.startedAt,
    timeoutMs: submission.request.timeoutMs,
    graceMs: taskGraceMs(submission),
    queueTimeoutMs: submission.queueTimeoutMs,
    nextAttemptAt: record.nextAttemptAt,
  };
}

/**
 * When the task's object must wake next, or null when nothing is left to do:
 * a task that has not ended follows the lifecycle's alarm; an ended one
 * retries what its wrap-up left undone (a refused R2 write, a branch not yet
 * let go, a webhook to deliver again).
 */
export function nextWakeAt(record: TaskRecord, now: number): number | null {
  if (!isTerminal(record.status)) return nextAlarmAt(taskClock(record), now);
  if (!record.archived) return now + (record.storeFailures <= 1 ? ARCHIVE_RETRY_MS[0] : ARCHIVE_RETRY_MS[1]);
  if (record.repository && !record.repository.branchLetGo) return now + ARCHIVE_RETRY_MS[1];
  return record.callback && !record.callback.delivered ? record.callback.nextAttemptAt : null;
}
