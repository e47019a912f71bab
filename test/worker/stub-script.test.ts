/** The stand-in sandbox's `@stub` directives (dev:stub and these tests rely on them). */
import { describe, expect, it } from "vitest";
import { DEFAULT_DIRECTIVES, parseStubDirectives, problemLine, stubAnswer, stubRun, wrapperTimeoutMs } from "../../worker/dev/stub-script.js";
import { parseStreamJsonLine } from "../../worker/src/events/stream-json.js";
import { buildClaudeInvocation } from "../../worker/src/tasks/claude-command.js";

describe("parseStubDirectives", () => {
  it.each([
    ["no directive", "What is 2 + 2?", {}],
    ["events", "@stub events=7", { events: 7 }],
    ["delay", "@stub delay=1500", { delayMs: 1500 }],
    ["exit", "@stub exit=3", { exitCode: 3 }],
    ["bytes", "@stub bytes=1000000", { bytes: 1_000_000 }],
    ["start", "@stub start=2000", { startMs: 2000 }],
    ["hang", "@stub hang", { hang: true }],
    ["budget", "@stub budget", { budget: true }],
    ["one a line, with spaces", "  @stub events=0  \nfix it\n@stub delay=5", { events: 0, delayMs: 5 }],
    ["several on one line", "Count to five\n@stub events=5 delay=400", { events: 5, delayMs: 400 }],
    ["several on one line, tabs and flags between", "@stub\thang  events=2\tbudget exit=7", { hang: true, events: 2, budget: true, exitCode: 7 }],
    ["a later directive over an earlier one", "@stub events=1 events=4", { events: 4 }],
    ["a directive inside a line is the task's text", "please @stub hang", {}],
    ["a word that only starts like one is the task's text", "@stubborn events=9", {}],
  ])("%s", (_name, task, changes) => {
    expect(parseStubDirectives(task)).toEqual({ directives: { ...DEFAULT_DIRECTIVES, ...changes }, problems: [] });
  });

  it.each([
    ["an unknown directive", "@stub explode=1", {}, "unknown directive `explode=1` (known: events=N, delay=MS, exit=CODE, bytes=N, start=MS, hang, budget); ignored"],
    ["an unknown flag beside good ones", "@stub events=2 fast delay=0", { events: 2, delayMs: 0 }, "unknown directive `fast` (known: events=N, delay=MS, exit=CODE, bytes=N, start=MS, hang, budget); ignored"],
    ["a value that is not a number", "@stub events=lots", {}, "`events=lots`: events takes a whole number from 0 to 1000 (events=N); ignored"],
    ["a number without its value", "@stub delay", {}, "`delay`: delay takes a whole number from 0 to 60000 (delay=MS); ignored"],
    ["a negative number", "@stub exit=-1", {}, "`exit=-1`: exit takes a whole number from 0 to 255 (exit=CODE); ignored"],
    ["a flag with a value", "@stub hang=yes", {}, "`hang=yes`: hang takes no value (write `@stub hang`); ignored"],
    ["a number over its maximum, which is used at the maximum", "@stub events=999999", { events: 1000 }, "`events=999999`: events is at most 1000; 1000 is used"],
    ["`@stub` alone", "fix it\n@stub", {}, "`@stub` without a directive (known: events=N, delay=MS, exit=CODE, bytes=N, start=MS, hang, budget)"],
  ])("names %s, and takes the rest", (_name, task, changes, problem) => {
    expect(parseStubDirectives(task)).toEqual({ directives: { ...DEFAULT_DIRECTIVES, ...changes }, problems: [problem] });
  });

  it("names each bad directive of a task, in order", () => {
    expect(parseStubDirectives("@stub events=x\nwork\n@stub boom hang=1").problems).toEqual([
      "`events=x`: events takes a whole number from 0 to 1000 (events=N); ignored",
      "unknown directive `boom` (known: events=N, delay=MS, exit=CODE, bytes=N, start=MS, hang, budget); ignored",
      "`hang=1`: hang takes no value (write `@stub hang`); ignored",
    ]);
  });
});

describe("wrapperTimeoutMs", () => {
  const command = (timeoutMs: number) =>
    buildClaudeInvocation({ task: "t", permissionMode: "bypassPermissions", timeoutMs, credential: { kind: "oauth", token: "x" }, credentialMode: "proxy" }).command;

  it("reads when timeout(1) ends the command the Task object builds, in whole seconds as timeout(1) counts", () => {
    expect(wrapperTimeoutMs(command(3000))).toBe(3000);
    expect(wrapperTimeoutMs(command(2500))).toBe(3000);
    expect(wrapperTimeoutMs(command(300_000))).toBe(300_000);
  });

  it("finds none in a command without the wrapper", () => {
    expect(wrapperTimeoutMs("true")).toBeNull();
    expect(wrapperTimeoutMs("claude --print -- 'exec timeout 5s'")).toBeNull();
  });
});

describe("stubRun", () => {
  const lines = (task: string) =>
    stubRun(task, "s")
      .steps.filter((step) => step.kind === "stdout")
      .map((step) => parseStreamJsonLine((step as { text: string }).text));

  it("plays init, three texts with a tool call and its result, and a result quoting the task, about 300 ms apart", () => {
    const run = stubRun("What is 2 + 2?", "s");
    expect(run.exitCode).toBe(0);
    expect(lines("What is 2 + 2?").flatMap((line) => line.events.map((event) => event.type))).toEqual(["init", "text", "tool_use", "tool_result", "text", "text"]);
    expect(lines("What is 2 + 2?").at(-1)!.final).toMatchObject({ subtype: "success", result: stubAnswer("What is 2 + 2?") });
    expect(run.steps.filter((step) => step.delayMs === 300)).toHaveLength(3);
  });

  it("never ends with hang, and ends like a budget stop with budget", () => {
    expect(stubRun("@stub hang", "s").exitCode).toBeNull();
    expect(lines("@stub hang").at(-1)!.final).toBeNull();
    expect(stubRun("@stub budget", "s").exitCode).toBe(1);
    expect(lines("@stub budget").at(-1)!.final).toMatchObject({ subtype: "error_max_budget_usd", isError: true });
  });

  it("prints what was wrong with its directives on stderr first, and plays the rest", () => {
    const run = stubRun("@stub events=1 explode", "s");
    expect(run.problems).toHaveLength(1);
    expect(run.steps[0]).toEqual({ kind: "stderr", delayMs: 0, text: problemLine(run.problems![0]!) });
    expect(problemLine(run.problems![0]!)).toMatch(/^stub sandbox: unknown directive `explode` .*\n$/);
    expect(lines("@stub events=1 explode").flatMap((line) => line.events.map((event) => event.type))).toEqual(["init", "text", "tool_use", "tool_result"]);
  });

  it("prints filler after init for bytes, and exits with the given code", () => {
    const run = stubRun("@stub bytes=5\n@stub exit=9", "s");
    expect(run.steps[1]).toEqual({ kind: "filler", delayMs: 0, bytes: 5 });
    expect(run.exitCode).toBe(9);
  });
});
