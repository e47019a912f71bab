/** The lifecycle's pure rules, as tables: transitions, outcomes, alarms and backoff. */
import { describe, expect, it } from "vitest";
import { LIMITS, TASK_STATUSES, type TaskStatus } from "../../worker/src/contract.js";
import {
  type ClaudeFinal,
  type LifecycleTrigger,
  nextAlarmAt,
  queueBackoffMs,
  queueDeadline,
  runOutcome,
  TIMEOUT_CLOCK_SLACK_MS,
  taskGraceMs,
  transition,
  WATCHDOG_INTERVAL_MS,
} from "../../worker/src/tasks/lifecycle.js";
import { replacesStored } from "../../worker/src/tasks/task-index.js";

const succeeded = { kind: "claude_ended", outcome: { status: "succeeded", error: null } } as const satisfies LifecycleTrigger;

const triggers: [string, LifecycleTrigger][] = [
  ["cancel", { kind: "cancel" }],
  ["container_acquired", { kind: "container_acquired" }],
  ["container_unavailable", { kind: "container_unavailable" }],
  ["queue_timeout", { kind: "queue_timeout", queueTimeoutMs: 1000 }],
  ["claude_ended", succeeded],
  ["deadline_passed", { kind: "deadline_passed", timeoutMs: 1000 }],
  ["container_lost", { kind: "container_lost" }],
];

/** status → trigger → the resulting status ("-" when the trigger means nothing). */
const expected: Record<TaskStatus, Record<string, string>> = {
  queued: {
    cancel: "cancelled",
    container_acquired: "running",
    container_unavailable: "queued",
    queue_timeout: "failed",
    claude_ended: "-",
    deadline_passed: "-",
    container_lost: "-",
  },
  running: {
    cancel: "cancelled",
    container_acquired: "-",
    container_unavailable: "-",
    queue_timeout: "-",
    claude_ended: "succeeded",
    deadline_passed: "timed_out",
    container_lost: "failed",
  },
  succeeded: {},
  failed: {},
  timed_out: {},
  cancelled: {},
};

describe("transition", () => {
  const cases = TASK_STATUSES.flatMap((status) => triggers.map(([name, trigger]) => [status, name, trigger] as const));
  it.each(cases)("%s + %s", (status, name, trigger) => {
    const result = transition(status, trigger);
    const wanted = expected[status][name] ?? "-";
    if (wanted === "-") expect(result).toEqual({ kind: "ignored" });
    else expect("status" in result ? result.status : undefined).toBe(wanted);
  });

  it.each([
    [{ kind: "cancel" }, "queued", { code: "task_cancelled", message: "The task was cancelled" }],
    [{ kind: "queue_timeout", queueTimeoutMs: 600000 }, "queued", { code: "sandbox_unavailable", message: "No sandbox became available within 600000 ms" }],
    [{ kind: "deadline_passed", timeoutMs: 5000 }, "running", { code: "task_timeout", message: "The task did not finish within 5000 ms" }],
    [{ kind: "container_lost" }, "running", { code: "platform_interrupted", message: "The sandbox was lost before Claude Code finished" }],
  ] as [LifecycleTrigger, TaskStatus, unknown][])("%o from %s ends with its error code", (trigger, status, error) => {
    expect(transition(status, trigger)).toEqual({ kind: "end", status: expect.any(String), error });
  });
});

describe("runOutcome", () => {
  const final = (subtype: string, isError = subtype !== "success", errors: string[] = []): ClaudeFinal => ({ subtype, isError, errors });
  it.each([
    ["success, exit 0", final("success"), 0, 10, "succeeded", null],
    ["an error result with exit 0 (a failed model call)", final("error_during_execution"), 0, 10, "failed", "claude_error"],
    ["is_error on a success subtype", final("success", true), 0, 10, "failed", "claude_error"],
    ["max turns", final("error_max_turns"), 1, 10, "failed", "max_turns_reached"],
    ["budget", final("error_max_budget_usd"), 1, 10, "failed", "budget_exceeded"],
    ["success with a non-zero exit", final("success"), 3, 10, "failed", "claude_exit_nonzero"],
    ["no result, exit 0", null, 0, 10, "failed", "claude_error"],
    ["no result, exit 1", null, 1, 10, "failed", "claude_exit_nonzero"],
    ["exit 124 at the timeout", null, 124, 10_000, "timed_out", "task_timeout"],
    ["exit 124 with a result at the timeout", final("success"), 124, 10_000, "timed_out", "task_timeout"],
    ["killed (no exit code) at the timeout", null, null, 10_000, "timed_out", "task_timeout"],
    ["exit 137 at the timeout", null, 137, 15_000, "timed_out", "task_timeout"],
    // timeout(1) starts counting with the process, a moment before the object records startedAt.
    ["exit 124 just before the timeout as the object counts it", null, 124, 10_000 - TIMEOUT_CLOCK_SLACK_MS, "timed_out", "task_timeout"],
    ["killed just before the timeout as the object counts it", null, null, 9_990, "timed_out", "task_timeout"],
    ["exit 124 before the timeout", null, 124, 10_000 - TIMEOUT_CLOCK_SLACK_MS - 1, "failed", "claude_exit_nonzero"],
    ["killed before the timeout", null, null, 10, "failed", "claude_exit_nonzero"],
  ] as const)("%s", (_name, finalMessage, exitCode, elapsedMs, status, code) => {
    const outcome = runOutcome({ final: finalMessage, exitCode, elapsedMs, timeoutMs: 10_000 });
    expect(outcome.status).toBe(status);
    expect(outcome.error?.code ?? null).toBe(code);
  });

  it("quotes Claude Code's own errors in the message", () => {
    const outcome = runOutcome({ final: final("error_during_execution", true, ["API Error: 500"]), exitCode: 1, elapsedMs: 1, timeoutMs: 1000 });
    expect(outcome.error?.message).toBe("Claude Code reported an error (error_during_execution): API Error: 500");
  });
});

describe("nextAlarmAt", () => {
  const now = 1_000_000;
  const clock = { queueStartedAt: now - 1000, startedAt: null, timeoutMs: 60_000, graceMs: 30_000, queueTimeoutMs: 600_000, nextAttemptAt: null };
  it.each([
    ["a queued task asks again at its next attempt", { ...clock, status: "queued", nextAttemptAt: now + 4000 }, now + 4000],
    ["a queued task with no attempt planned asks now", { ...clock, status: "queued" }, now],
    ["a queued task never waits past its queue deadline", { ...clock, status: "queued", nextAttemptAt: now + 10_000_000 }, now - 1000 + 600_000],
    ["a task waiting for its branch has no queue deadline", { ...clock, status: "queued", queueStartedAt: null, nextAttemptAt: now + 10_000_000 }, now + 10_000_000],
    ["a running task wakes for the watchdog", { ...clock, status: "running", startedAt: now }, now + WATCHDOG_INTERVAL_MS],
    ["a running task wakes at its deadline when sooner", { ...clock, status: "running", startedAt: now - 85_000 }, now - 85_000 + 90_000],
    ["a finished task needs none", { ...clock, status: "succeeded" }, null],
  ] as const)("%s", (_name, input, wanted) => {
    expect(nextAlarmAt(input, now)).toBe(wanted);
  });
});

describe("queueDeadline", () => {
  it("counts the queue timeout from the start of the wait, and runs none while the task waits behind others", () => {
    expect(queueDeadline({ queueStartedAt: 5000, queueTimeoutMs: 1000 })).toBe(6000);
    expect(queueDeadline({ queueStartedAt: null, queueTimeoutMs: 1000 })).toBeNull();
  });
});

describe("taskGraceMs", () => {
  it("is the deployment's grace, plus both repository steps for a repository task", () => {
    expect(taskGraceMs({ graceMs: 30_000, repository: null })).toBe(30_000);
    expect(taskGraceMs({ graceMs: 30_000, repository: { branch: "b" } })).toBe(30_000 + 2 * LIMITS.repositoryStepSeconds * 1000);
  });
});

describe("queueBackoffMs", () => {
  it.each([
    [1, 0, 1000],
    [2, 0, 2000],
    [3, 0, 4000],
    [6, 0, 30_000],
    [50, 0, 30_000],
    [1, 0.999, 1200],
    [6, 0.5, 33_000],
  ])("attempt %i with spread %f waits %i ms", (attempt, random, wanted) => {
    expect(queueBackoffMs(attempt, random)).toBe(wanted);
  });
});

describe("replacesStored (the task index)", () => {
  it.each([
    [null, "queued", true],
    ["queued", "running", true],
    ["running", "queued", false],
    ["running", "succeeded", true],
    ["queued", "cancelled", true],
    ["succeeded", "succeeded", true],
    ["succeeded", "running", false],
    ["cancelled", "failed", false],
  ] as const)("%s then %s → %s", (stored, incoming, wanted) => {
    expect(replacesStored(stored, incoming)).toBe(wanted);
  });
});
