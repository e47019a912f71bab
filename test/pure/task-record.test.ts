/**
 * What a task's record says about time: the clock the lifecycle's rules read,
 * and when the task's object must wake next, for every state a task can be in.
 */
import { describe, expect, it } from "vitest";
import { REPOSITORY_STEPS_GRACE_MS } from "../../worker/src/contract.js";
import { WATCHDOG_INTERVAL_MS } from "../../worker/src/tasks/lifecycle.js";
import type { TaskSubmission } from "../../worker/src/tasks/submission.js";
import { ARCHIVE_RETRY_MS, newTaskRecord, nextWakeAt, type TaskRecord, taskClock } from "../../worker/src/tasks/task-record.js";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const CREATED = NOW - 60_000;

const plain: TaskSubmission = {
  taskId: "01a24a4b-bfa4-7006-8715-3e1c9c2a0e55",
  createdAt: CREATED,
  request: { task: "t", timeoutMs: 120_000, permissionMode: "bypassPermissions" },
  graceMs: 30_000,
  queueTimeoutMs: 600_000,
  maxOutputBytes: 1024,
  credentialMode: "proxy",
  repository: null,
};

const withRepository: TaskSubmission = {
  ...plain,
  repository: {
    repo: { url: "https://github.com/acme/app", host: "github.com", path: "/acme/app", ref: null, github: { owner: "acme", repo: "app" } },
    branch: "claude/x",
    push: false,
    pullRequest: null,
    continuedFrom: null,
    defaultBranch: null,
  },
};

function record(changes: Partial<TaskRecord>, submission: TaskSubmission = plain): TaskRecord {
  return { ...newTaskRecord(submission, CREATED), ...changes };
}

describe("taskClock", () => {
  it("counts a plain task's wait for a container from its acceptance", () => {
    expect(taskClock(record({}))).toMatchObject({ queueStartedAt: CREATED, graceMs: 30_000, timeoutMs: 120_000, queueTimeoutMs: 600_000 });
  });

  it("counts a repository task's wait from its turn on its branch, and none while others are ahead", () => {
    const waiting = record({}, withRepository);
    waiting.repository!.position = 3;
    expect(taskClock(waiting).queueStartedAt).toBeNull();
    waiting.repository!.position = 0;
    waiting.repository!.headAt = NOW - 1_000;
    expect(taskClock(waiting)).toMatchObject({ queueStartedAt: NOW - 1_000, graceMs: 30_000 + REPOSITORY_STEPS_GRACE_MS });
  });
});

describe("nextWakeAt", () => {
  const ended = { status: "succeeded" as const, finishedAt: NOW, startedAt: CREATED };
  it.each([
    ["a queued task asks for a container at its next attempt", record({ nextAttemptAt: NOW + 4_000 }), NOW + 4_000],
    ["a queued task past its next attempt still wakes no later than its queue deadline", record({ nextAttemptAt: CREATED + 700_000 }), CREATED + 600_000],
    ["a running task wakes for the watchdog", record({ status: "running", startedAt: NOW - 1_000 }), NOW + WATCHDOG_INTERVAL_MS],
    ["a running task near its deadline wakes at it", record({ status: "running", startedAt: NOW - 140_000 }), NOW - 140_000 + 120_000 + 30_000],
    ["an ended task whose result R2 refused once retries after 5 s", record({ ...ended, storeFailures: 1 }), NOW + ARCHIVE_RETRY_MS[0]],
    ["an ended task whose result R2 refused again retries every 30 s", record({ ...ended, storeFailures: 3 }), NOW + ARCHIVE_RETRY_MS[1]],
    ["an archived task that could not let its branch go retries it", record({ ...ended, archived: true }, withRepository), NOW + ARCHIVE_RETRY_MS[1]],
    ["an archived task with a webhook to retry wakes at the retry", record({ ...ended, archived: true, callback: { attempts: 1, delivered: false, lastStatus: 500, nextAttemptAt: NOW + 30_000 } }), NOW + 30_000],
    ["an archived task whose webhook was delivered needs nothing", record({ ...ended, archived: true, callback: { attempts: 1, delivered: true, lastStatus: 200, nextAttemptAt: null } }), null],
    ["an archived task without a webhook needs nothing", record({ ...ended, archived: true }), null],
  ] as const)("%s", (_name, state, expected) => {
    expect(nextWakeAt(state, NOW)).toBe(expected);
  });

  it("lets an archived repository task sleep once its branch is let go", () => {
    const state = record({ ...ended, archived: true }, withRepository);
    state.repository!.branchLetGo = true;
    expect(nextWakeAt(state, NOW)).toBeNull();
  });
});
