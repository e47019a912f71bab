/** The short texts the MCP tools return beside their documents (worker/src/mcp/text.ts). */
import { describe, expect, it } from "vitest";
import type { TaskEvent, TaskStatusDocument } from "../../worker/src/contract.js";
import {
  type AgentResult,
  describeApiError,
  describeEvent,
  describeEvents,
  describeList,
  describeOutcome,
  describePatch,
  describeResult,
  describeStatus,
  EVENT_TEXT_CHARS,
  oneLine,
  OUTPUT_TEXT_CHARS,
} from "../../worker/src/mcp/text.js";

const ID = "01a23398-9403-710f-82b4-09f36822a82a";

function status(fields: Partial<TaskStatusDocument>): TaskStatusDocument {
  const self = `/tasks/${ID}`;
  return {
    taskId: ID,
    status: "running",
    createdAt: "2026-12-01T21:52:47.107Z",
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    timeoutMs: 300_000,
    eventCount: 4,
    usage: null,
    error: null,
    links: { self, events: `${self}/events`, result: `${self}/result`, cancel: `${self}/cancel` },
    ...fields,
  };
}

function result(fields: Partial<AgentResult>): AgentResult {
  return {
    taskId: ID,
    status: "succeeded",
    success: true,
    exitCode: 0,
    stderr: "",
    output: "Done.",
    result: "Done.",
    usage: null,
    timedOut: false,
    truncated: false,
    startedAt: "2026-12-01T21:52:47.127Z",
    timestamp: "2026-12-01T21:52:48.641Z",
    durationMs: 1514,
    ...fields,
  };
}

const repository = {
  url: "https://github.com/acme/widgets",
  ref: null,
  branch: "claude/01a23398",
  push: true,
  pullRequestRequested: true,
  base: "6f1e",
  head: "9a2c",
  diffStat: { filesChanged: 2, insertions: 14, deletions: 3, files: [], truncated: false },
  pushed: true,
  pullRequest: { url: "https://github.com/acme/widgets/pull/42", number: 42 },
  artifacts: {},
};

describe("describeStatus", () => {
  it.each([
    [status({ status: "queued" }), `Task ${ID} is queued, waiting for a sandbox.`],
    [status({ status: "queued", queuePosition: 2 }), `Task ${ID} is queued behind 2 task(s) on its repository branch.`],
    [status({ status: "running", eventCount: 12 }), `Task ${ID} is running (12 events so far).`],
    [status({ status: "succeeded", durationMs: 1514 }), `Task ${ID} succeeded in 1.5 s.`],
    [status({ status: "succeeded", durationMs: 125_400 }), `Task ${ID} succeeded in 125 s.`],
    [status({ status: "failed", durationMs: 900, error: { code: "claude_error", message: "Overloaded" } }), `Task ${ID} failed (claude_error: Overloaded) after 0.9 s.`],
    [status({ status: "timed_out", durationMs: 60_000, error: { code: "task_timeout", message: "No end within 60 s" } }), `Task ${ID} timed out (task_timeout: No end within 60 s) after 60 s.`],
    [status({ status: "cancelled", durationMs: 2_000, error: null }), `Task ${ID} cancelled after 2.0 s.`],
  ])("%#: %s", (document, expected) => {
    expect(describeStatus(document)).toBe(expected);
  });
});

describe("describeResult and describeOutcome", () => {
  it("say how the task ended, what it changed and what it said", () => {
    expect(describeResult(result({ repository }))).toBe(
      [
        `Task ${ID} succeeded in 1.5 s.`,
        "Repository https://github.com/acme/widgets: 2 file(s) changed, +14 −3, pushed to claude/01a23398, pull request https://github.com/acme/widgets/pull/42.",
        "Output:",
        "",
        "Done.",
      ].join("\n"),
    );
  });

  it("cut a long output, and say where the rest is", () => {
    const text = describeResult(result({ output: "a".repeat(OUTPUT_TEXT_CHARS + 10) }));
    expect(text).toContain(`Output (the first ${OUTPUT_TEXT_CHARS} characters; all of it is in the structured result):`);
    expect(text.endsWith(`\n${"a".repeat(OUTPUT_TEXT_CHARS)}`)).toBe(true);
  });

  it("say when there is no output, and a failure's code", () => {
    expect(describeResult(result({ status: "failed", success: false, output: "", error: { code: "budget_exceeded", message: "Budget reached" } }))).toBe(
      `Task ${ID} failed (budget_exceeded: Budget reached) after 1.5 s.\nIt gave no output.`,
    );
  });

  it("tell what to do next while the task runs", () => {
    expect(describeOutcome(status({}), null)).toBe(
      `Task ${ID} is running (4 events so far). Call wait_for_task to wait for it, or get_task_events to see what it is doing.`,
    );
    expect(describeOutcome(status({ status: "succeeded" }), result({}))).toBe(describeResult(result({})));
  });
});

describe("describeEvent", () => {
  const at = "2026-12-01T21:52:47.117Z";
  it.each<[TaskEvent, string]>([
    [{ seq: 1, type: "status", at, data: { status: "queued" } }, "#1 status: queued"],
    [{ seq: 3, type: "init", at, data: { sessionId: null, model: "claude-sonnet-4-5", tools: [] } }, "#3 init: model claude-sonnet-4-5"],
    [{ seq: 4, type: "text", at, data: { text: "Let me\n  look." } }, "#4 text: Let me look."],
    [{ seq: 5, type: "tool_use", at, data: { id: "t", name: "Bash", input: { command: "ls" } } }, '#5 tool_use Bash: {"command":"ls"}'],
    [{ seq: 6, type: "tool_use", at, data: { id: "t", name: "Edit", input: '{"file":', truncated: true } }, '#6 tool_use Edit: {"file":'],
    [{ seq: 7, type: "tool_result", at, data: { toolUseId: "t", isError: true, content: "No such file" } }, "#7 tool_result (error): No such file"],
    [{ seq: 8, type: "result", at, data: { success: false, error: { code: "claude_error", message: "x" }, usage: null } }, "#8 result: failure (claude_error)"],
    [{ seq: 9, type: "end", at, data: { status: "failed" } }, "#9 end: failed"],
  ])("%#: %s", (event, expected) => {
    expect(describeEvent(event)).toBe(expected);
  });

  it("cuts a long text to one line", () => {
    const line = describeEvent({ seq: 4, type: "text", at, data: { text: "word ".repeat(200) } });
    expect(line.length).toBe("#4 text: ".length + EVENT_TEXT_CHARS);
    expect(line.endsWith("…")).toBe(true);
  });
});

describe("describeEvents and describeList", () => {
  it.each([
    [{ events: [], next: 10, done: true }, `Task ${ID} has no events after #10: it has ended.`],
    [{ events: [], next: 4, done: false }, `Task ${ID} has no new events after #4 yet.`],
    [
      { events: [{ seq: 1, type: "status", at: "", data: { status: "queued" } } as TaskEvent], next: 1, done: false },
      `Events of task ${ID}:\n#1 status: queued\nPass after: 1 to read on.`,
    ],
  ])("%#", (page, expected) => {
    expect(describeEvents(ID, page)).toBe(expected);
  });

  it("lists tasks one a line, with the cursor of the next page", () => {
    expect(describeList({ tasks: [], cursor: null })).toBe("No tasks.");
    expect(describeList({ tasks: [status({ repository })], cursor: ID })).toBe(
      `${ID} running (created 2026-12-01T21:52:47.107Z, https://github.com/acme/widgets)\nOlder tasks: pass cursor: ${ID}.`,
    );
  });
});

describe("describePatch", () => {
  it.each([
    ["", false, `Task ${ID} changed nothing: its patch is empty.`],
    ["diff --git a/x b/x\n", false, `The patch of task ${ID}:\n\ndiff --git a/x b/x\n`],
    ["diff --git a/x b/x\n", true, `The patch of task ${ID}, cut after its last whole line within 1 MiB:\n\ndiff --git a/x b/x\n`],
  ])("%j (truncated: %s)", (patch, truncated, expected) => {
    expect(describePatch(ID, patch, truncated)).toBe(expected);
  });
});

describe("describeApiError", () => {
  it.each([
    [404, { error: "Task not found", code: "task_not_found" }, "task_not_found (HTTP 404): Task not found"],
    [
      400,
      { error: "Timeout must be …", code: "invalid_timeout", details: { min: 1000, max: 900000 } },
      'invalid_timeout (HTTP 400): Timeout must be …; details: {"min":1000,"max":900000}',
    ],
    [409, { error: "Task has not finished yet", code: "task_not_finished", taskId: ID, status: "running" }, `task_not_finished (HTTP 409): Task has not finished yet; taskId: ${ID}; status: running`],
    [500, { error: "Task ran but its result could not be stored", code: "result_store_failed", taskId: ID, result: { stdout: "x".repeat(10_000) } }, `result_store_failed (HTTP 500): Task ran but its result could not be stored; taskId: ${ID}`],
  ])("%i %j", (status, body, expected) => {
    expect(describeApiError(status, body)).toBe(expected);
  });
});

describe("oneLine", () => {
  it.each([
    ["a\n\tb  c", 10, "a b c"],
    ["abcdef", 4, "abc…"],
    ["abcd", 4, "abcd"],
  ])("%j at most %i → %j", (text, max, expected) => {
    expect(oneLine(text, max)).toBe(expected);
  });
});
