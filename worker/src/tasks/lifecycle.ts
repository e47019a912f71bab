/**
 * A task's lifecycle as pure functions: which status follows which trigger,
 * how a run of Claude Code ends, when the task's alarm must fire next and how
 * long a queued task waits before it asks for a container again. The Task
 * Durable Object (task-object.ts) only applies what these functions decide.
 *
 *   queued ──container──▶ running ──claude ended──▶ succeeded | failed
 *     │                     │  └────deadline───────▶ timed_out
 *     │                     │  └────container lost─▶ failed (platform_interrupted)
 *     ├──queue timeout─▶ failed (sandbox_unavailable)
 *     └──cancel──────────┴──cancel────────────────▶ cancelled
 */
import {
  REPOSITORY_STEPS_GRACE_MS,
  TERMINAL_STATUSES,
  type TaskError,
  type TaskErrorCode,
  type TaskStatus,
  type TerminalStatus,
} from "../contract.js";

/** What happened to a task. */
export type LifecycleTrigger =
  | { kind: "container_acquired" }
  | { kind: "container_unavailable" }
  | { kind: "queue_timeout"; queueTimeoutMs: number }
  | { kind: "claude_ended"; outcome: RunOutcome }
  | { kind: "deadline_passed"; timeoutMs: number }
  | { kind: "container_lost" }
  | { kind: "cancel" };

/** The result of applying a trigger. */
export type Transition =
  /** The task moves to (or stays in) this non-terminal status. */
  | { kind: "status"; status: "queued" | "running" }
  /** The task ends with this status and error (null when it succeeded). */
  | { kind: "end"; status: TerminalStatus; error: TaskError | null }
  /** The trigger means nothing in this status (a terminal status never changes). */
  | { kind: "ignored" };

/** How a run of Claude Code ended, as far as the sandbox and Claude Code's last message tell. */
export type RunOutcome =
  | { status: "succeeded"; error: null }
  | { status: "failed" | "timed_out"; error: TaskError };

export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

function end(status: TerminalStatus, code: TaskErrorCode | null, message = ""): Transition {
  return { kind: "end", status, error: code === null ? null : { code, message } };
}

/** The status a task moves to when `trigger` happens in `status`. */
export function transition(status: TaskStatus, trigger: LifecycleTrigger): Transition {
  if (isTerminal(status)) return { kind: "ignored" };
  switch (trigger.kind) {
    case "cancel":
      return end("cancelled", "task_cancelled", "The task was cancelled");
    case "container_acquired":
      return status === "queued" ? { kind: "status", status: "running" } : { kind: "ignored" };
    case "container_unavailable":
      return status === "queued" ? { kind: "status", status: "queued" } : { kind: "ignored" };
    case "queue_timeout":
      return status === "queued"
        ? end("failed", "sandbox_unavailable", `No sandbox became available within ${trigger.queueTimeoutMs} ms`)
        : { kind: "ignored" };
    case "claude_ended":
      return status === "running" ? { kind: "end", ...trigger.outcome } : { kind: "ignored" };
    case "deadline_passed":
      return status === "running"
        ? end("timed_out", "task_timeout", `The task did not finish within ${trigger.timeoutMs} ms`)
        : { kind: "ignored" };
    case "container_lost":
      return status === "running"
        ? end("failed", "platform_interrupted", "The sandbox was lost before Claude Code finished")
        : { kind: "ignored" };
  }
}

/** What Claude Code's final `result` message said (stream-json). */
export interface ClaudeFinal {
  subtype: string | null;
  isError: boolean;
  /** Claude Code's own error texts (`errors`), already redacted. */
  errors: string[];
}

/** The exit code of `timeout(1)` when it stopped Claude Code at the task timeout. */
export const TIMEOUT_EXIT_CODE = 124;

/** What a process killed by `timeout(1)`'s KILL ends with: no exit code, or 137 (128 + 9). */
const KILLED_EXIT_CODES: readonly (number | null)[] = [null, 137];

/**
 * How much earlier than `startedAt` `timeout(1)` may have started counting:
 * it starts with the process, before the answer that the process started
 * reaches the task's object (and `startedAt` is recorded).
 */
export const TIMEOUT_CLOCK_SLACK_MS = 1_000;

/**
 * How a run ended. Claude Code's final `result` message decides (it can exit 0
 * after a failed model call); the exit code speaks only when there is none.
 * `elapsedMs` tells `timeout(1)` stopping Claude Code at the task timeout (exit
 * 124, or killed) apart from the same codes earlier; it is counted from
 * `startedAt`, up to TIMEOUT_CLOCK_SLACK_MS after `timeout(1)` started counting.
 */
export function runOutcome(input: {
  final: ClaudeFinal | null;
  /** Null when the process ended without one (stopped by a signal). */
  exitCode: number | null;
  elapsedMs: number;
  timeoutMs: number;
}): RunOutcome {
  const { final, exitCode } = input;
  if ((exitCode === TIMEOUT_EXIT_CODE || KILLED_EXIT_CODES.includes(exitCode)) && input.elapsedMs >= input.timeoutMs - TIMEOUT_CLOCK_SLACK_MS) {
    return { status: "timed_out", error: { code: "task_timeout", message: `The task did not finish within ${input.timeoutMs} ms` } };
  }
  if (final) {
    const detail = final.errors.length > 0 ? `: ${final.errors.join("; ").slice(0, 500)}` : "";
    if (final.subtype === "error_max_turns") {
      return { status: "failed", error: { code: "max_turns_reached", message: "Claude Code stopped at the maxTurns limit" } };
    }
    if (final.subtype === "error_max_budget_usd") {
      return { status: "failed", error: { code: "budget_exceeded", message: `Claude Code stopped at the maxBudgetUsd limit${detail}` } };
    }
    if (final.isError || (final.subtype !== null && final.subtype !== "success")) {
      return { status: "failed", error: { code: "claude_error", message: `Claude Code reported an error (${final.subtype ?? "unknown"})${detail}` } };
    }
  }
  if (exitCode === null) {
    return { status: "failed", error: { code: "claude_exit_nonzero", message: "Claude Code was stopped without an exit code" } };
  }
  if (exitCode !== 0) {
    return { status: "failed", error: { code: "claude_exit_nonzero", message: `Claude Code exited with code ${exitCode}` } };
  }
  if (!final) {
    return { status: "failed", error: { code: "claude_error", message: "Claude Code ended without a result" } };
  }
  return { status: "succeeded", error: null };
}

/** Timing of one task, in epoch ms. */
export interface TaskClock {
  status: TaskStatus;
  /**
   * When its wait for a container started (its acceptance; for a repository
   * task, its turn on the branch), or null while it waits behind other tasks
   * on its branch: no queue deadline runs then.
   */
  queueStartedAt: number | null;
  /** When it got its container. */
  startedAt: number | null;
  timeoutMs: number;
  graceMs: number;
  queueTimeoutMs: number;
  /** When a queued task asks for a container next. */
  nextAttemptAt: number | null;
}

/** Longest time between two alarms of a running task: the watchdog that reattaches after an eviction. */
export const WATCHDOG_INTERVAL_MS = 30_000;

/** When a queued task gives up on getting a container; null while it waits for its branch. */
export function queueDeadline(clock: Pick<TaskClock, "queueStartedAt" | "queueTimeoutMs">): number | null {
  return clock.queueStartedAt === null ? null : clock.queueStartedAt + clock.queueTimeoutMs;
}

/**
 * The wait beyond a task's timeout before the Durable Object ends it: the
 * deployment's grace, plus for a repository task its steps before and after
 * Claude Code (checkout or restore; commit, push and archive).
 */
export function taskGraceMs(submission: { graceMs: number; repository: unknown }): number {
  return submission.graceMs + (submission.repository ? REPOSITORY_STEPS_GRACE_MS : 0);
}

/** When a running task is ended by the Durable Object whatever the container says. */
export function runDeadline(clock: Pick<TaskClock, "startedAt" | "timeoutMs" | "graceMs">): number | null {
  return clock.startedAt === null ? null : clock.startedAt + clock.timeoutMs + clock.graceMs;
}

/** When the task's alarm must fire next, or null when a task in this status needs none. */
export function nextAlarmAt(clock: TaskClock, now: number): number | null {
  switch (clock.status) {
    case "queued": {
      const next = clock.nextAttemptAt ?? now;
      const deadline = queueDeadline(clock);
      return deadline === null ? next : Math.min(next, deadline);
    }
    case "running":
      return Math.min(now + WATCHDOG_INTERVAL_MS, runDeadline(clock) ?? now);
    default:
      return null;
  }
}

/**
 * Wait before the next request for a container after `attempt` failed ones:
 * 1 s doubling to at most 30 s, with up to 20 % random spread so queued tasks
 * do not ask in step. `random` is in [0, 1).
 */
export function queueBackoffMs(attempt: number, random: number): number {
  const base = Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 + 0.2 * random));
}
