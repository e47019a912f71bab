/**
 * What a person sees on a terminal: the waiting line of execute-task and wait
 * (stderr, elapsed time, nothing when not a terminal) and the live view of
 * `events` (one line per event, a status line with the tool in use and the
 * elapsed time), driven by fake timers; and the waiting line on a real terminal.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RepositoryDocument, TaskEvent } from "../../worker/src/contract.js";
import { createLiveView, describeRepository, describeToolInput, formatElapsed } from "../../cli/lib/live-view.js";
import { startProgress } from "../../cli/lib/progress.js";
import { sharedStub } from "../fixtures/dev-stub.js";
import { hasScript, runOnTerminal } from "./fixtures/run-cli.js";

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-01-01T12:00:00.000Z") });
});

afterEach(() => {
  vi.useRealTimers();
});

describe("startProgress", () => {
  it("draws the elapsed time each second on a terminal and clears the line when done", () => {
    const { stream, written } = fakeStream(true);
    const stop = startProgress("waiting", stream);
    expect(written).toEqual(["\r\x1b[2Kwaiting 0m00s"]);
    vi.advanceTimersByTime(1_000);
    expect(written.at(-1)).toBe("\r\x1b[2Kwaiting 0m01s");
    vi.advanceTimersByTime(61_000);
    expect(written.at(-1)).toBe("\r\x1b[2Kwaiting 1m02s");
    stop();
    expect(written.at(-1)).toBe("\r\x1b[2K");
    vi.advanceTimersByTime(5_000);
    expect(written.at(-1)).toBe("\r\x1b[2K");
  });

  it("asks a label given as a function again at each redraw, clearing the longer one before", () => {
    const { stream, written } = fakeStream(true);
    let label = "waiting for task t: queued behind other tasks on claude/0190a1b2";
    const stop = startProgress(() => label, stream);
    label = "waiting for task t: running";
    vi.advanceTimersByTime(1_000);
    expect(written).toEqual(["\r\x1b[2Kwaiting for task t: queued behind other tasks on claude/0190a1b2 0m00s", "\r\x1b[2Kwaiting for task t: running 0m01s"]);
    stop();
  });

  it("writes nothing when stderr is not a terminal", () => {
    const { stream, written } = fakeStream(false);
    const stop = startProgress("waiting", stream);
    vi.advanceTimersByTime(3_000);
    stop();
    expect(written).toEqual([]);
  });
});

/** An event `ms` after the task was accepted. */
function at(ms: number): string {
  return new Date(Date.parse("2026-01-01T11:59:00.000Z") + ms).toISOString();
}

describe("the live view of events", () => {
  function screen() {
    const written: string[] = [];
    return { screen: { write: (text: string) => written.push(text), columns: 80 }, written };
  }

  it("prints each event on its own line, stamped with the time since the task was accepted", () => {
    const { screen: out, written } = screen();
    const view = createLiveView(out);
    const events: TaskEvent[] = [
      { seq: 1, type: "status", at: at(0), data: { status: "queued" } },
      { seq: 2, type: "status", at: at(1_200), data: { status: "running" } },
      { seq: 3, type: "init", at: at(1_500), data: { sessionId: "s", model: "claude-opus-4", tools: ["Bash", "Read"] } },
      { seq: 4, type: "text", at: at(3_000), data: { text: "Looking at the repository.\nThen the tests." } },
      { seq: 5, type: "tool_use", at: at(4_000), data: { id: "t1", name: "Bash", input: { command: "npm test", description: "Run the tests" } } },
      { seq: 6, type: "tool_result", at: at(65_000), data: { toolUseId: "t1", isError: true, content: "1 failing\nexpected 2" } },
      {
        seq: 7,
        type: "result",
        at: at(66_000),
        data: {
          success: false,
          error: { code: "max_turns_reached", message: "Claude Code stopped at maxTurns" },
          usage: { inputTokens: 10, outputTokens: 20, cacheCreationInputTokens: 0, cacheReadInputTokens: 0, costUsd: 0.0123, numTurns: 1, sessionId: "s", models: null },
        },
      },
      { seq: 8, type: "end", at: at(66_000), data: { status: "failed" } },
    ];
    for (const event of events) view.event(event);
    view.close();
    // Without the status line (drawn and cleared around each event): what stays on the screen.
    const lines = written
      .filter((entry) => !entry.startsWith("\r\x1b[2K"))
      .join("")
      .split("\n");
    expect(lines).toEqual([
      " 0:00  queued",
      " 0:01  running",
      " 0:01  Claude Code started: model claude-opus-4, tools Bash, Read",
      " 0:03  Looking at the repository.",
      "       Then the tests.",
      " 0:04  → Bash: npm test",
      " 1:05  ✗ 1 failing expected 2",
      " 1:06  result: failed: max_turns_reached (Claude Code stopped at maxTurns); 1 turn, 10 in / 20 out tokens, $0.0123",
      " 1:06  end: failed",
      "",
    ]);
  });

  it("shows the status, the tool in use and the elapsed time under the events, ticking each second, and clears it at the end", () => {
    const { screen: out, written } = screen();
    const view = createLiveView(out);
    const footer = () => written.filter((entry) => entry.startsWith("\r\x1b[2K") && entry.length > 4).at(-1);
    view.event({ seq: 1, type: "status", at: at(0), data: { status: "running" } });
    expect(footer()).toBe("\r\x1b[2Krunning · 0:00 elapsed");
    view.event({ seq: 2, type: "tool_use", at: at(2_000), data: { id: "t1", name: "Read", input: { file_path: "/workspace/README.md" } } });
    expect(footer()).toBe("\r\x1b[2Krunning · using Read · 0:02 elapsed");
    // The local clock moves on from the last event; the server's clock is not asked again.
    vi.advanceTimersByTime(3_000);
    view.tick();
    expect(footer()).toBe("\r\x1b[2Krunning · using Read · 0:05 elapsed");
    view.event({ seq: 3, type: "tool_result", at: at(6_000), data: { toolUseId: "t1", isError: false, content: "# Hello" } });
    expect(footer()).toBe("\r\x1b[2Krunning · 0:06 elapsed");
    view.event({ seq: 4, type: "end", at: at(7_000), data: { status: "cancelled" } });
    expect(written.at(-1)).toBe(" 0:07  end: cancelled\n");
    const count = written.length;
    view.tick();
    view.close();
    expect(written.length).toBe(count);
  });

  it("keeps the status line to one terminal line", () => {
    const { screen: out, written } = screen();
    const view = createLiveView({ ...out, columns: 40 });
    view.event({ seq: 1, type: "status", at: at(0), data: { status: "running" } });
    view.event({ seq: 2, type: "tool_use", at: at(0), data: { id: "t", name: "mcp__a_very_long_server_name__and_a_long_tool_name", input: {} } });
    const footer = written.at(-1)!.replace("\r\x1b[2K", "");
    expect(footer.length).toBeLessThanOrEqual(39);
    expect(footer.endsWith("…")).toBe(true);
  });

  it("takes a terminal that does not say its size (0 columns) as 100 wide", () => {
    const { screen: out, written } = screen();
    const view = createLiveView({ ...out, columns: 0 });
    view.event({ seq: 1, type: "tool_use", at: at(0), data: { id: "t", name: "Bash", input: { command: "x".repeat(200) } } });
    expect(written.find((entry) => entry.includes("→ Bash"))).toBe(` 0:00  → Bash: ${"x".repeat(83)}…\n`);
  });

  it("shows a repository task's branch, what changed and its pull request under its result", () => {
    const { screen: out, written } = screen();
    const view = createLiveView(out);
    const repository: RepositoryDocument = {
      url: "https://github.com/octo/app",
      ref: null,
      branch: "claude/0190a1b2",
      push: true,
      pullRequestRequested: true,
      base: "1111111",
      head: "2222222",
      diffStat: {
        filesChanged: 3,
        insertions: 12,
        deletions: 4,
        files: [
          { path: "src/app.ts", insertions: 10, deletions: 2, binary: false },
          { path: "README.md", insertions: 2, deletions: 2, binary: false },
          { path: "logo.png", insertions: 0, deletions: 0, binary: true },
        ],
        truncated: false,
      },
      pushed: true,
      pullRequest: { url: "https://github.com/octo/app/pull/7", number: 7 },
      artifacts: { "changes.patch": "/tasks/0190a1b2-0000-7000-8000-000000000000/artifacts/changes.patch" },
    };
    view.event({ seq: 1, type: "result", at: at(0), data: { success: true, error: null, usage: null, repository } });
    view.event({ seq: 2, type: "end", at: at(0), data: { status: "succeeded" } });
    expect(written.filter((entry) => !entry.startsWith("\r\x1b[2K")).join("")).toBe(
      [
        " 0:00  result: succeeded",
        "       branch claude/0190a1b2 · 3 files changed, +12 -4 · pushed",
        "         +10 -2  src/app.ts",
        "          +2 -2  README.md",
        "         binary  logo.png",
        "       pull request #7: https://github.com/octo/app/pull/7",
        " 0:00  end: succeeded",
        "",
      ].join("\n"),
    );
  });

  it("says when a repository task changed nothing, lists at most ten files, and cuts long paths to the terminal", () => {
    const base: RepositoryDocument = {
      url: "https://github.com/octo/app",
      ref: "v1.2.0",
      branch: "fix/typo",
      push: false,
      pullRequestRequested: false,
      base: "1111111",
      head: null,
      diffStat: null,
      pushed: false,
      pullRequest: null,
      artifacts: {},
    };
    expect(describeRepository(base, 80)).toEqual(["branch fix/typo · no changes"]);
    const files = Array.from({ length: 12 }, (_, index) => ({ path: `src/file-${index}.ts`, insertions: 1, deletions: 0, binary: false }));
    const many = describeRepository({ ...base, push: true, head: "2222222", diffStat: { filesChanged: 40, insertions: 40, deletions: 0, files, truncated: true } }, 80);
    expect(many[0]).toBe("branch fix/typo · 40 files changed, +40 -0 · not pushed");
    expect(many.slice(1, -1)).toHaveLength(10);
    expect(many.at(-1)).toBe("  … 30 more files");
    const long = describeRepository({ ...base, head: "2222222", diffStat: { filesChanged: 1, insertions: 1, deletions: 1, files: [{ path: `${"deep/".repeat(20)}x.ts`, insertions: 1, deletions: 1, binary: false }], truncated: false } }, 40);
    expect(long[1]).toHaveLength(40);
    expect(long[1]).toMatch(/^ {2}\+1 -1 {2}deep\/deep\/.*…$/);
  });

  it("says what a tool call does in a few words", () => {
    expect(describeToolInput({ command: "ls -la", description: "List" })).toBe("ls -la");
    expect(describeToolInput({ file_path: "/a/b.ts", content: "x" })).toBe("/a/b.ts");
    expect(describeToolInput({ pattern: "TODO", path: "src" })).toBe("TODO");
    expect(describeToolInput({ other: 1 })).toBe('{"other":1}');
    expect(describeToolInput('{"cut": "to 4 KiB')).toBe('{"cut": "to 4 KiB');
    expect(formatElapsed(3_599_000)).toBe("59:59");
    expect(formatElapsed(3_600_000)).toBe("1:00:00");
  });
});

describe.skipIf(!hasScript)("on a real terminal", () => {
  it("execute-task says which task it waits for, shows the waiting line, then the result", async () => {
    vi.useRealTimers();
    const stub = await sharedStub();
    const run = runOnTerminal(["execute-task", stub.url, stub.token, "hello"]);
    const taskId = /Task ([0-9a-f-]{36}) accepted/.exec(run.stdout)?.[1];
    expect(taskId).toBeDefined();
    expect(run.stdout).toMatch(new RegExp(`waiting for task ${taskId}(: (queued|running))? 0m0\\ds`));
    expect(run.stdout).toContain('"success": true');
  });
});
