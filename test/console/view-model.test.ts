/**
 * The console's decisions, as pure functions: how it writes times, money and
 * tokens; where its views live in the URL; where the token is kept; how events
 * become the transcript; the chart's days; the New task form's request body;
 * the task list's refresh; a patch's files and lines.
 */
import { describe, expect, it } from "vitest";
import type { TaskEvent, TaskStatusDocument, TaskUsage } from "../../worker/src/contract.js";
import type { ConsoleTask } from "../../console/src/api.js";
import { dailyTotals } from "../../console/src/daily.js";
import { parsePatch } from "../../console/src/diff.js";
import { formatCost, formatDuration, formatTime, formatTokens, modelsOf, shortId } from "../../console/src/format.js";
import { parseRoute, type Route, routeHash } from "../../console/src/routes.js";
import { forgetToken, readToken, saveToken, TOKEN_KEY, type TokenStore } from "../../console/src/session.js";
import { EMPTY_TASK_FORM, taskRequestBody, type TaskFormValues } from "../../console/src/task-form.js";
import { appendOlderPage, mergeNewestPage, repositoryLabel } from "../../console/src/task-list.js";
import { appendEvents, EMPTY_TRANSCRIPT, toolInputText, toolSummary } from "../../console/src/transcript.js";

const TASK_ID = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
const OTHER_ID = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2c";

const usage = (fields: Partial<TaskUsage> = {}): TaskUsage => ({
  inputTokens: null,
  outputTokens: null,
  cacheCreationInputTokens: null,
  cacheReadInputTokens: null,
  costUsd: null,
  numTurns: null,
  sessionId: null,
  models: null,
  ...fields,
});

function task(taskId: string, createdAt: string, fields: Partial<TaskStatusDocument> = {}): ConsoleTask {
  return {
    taskId,
    status: "succeeded",
    createdAt,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    timeoutMs: 300_000,
    eventCount: 0,
    usage: null,
    error: null,
    links: { self: "", events: "", result: "", cancel: "" },
    ...fields,
  };
}

describe("format", () => {
  it.each([
    [null, "—"],
    [-1, "—"],
    [0, "0 ms"],
    [850, "850 ms"],
    [12_340, "12.3 s"],
    [245_000, "4 min 05 s"],
    [7_380_000, "2 h 03 min"],
  ])("duration %s → %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([
    [null, "—"],
    [undefined, "—"],
    [0, "$0.0000"],
    [0.01234, "$0.0123"],
    [12.5, "$12.50"],
  ])("cost %s → %s", (usd, text) => {
    expect(formatCost(usd)).toBe(text);
  });

  it("writes a local time to the minute, and an unknown one as a dash", () => {
    expect(formatTime(new Date(2026, 7, 5, 9, 3, 59).toISOString())).toBe("2026-08-05 09:03");
    expect(formatTime(null)).toBe("—");
    expect(formatTime("not a time")).toBe("—");
  });

  it("shortens a task id to its random end, which tasks made in the same minute do not share", () => {
    expect(shortId("01a24a68-91ea-7000-83b9-b3772eb438c3")).toBe("2eb438c3");
    expect(shortId("01a24a68-91eb-7000-83b9-a1b2c3d4e5f6")).not.toBe(shortId("01a24a68-91ea-7000-83b9-b3772eb438c3"));
  });

  it("names the tokens Claude Code reported, and only those", () => {
    expect(formatTokens(usage({ inputTokens: 1234, outputTokens: 56, cacheReadInputTokens: 8900 }))).toBe("1,234 in · 56 out · 8,900 cache read");
    expect(formatTokens(usage())).toBe("—");
    expect(formatTokens(null)).toBe("—");
  });

  it("names the models of the usage, else the init event's", () => {
    const cost = { inputTokens: 1, outputTokens: 1, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, costUsd: 0 };
    expect(modelsOf(usage({ models: { "claude-sonnet-4-5": cost, "claude-haiku-4-5": cost } }), "x")).toBe("claude-sonnet-4-5, claude-haiku-4-5");
    expect(modelsOf(null, "claude-opus-4-1")).toBe("claude-opus-4-1");
    expect(modelsOf(null, null)).toBe("—");
  });
});

describe("routes", () => {
  it.each<[string, Route]>([
    ["", { view: "tasks", status: null }],
    ["#/tasks", { view: "tasks", status: null }],
    ["#/tasks?status=running", { view: "tasks", status: "running" }],
    ["#/tasks?status=bogus", { view: "tasks", status: null }],
    [`#/tasks/${TASK_ID.toUpperCase()}`, { view: "task", taskId: TASK_ID }],
    ["#/tasks/not-a-task-id", { view: "tasks", status: null }],
    ["#/tasks/../../health", { view: "tasks", status: null }],
    ["#/new", { view: "new", continueFrom: null }],
    [`#/new?continueFrom=${TASK_ID}`, { view: "new", continueFrom: TASK_ID }],
    ["#/new?continueFrom=javascript:alert(1)", { view: "new", continueFrom: null }],
    ["#main", { view: "tasks", status: null }],
  ])("%s", (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it("writes each route back to the fragment it reads", () => {
    for (const route of [
      { view: "tasks", status: null },
      { view: "tasks", status: "timed_out" },
      { view: "task", taskId: TASK_ID },
      { view: "new", continueFrom: null },
      { view: "new", continueFrom: TASK_ID },
    ] satisfies Route[]) {
      expect(parseRoute(routeHash(route))).toEqual(route);
    }
  });
});

describe("where the token is kept", () => {
  const store = (): TokenStore & { items: Map<string, string> } => {
    const items = new Map<string, string>();
    return { items, getItem: (key) => items.get(key) ?? null, setItem: (key, value) => void items.set(key, value), removeItem: (key) => void items.delete(key) };
  };

  it("keeps it for the tab only, unless the person asks to be remembered", () => {
    const [tab, device] = [store(), store()];
    saveToken("tab-only", false, tab, device);
    expect(tab.items.get(TOKEN_KEY)).toBe("tab-only");
    expect(device.items.size).toBe(0);
    saveToken("remembered", true, tab, device);
    expect(device.items.get(TOKEN_KEY)).toBe("remembered");
    expect(readToken(tab, device)).toEqual({ token: "remembered", remembered: true });
  });

  it("drops a remembered token when the next sign-in does not ask to be remembered", () => {
    const [tab, device] = [store(), store()];
    saveToken("old", true, tab, device);
    saveToken("new", false, tab, device);
    expect(device.items.size).toBe(0);
    expect(readToken(tab, device)).toEqual({ token: "new", remembered: false });
  });

  it("gives a new tab the remembered token, and nothing without one", () => {
    const device = store();
    device.items.set(TOKEN_KEY, "remembered");
    const tab = store();
    expect(readToken(tab, device)).toEqual({ token: "remembered", remembered: true });
    expect(tab.items.get(TOKEN_KEY)).toBe("remembered");
    expect(readToken(store(), store())).toBeNull();
  });

  it("forgets it everywhere on sign-out", () => {
    const [tab, device] = [store(), store()];
    saveToken("token", true, tab, device);
    forgetToken(tab, device);
    expect([tab.items.size, device.items.size]).toEqual([0, 0]);
  });
});

describe("the transcript", () => {
  const at = "2026-08-15T10:00:00.000Z";
  const events: TaskEvent[] = [
    { seq: 1, type: "status", at, data: { status: "running" } },
    { seq: 2, type: "init", at, data: { sessionId: "s", model: "claude-sonnet-4-5", tools: ["Bash"] } },
    { seq: 3, type: "text", at, data: { text: "Looking at the README." } },
    { seq: 4, type: "tool_use", at, data: { id: "toolu_1", name: "Bash", input: { command: "cat README.md", description: "Read it" } } },
    { seq: 5, type: "tool_use", at, data: { id: "toolu_2", name: "Read", input: { file_path: "/workspace/a.ts" } } },
    { seq: 6, type: "tool_result", at, data: { toolUseId: "toolu_1", isError: false, content: "# Title" } },
    { seq: 7, type: "tool_result", at, data: { toolUseId: "toolu_2", isError: true, content: "No such file", truncated: true } },
    { seq: 8, type: "result", at, data: { success: false, error: { code: "max_turns_reached", message: "Claude used its turns" }, usage: null } },
    { seq: 9, type: "end", at, data: { status: "failed" } },
  ];

  it("pairs each tool call with its result, and keeps texts, statuses and the outcome in order", () => {
    const transcript = appendEvents(EMPTY_TRANSCRIPT, events);
    expect(transcript.items.map((item) => item.kind)).toEqual(["status", "init", "text", "tool", "tool", "outcome", "end"]);
    expect(transcript.items[3]).toMatchObject({ name: "Bash", result: { content: "# Title", isError: false, truncated: false } });
    expect(transcript.items[4]).toMatchObject({ name: "Read", result: { content: "No such file", isError: true, truncated: true } });
    expect(transcript).toMatchObject({ lastSeq: 9, model: "claude-sonnet-4-5", ended: "failed" });
  });

  it("adds nothing twice when a reconnect replays events it has, whatever the batches", () => {
    const once = appendEvents(EMPTY_TRANSCRIPT, events);
    let replayed = appendEvents(EMPTY_TRANSCRIPT, events.slice(0, 4));
    replayed = appendEvents(replayed, events.slice(2, 7));
    replayed = appendEvents(replayed, events);
    expect(replayed).toEqual(once);
  });

  it("keeps a result whose call it never saw, under an unknown tool", () => {
    const transcript = appendEvents(EMPTY_TRANSCRIPT, [{ seq: 1, type: "tool_result", at, data: { toolUseId: "toolu_9", isError: false, content: "ok" } }]);
    expect(transcript.items).toEqual([{ kind: "tool", seq: 1, id: "toolu_9", name: "unknown tool", input: null, inputTruncated: false, result: { content: "ok", isError: false, truncated: false } }]);
  });

  it.each([
    [{ command: "npm test\n  -- --run", description: "Run tests" }, "npm test -- --run"],
    [{ file_path: "/workspace/src/a.ts", old_string: "x" }, "/workspace/src/a.ts"],
    [{ other: 1 }, ""],
    ['{"command": "cut at 4 KiB', '{"command": "cut at 4 KiB'],
    [null, ""],
  ])("summarizes the input %j as %j", (input, summary) => {
    expect(toolSummary(input)).toBe(summary);
  });

  it("shows an input as indented JSON, and a cut input as its text", () => {
    expect(toolInputText({ command: "ls" })).toBe('{\n  "command": "ls"\n}');
    expect(toolInputText('{"command": "l')).toBe('{"command": "l');
  });
});

describe("tasks and cost per day", () => {
  const local = (day: number, hour: number) => new Date(2026, 7, day, hour).toISOString();

  it("adds up each local day and keeps the days between with zeros, oldest first", () => {
    const days = dailyTotals([
      task(TASK_ID, local(17, 9), { usage: usage({ costUsd: 0.25 }) }),
      task(TASK_ID, local(17, 23), { usage: usage({ costUsd: 0.5 }) }),
      task(TASK_ID, local(15, 0), { usage: null }),
    ]);
    expect(days.map(({ day, tasks, costUsd }) => ({ day, tasks, costUsd }))).toEqual([
      { day: "2026-08-15", tasks: 1, costUsd: 0 },
      { day: "2026-08-16", tasks: 0, costUsd: 0 },
      { day: "2026-08-17", tasks: 2, costUsd: 0.75 },
    ]);
    expect(days[0]!.start).toBe(new Date(2026, 7, 15).getTime() / 1000);
  });

  it("has no days without tasks, and at most 60 (the latest)", () => {
    expect(dailyTotals([])).toEqual([]);
    const days = dailyTotals([task(TASK_ID, new Date(2026, 0, 1).toISOString()), task(TASK_ID, new Date(2026, 5, 1).toISOString())]);
    expect(days).toHaveLength(60);
    expect(days.at(-1)).toMatchObject({ day: "2026-06-01", tasks: 1 });
  });
});

describe("the New task form", () => {
  const form = (values: Partial<TaskFormValues>): TaskFormValues => ({ ...EMPTY_TASK_FORM, ...values });

  it.each<[string, Partial<TaskFormValues>, Record<string, unknown>]>([
    ["only the task, as typed", { task: "  Fix it\n" }, { task: "  Fix it\n" }],
    [
      "every run setting",
      { task: "t", timeoutSeconds: "90", model: " sonnet ", maxTurns: "12", permissionMode: "plan", maxBudgetUsd: "0.5", callbackUrl: "https://hooks.example/x" },
      { task: "t", timeout: 90_000, model: "sonnet", maxTurns: 12, permissionMode: "plan", maxBudgetUsd: 0.5, callbackUrl: "https://hooks.example/x" },
    ],
    ["a repository", { task: "t", repoUrl: "https://github.com/o/r" }, { task: "t", repo: { url: "https://github.com/o/r" } }],
    [
      "a repository, ref, branch and push",
      { task: "t", repoUrl: "https://github.com/o/r", repoRef: "v1", branch: "fix/x", push: true },
      { task: "t", repo: { url: "https://github.com/o/r", ref: "v1" }, branch: "fix/x", push: true },
    ],
    ["a pull request with the defaults", { task: "t", repoUrl: "https://github.com/o/r", pullRequest: true, push: true }, { task: "t", repo: { url: "https://github.com/o/r" }, pullRequest: true }],
    [
      "a pull request with a title and body",
      { task: "t", repoUrl: "https://github.com/o/r", pullRequest: true, pullRequestTitle: " Fix ", pullRequestBody: "Why:\nbecause" },
      { task: "t", repo: { url: "https://github.com/o/r" }, pullRequest: { title: "Fix", body: "Why:\nbecause" } },
    ],
    ["a follow-up that pushes", { task: "t", continueFrom: TASK_ID, push: true }, { task: "t", continueFrom: TASK_ID, push: true }],
  ])("%s", (_name, values, body) => {
    expect(taskRequestBody(form(values))).toEqual({ ok: true, body });
  });

  it.each<[string, Partial<TaskFormValues>, keyof TaskFormValues]>([
    ["a blank task", { task: "  \n" }, "task"],
    ["a timeout that is not a number", { task: "t", timeoutSeconds: "soon" }, "timeoutSeconds"],
    ["a fractional number of turns", { task: "t", maxTurns: "2.5" }, "maxTurns"],
    ["a budget that is not a number", { task: "t", maxBudgetUsd: "lots" }, "maxBudgetUsd"],
    ["a follow-up given a repository", { task: "t", continueFrom: TASK_ID, repoUrl: "https://github.com/o/r" }, "continueFrom"],
    ["a branch without a repository", { task: "t", branch: "fix/x" }, "repoUrl"],
    ["a push without a repository", { task: "t", push: true }, "repoUrl"],
  ])("stops at %s, naming the field", (_name, values, field) => {
    expect(taskRequestBody(form(values))).toMatchObject({ ok: false, field });
  });
});

describe("the task list's refresh", () => {
  const newer = task(OTHER_ID, "2026-08-15T10:05:00.000Z");
  const first = task(TASK_ID, "2026-08-15T10:00:00.000Z", { status: "running" });
  const older = task("0190a1b2-0000-7e5f-8a6b-7c8d9e0f1a2b", "2026-08-14T10:00:00.000Z");

  it("takes the fresh page whole while only the newest page is shown", () => {
    const shown = { tasks: [first], cursor: null, olderLoaded: false };
    expect(mergeNewestPage(shown, { tasks: [newer], cursor: null })).toEqual({ tasks: [newer], cursor: null, olderLoaded: false });
  });

  it("keeps older pages the person loaded, updates what the fresh page covers, and drops what left the filter", () => {
    const shown = appendOlderPage({ tasks: [first], cursor: "c1", olderLoaded: false }, { tasks: [older], cursor: "c2" });
    expect(shown).toEqual({ tasks: [first, older], cursor: "c2", olderLoaded: true });
    const fresh = { tasks: [newer, { ...first, status: "succeeded" as const }], cursor: "c1" };
    expect(mergeNewestPage(shown, fresh)).toEqual({ tasks: [...fresh.tasks, older], cursor: "c2", olderLoaded: true });
    // `first` left the filter: the fresh page covers its time and no longer holds it.
    const earlier = task("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a29", "2026-08-15T09:55:00.000Z");
    expect(mergeNewestPage(shown, { tasks: [newer, earlier], cursor: "c1" }).tasks).toEqual([newer, earlier, older]);
    // Older than the fresh page: it may be on the next page, so it stays.
    expect(mergeNewestPage(shown, { tasks: [newer], cursor: "c1" }).tasks).toEqual([newer, first, older]);
  });

  it("names a repository task's repository and branch without the scheme", () => {
    const repository = { url: "https://github.com/octocat/Hello-World.git", branch: "claude/0190a1b2" };
    expect(repositoryLabel({ repository } as Pick<ConsoleTask, "repository">)).toBe("github.com/octocat/Hello-World · claude/0190a1b2");
    expect(repositoryLabel({})).toBe("");
  });
});

describe("a patch", () => {
  const patch = [
    "diff --git a/img.png b/img.png",
    "index 8352675..cfaefd9 100644",
    "GIT binary patch",
    "literal 4",
    "LcmZSJWMTyX04M+v",
    "",
    "diff --git a/README.md b/README.md",
    "index 1111111..2222222 100644",
    "--- a/README.md",
    "+++ b/README.md",
    "@@ -1,3 +1,3 @@",
    " # Title",
    "-Teh <script>alert(1)</script>",
    "+The <script>alert(1)</script>",
    " end",
    "\\ No newline at end of file",
    "diff --git a/old.txt b/old.txt",
    "deleted file mode 100644",
    "--- a/old.txt",
    "+++ /dev/null",
    "@@ -1 +0,0 @@",
    "-bye",
    "",
  ].join("\n");

  it("lists each file with what happened to it, its counts and its numbered lines, as text", () => {
    const files = parsePatch(patch);
    expect(files.map(({ name, change, additions, deletions, binary }) => ({ name, change, additions, deletions, binary }))).toEqual([
      { name: "img.png", change: "modified", additions: 0, deletions: 0, binary: true },
      { name: "README.md", change: "modified", additions: 1, deletions: 1, binary: false },
      { name: "old.txt", change: "deleted", additions: 0, deletions: 1, binary: false },
    ]);
    expect(files[1]!.lines).toEqual([
      { kind: "hunk", text: "@@ -1,3 +1,3 @@", oldNumber: null, newNumber: null },
      { kind: "normal", text: "# Title", oldNumber: 1, newNumber: 1 },
      { kind: "del", text: "Teh <script>alert(1)</script>", oldNumber: 2, newNumber: null },
      { kind: "add", text: "The <script>alert(1)</script>", oldNumber: null, newNumber: 2 },
      { kind: "normal", text: "end", oldNumber: 3, newNumber: 3 },
      { kind: "note", text: "\\ No newline at end of file", oldNumber: null, newNumber: null },
    ]);
  });

  it("reads no file from text that is no diff", () => {
    expect(parsePatch("")).toEqual([]);
    expect(parsePatch("<html>not a patch</html>")).toEqual([]);
  });
});
