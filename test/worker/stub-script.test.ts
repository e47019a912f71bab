/** The stand-in sandbox's `@stub` directives (dev:stub and these tests rely on them). */
import { describe, expect, it } from "vitest";
import { DEFAULT_DIRECTIVES, parseStubDirectives, stubAnswer, stubRun } from "../../worker/dev/stub-script.js";
import { parseStreamJsonLine } from "../../worker/src/events/stream-json.js";

describe("parseStubDirectives", () => {
  it.each([
    ["no directive", "What is 2 + 2?", {}],
    ["events", "@stub events=7", { events: 7 }],
    ["delay", "@stub delay=1500", { delayMs: 1500 }],
    ["exit", "@stub exit=3", { exitCode: 3 }],
    ["bytes", "@stub bytes=1000000", { bytes: 1_000_000 }],
    ["hang", "@stub hang", { hang: true }],
    ["budget", "@stub budget", { budget: true }],
    ["several, with spaces", "  @stub events=0  \nfix it\n@stub delay=5", { events: 0, delayMs: 5 }],
    ["a bound over the maximum", "@stub events=999999", { events: 1000 }],
    ["a malformed value", "@stub events=lots", {}],
    ["an unknown key", "@stub explode=1", {}],
    ["a directive inside a line", "please @stub hang", {}],
  ])("%s", (_name, task, changes) => {
    expect(parseStubDirectives(task)).toEqual({ ...DEFAULT_DIRECTIVES, ...changes });
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

  it("prints filler after init for bytes, and exits with the given code", () => {
    const run = stubRun("@stub bytes=5\n@stub exit=9", "s");
    expect(run.steps[1]).toEqual({ kind: "filler", delayMs: 0, bytes: 5 });
    expect(run.exitCode).toBe(9);
  });
});
