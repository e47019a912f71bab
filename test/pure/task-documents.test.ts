/**
 * The status document and the result of a task, built from its record by
 * pure functions: what a client reads for each state a task can be in.
 */
import { describe, expect, it } from "vitest";
import type { TaskUsage } from "../../worker/src/contract.js";
import type { RepositoryPlan } from "../../worker/src/tasks/submission.js";
import type { TaskSubmission } from "../../worker/src/tasks/submission.js";
import { endEvents, statusDocument, storedFinal, storeFailed, type TaskOutput, taskResult } from "../../worker/src/tasks/task-documents.js";
import { newTaskRecord, type TaskRecord } from "../../worker/src/tasks/task-record.js";

const TASK_ID = "01a24a4b-bfa4-7006-8715-3e1c9c2a0e55";
const CREATED = Date.parse("2026-12-01T10:00:00.000Z");
const STARTED = CREATED + 2_000;
const FINISHED = STARTED + 30_000;
const SECRET = "fake-oauth-secret-value-xyz";

const USAGE: TaskUsage = {
  inputTokens: 10,
  outputTokens: 20,
  cacheCreationInputTokens: 0,
  cacheReadInputTokens: 5,
  costUsd: 0.0123,
  numTurns: 2,
  sessionId: "4c2e7a61-0b8e-4f0c-9d57-1c1e2b3a4d5e",
  models: null,
};

const PLAN: RepositoryPlan = {
  repo: { url: "https://github.com/acme/app.git", host: "github.com", path: "/acme/app", ref: null, github: { owner: "acme", repo: "app" } },
  branch: "claude/work",
  push: true,
  pullRequest: null,
  continuedFrom: "01a24a4b-0000-7000-8000-000000000001",
  defaultBranch: "main",
};

function submission(overrides: Partial<TaskSubmission> = {}, request: Partial<TaskSubmission["request"]> = {}): TaskSubmission {
  return {
    taskId: TASK_ID,
    createdAt: CREATED,
    request: { task: "Fix the bug", timeoutMs: 60_000, permissionMode: "bypassPermissions", ...request },
    graceMs: 30_000,
    queueTimeoutMs: 600_000,
    maxOutputBytes: 1024,
    credentialMode: "proxy",
    repository: null,
    ...overrides,
  };
}

/** A record in a given state: fields not named keep the new record's values. */
function record(changes: Partial<TaskRecord> = {}, from: TaskSubmission = submission()): TaskRecord {
  return { ...newTaskRecord(from, CREATED), ...changes };
}

const finalMessage = (result: string, subtype = "success") => ({ subtype, isError: subtype !== "success", errors: [], result, usage: USAGE });

const output = (streams: TaskOutput["streams"], texts = ""): TaskOutput => ({ streams, texts: { text: texts, truncated: false } });

describe("statusDocument", () => {
  it.each([
    ["a queued task", record(), { status: "queued", startedAt: null, finishedAt: null, durationMs: null, usage: null, error: null }],
    [
      "a running task",
      record({ status: "running", startedAt: STARTED, eventCount: 4 }),
      { status: "running", startedAt: new Date(STARTED).toISOString(), finishedAt: null, durationMs: null, eventCount: 4 },
    ],
    [
      "a succeeded task",
      record({ status: "succeeded", startedAt: STARTED, finishedAt: FINISHED, final: finalMessage("done") }),
      { status: "succeeded", finishedAt: new Date(FINISHED).toISOString(), durationMs: 30_000, usage: USAGE, error: null },
    ],
    [
      "a task cancelled before it started: its duration counts from its acceptance",
      record({ status: "cancelled", finishedAt: CREATED + 500, error: { code: "task_cancelled", message: "The task was cancelled" } }),
      { status: "cancelled", startedAt: null, durationMs: 500, error: { code: "task_cancelled", message: "The task was cancelled" } },
    ],
  ] as const)("shows %s", (_name, state, expected) => {
    const document = statusDocument(state, []);
    expect(document).toMatchObject({ taskId: TASK_ID, createdAt: new Date(CREATED).toISOString(), timeoutMs: 60_000, ...expected });
    expect(document.links).toEqual({
      self: `/tasks/${TASK_ID}`,
      events: `/tasks/${TASK_ID}/events`,
      result: `/tasks/${TASK_ID}/result`,
      cancel: `/tasks/${TASK_ID}/cancel`,
    });
    expect(document).not.toHaveProperty("callback");
    expect(document).not.toHaveProperty("repository");
  });

  it.each([
    ["before the first attempt", null, { attempts: 0, delivered: false, lastStatus: null }],
    ["after a failed attempt", { attempts: 1, delivered: false, lastStatus: 500, nextAttemptAt: FINISHED + 5_000 }, { attempts: 1, delivered: false, lastStatus: 500 }],
    ["once delivered", { attempts: 2, delivered: true, lastStatus: 200, nextAttemptAt: null }, { attempts: 2, delivered: true, lastStatus: 200 }],
  ] as const)("shows the webhook's delivery %s, never when its next attempt is", (_name, callback, expected) => {
    const document = statusDocument(record({ callback }, submission({}, { callbackUrl: "https://hooks.example.com/x" })), []);
    expect(document.callback).toEqual(expected);
  });

  it.each([
    ["the first line of the task", "Fix the bug\nin parser.ts", "Fix the bug"],
    ["the first line that is not blank, trimmed", "\n  \n   Add tests  \nmore", "Add tests"],
    ["a long line cut to 120 characters", "x".repeat(300), `${"x".repeat(119)}…`],
    ["a long line of emoji, never cut inside a character", "🦀".repeat(200), `${"🦀".repeat(119)}…`],
  ])("titles a task with %s", (_name, task, title) => {
    expect(statusDocument(record({}, submission({}, { task })), []).title).toBe(title);
  });

  it("redacts the deployment's secrets from the title", () => {
    const document = statusDocument(record({}, submission({}, { task: `Use ${SECRET} to deploy` })), [SECRET]);
    expect(document.title).toBe("Use [redacted] to deploy");
  });

  it("shows who submitted a task through Cloudflare Access, and nothing for a task submitted with the token", () => {
    expect(statusDocument(record({}, submission({ submittedBy: "ada@example.com" })), []).submittedBy).toBe("ada@example.com");
    expect(statusDocument(record({}), [])).not.toHaveProperty("submittedBy");
  });

  it("shows a repository task's repository, the task it follows up, and its place in the branch's queue while it waits", () => {
    const waiting = record({}, submission({ repository: PLAN }));
    waiting.repository!.position = 2;
    const document = statusDocument(waiting, []);
    expect(document.repository).toMatchObject({ url: PLAN.repo.url, branch: "claude/work", push: true, pushed: false });
    expect(document.continuedFrom).toBe(PLAN.continuedFrom);
    expect(document.queuePosition).toBe(2);
    waiting.repository!.position = 0;
    expect(statusDocument(waiting, [])).not.toHaveProperty("queuePosition");
    expect(statusDocument({ ...waiting, status: "running" }, [])).not.toHaveProperty("queuePosition");
  });
});

describe("taskResult", () => {
  const streams = { stdout: '{"type":"result"}\n', stderr: "warning: something\n", truncated: false };

  it.each([
    [
      "Claude's final text, when it gave one",
      record({ status: "succeeded", startedAt: STARTED, finishedAt: FINISHED, exitCode: 0, final: finalMessage("All fixed.") }),
      output(streams, "Looking.\n\nAll fixed."),
      { success: true, output: "All fixed.", result: "All fixed.", timedOut: false },
    ],
    [
      "stderr, when the final result has no text",
      record({ status: "failed", startedAt: STARTED, finishedAt: FINISHED, exitCode: 1, final: finalMessage("", "error_during_execution"), error: { code: "claude_error", message: "x" } }),
      output(streams, "Trying."),
      { success: false, output: "warning: something\n", result: "" },
    ],
    [
      "the texts so far, for a task cancelled before any final result",
      record({ status: "cancelled", startedAt: STARTED, finishedAt: FINISHED, error: { code: "task_cancelled", message: "The task was cancelled" } }),
      output(streams, "First.\n\nSecond.\n\nThird."),
      { success: false, output: "First.\n\nSecond.\n\nThird.", result: "" },
    ],
    [
      "the texts so far, for a task that timed out",
      record({ status: "timed_out", startedAt: STARTED, finishedAt: FINISHED, error: { code: "task_timeout", message: "t" } }),
      output(streams, "Still working."),
      { success: false, output: "Still working.", timedOut: true },
    ],
    [
      "stderr, for a task that ended without a final result and said nothing",
      record({ status: "failed", startedAt: STARTED, finishedAt: FINISHED, error: { code: "platform_interrupted", message: "lost" } }),
      output(streams, ""),
      { output: "warning: something\n" },
    ],
  ] as const)("shows %s as its output", (_name, state, known, expected) => {
    expect(taskResult(state, known, [], FINISHED)).toMatchObject({ taskId: TASK_ID, status: state.status, ...expected });
  });

  it("redacts the deployment's secrets from stdout and stderr", () => {
    const state = record({ status: "succeeded", startedAt: STARTED, finishedAt: FINISHED, exitCode: 0, final: finalMessage("ok") });
    const result = taskResult(state, output({ stdout: `token ${SECRET}\n`, stderr: `key=${SECRET}`, truncated: false }), [SECRET], FINISHED);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(result.stdout).toBe("token [redacted]\n");
    expect(result.stderr).toBe("key=[redacted]");
  });

  it.each([
    ["kept whole", { ...streams, truncated: false }, STARTED, false],
    ["that lost their beginning", { ...streams, truncated: true }, STARTED, true],
    ["unknown here after the task had started (the object was rebuilt)", null, STARTED, true],
    ["unknown because the task never started", null, null, false],
  ] as const)("marks truncated for output %s: %s", (_name, known, startedAt, truncated) => {
    const state = record({ status: "cancelled", startedAt, finishedAt: FINISHED, error: { code: "task_cancelled", message: "c" } });
    expect(taskResult(state, output(known), [], FINISHED).truncated).toBe(truncated);
  });

  it("times a task from its start, or from its acceptance when it never started", () => {
    const ran = record({ status: "succeeded", startedAt: STARTED, finishedAt: FINISHED, final: finalMessage("ok"), exitCode: 0 });
    expect(taskResult(ran, output(streams), [], FINISHED)).toMatchObject({ durationMs: 30_000, startedAt: new Date(STARTED).toISOString(), timestamp: new Date(FINISHED).toISOString() });
    const never = record({ status: "failed", finishedAt: CREATED + 600_000, error: { code: "sandbox_unavailable", message: "none" } });
    expect(taskResult(never, output(null), [], CREATED + 600_000)).toMatchObject({ durationMs: 600_000, startedAt: null, exitCode: null, error: { code: "sandbox_unavailable" } });
  });

  it("carries a repository task's repository and the task it follows up", () => {
    const state = record({ status: "succeeded", startedAt: STARTED, finishedAt: FINISHED, final: finalMessage("ok"), exitCode: 0 }, submission({ repository: PLAN }));
    expect(taskResult(state, output(streams), [], FINISHED)).toMatchObject({ repository: { branch: "claude/work" }, continuedFrom: PLAN.continuedFrom });
  });
});

describe("storeFailed", () => {
  it.each([
    ["a running task", { status: "running" as const, archived: false, storeFailures: 0 }, false],
    ["an ended task not stored yet", { status: "succeeded" as const, archived: false, storeFailures: 0 }, false],
    ["an ended task R2 refused", { status: "succeeded" as const, archived: false, storeFailures: 2 }, true],
    ["an ended task stored after a refusal", { status: "succeeded" as const, archived: true, storeFailures: 1 }, false],
  ])("is %s: %s", (_name, changes, expected) => {
    expect(storeFailed(record(changes))).toBe(expected);
  });
});

describe("endEvents", () => {
  it.each([
    ["a succeeded task", record({ status: "succeeded", final: finalMessage("ok") }), { success: true, error: null, usage: USAGE }, "succeeded"],
    [
      "a cancelled task without a final message",
      record({ status: "cancelled", error: { code: "task_cancelled", message: "The task was cancelled" } }),
      { success: false, error: { code: "task_cancelled", message: "The task was cancelled" }, usage: null },
      "cancelled",
    ],
  ] as const)("ends %s with its result, then end", (_name, state, data, status) => {
    expect(endEvents(state)).toEqual([
      { type: "result", data },
      { type: "end", data: { status } },
    ]);
  });

  it("carries a repository task's repository in its result event", () => {
    const [result] = endEvents(record({ status: "succeeded", final: finalMessage("ok") }, submission({ repository: PLAN })));
    expect(result).toMatchObject({ type: "result", data: { repository: { branch: "claude/work" } } });
  });
});

describe("storedFinal", () => {
  it("redacts the deployment's secrets from the usage: the session id and the models' names", () => {
    const final = {
      ...finalMessage("done", "success"),
      usage: { ...USAGE, sessionId: SECRET, models: { [`claude-${SECRET}`]: { inputTokens: 1, outputTokens: 2, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, costUsd: 0 } } },
    };
    const stored = storedFinal(final, [SECRET]);
    expect(JSON.stringify(stored)).not.toContain(SECRET);
    expect(stored.usage.sessionId).toBe("[redacted]");
    expect(Object.keys(stored.usage.models!)).toEqual(["claude-[redacted]"]);
    expect(Object.values(stored.usage.models!)).toEqual([{ inputTokens: 1, outputTokens: 2, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, costUsd: 0 }]);
  });

  it("redacts the deployment's secrets from Claude Code's final text and errors", () => {
    const final = { ...finalMessage(`the token is ${SECRET}`, "error_during_execution"), errors: [`auth ${SECRET} failed`] };
    const stored = storedFinal(final, [SECRET]);
    expect(stored.result).toBe("the token is [redacted]");
    expect(stored.errors).toEqual(["auth [redacted] failed"]);
    expect(JSON.stringify(stored)).not.toContain(SECRET);
  });
});
