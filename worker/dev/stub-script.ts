/**
 * What the stand-in sandbox prints for a task: Claude Code's stream-json, as
 * a pure function of the task text. By default an `init`, three short
 * assistant texts with a tool call and its result about 300 ms apart, and a
 * successful result quoting the task. Lines of the form `@stub key=value`
 * shape the run (docs/api.md, "Trying it locally"):
 *
 * - `events=N`  N assistant texts (0-1000)
 * - `delay=MS`  pause before each assistant text (0-60000)
 * - `exit=CODE` exit code of the process (0-255)
 * - `bytes=N`   N bytes of extra stdout (not JSON), printed after `init`
 * - `hang`      never ends by itself
 * - `budget`    ends as Claude Code does at `--max-budget-usd`
 *
 * The shapes follow what Claude Code 2.1.332 prints (see test/container).
 */

export interface StubDirectives {
  events: number;
  delayMs: number;
  exitCode: number | null;
  bytes: number;
  hang: boolean;
  budget: boolean;
}

/** One step of the stand-in's run: wait, then print. */
export type StubStep =
  | { kind: "stdout"; delayMs: number; text: string }
  /** `bytes` of filler lines, printed in chunks (never held whole). */
  | { kind: "filler"; delayMs: number; bytes: number }
  | { kind: "stderr"; delayMs: number; text: string };

export interface StubRun {
  steps: StubStep[];
  /** The exit code after the last step, or null when the run never ends (`hang`). */
  exitCode: number | null;
}

const DIRECTIVE = /^\s*@stub\s+(\w+)(?:=(\S+))?\s*$/;

const LIMITS = { events: 1000, delayMs: 60_000, bytes: 1024 ** 3 } as const;

function bounded(value: string | undefined, max: number): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  return Math.min(Number(value), max);
}

/** The run of a task without directives. */
export const DEFAULT_DIRECTIVES: StubDirectives = { events: 3, delayMs: 300, exitCode: null, bytes: 0, hang: false, budget: false };

/** Reads the `@stub` lines of a task over `defaults`; other lines and unknown or malformed directives are ignored. */
export function parseStubDirectives(task: string, defaults: StubDirectives = DEFAULT_DIRECTIVES): StubDirectives {
  const directives: StubDirectives = { ...defaults };
  for (const line of task.split("\n")) {
    const match = DIRECTIVE.exec(line);
    if (!match) continue;
    const [, key, value] = match;
    switch (key) {
      case "events":
        directives.events = bounded(value, LIMITS.events) ?? directives.events;
        break;
      case "delay":
        directives.delayMs = bounded(value, LIMITS.delayMs) ?? directives.delayMs;
        break;
      case "exit":
        directives.exitCode = bounded(value, 255) ?? directives.exitCode;
        break;
      case "bytes":
        directives.bytes = bounded(value, LIMITS.bytes) ?? directives.bytes;
        break;
      case "hang":
        directives.hang = true;
        break;
      case "budget":
        directives.budget = true;
        break;
    }
  }
  return directives;
}

/** The text of the stand-in's final answer for `task`. */
export function stubAnswer(task: string): string {
  return `Stub sandbox (no container, no Claude) received this task:\n${task}`;
}

const MODEL = "claude-stub-1";

/** The whole run for `task`: the lines to print, their pauses, and the exit code. */
export function stubRun(task: string, sessionId: string, defaults: StubDirectives = DEFAULT_DIRECTIVES): StubRun {
  const directives = parseStubDirectives(task, defaults);
  const uuid = () => crypto.randomUUID();
  const line = (message: Record<string, unknown>) => `${JSON.stringify({ ...message, session_id: sessionId, uuid: uuid() })}\n`;
  const assistant = (content: unknown[]) =>
    line({ type: "assistant", message: { role: "assistant", model: MODEL, content }, parent_tool_use_id: null });
  const steps: StubStep[] = [
    {
      kind: "stdout",
      delayMs: 0,
      text: line({ type: "system", subtype: "init", cwd: "/workspace", model: MODEL, tools: ["Bash", "Edit", "Read", "Write"], permissionMode: "bypassPermissions" }),
    },
  ];
  if (directives.bytes > 0) steps.push({ kind: "filler", delayMs: 0, bytes: directives.bytes });
  for (let index = 1; index <= directives.events; index++) {
    steps.push({ kind: "stdout", delayMs: directives.delayMs, text: assistant([{ type: "text", text: `Step ${index} of ${directives.events}: working on the task.` }]) });
    if (index === 1) {
      const toolUseId = `toolu_stub_${index}`;
      steps.push({ kind: "stdout", delayMs: 0, text: assistant([{ type: "tool_use", id: toolUseId, name: "Bash", input: { command: "echo hello from the stub", description: "Say hello" } }]) });
      steps.push({
        kind: "stdout",
        delayMs: 0,
        text: line({ type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: toolUseId, content: "hello from the stub", is_error: false }] }, parent_tool_use_id: null }),
      });
    }
  }
  if (directives.hang) return { steps, exitCode: null };

  const inputTokens = Math.ceil(task.length / 4);
  const usage = { input_tokens: inputTokens, output_tokens: 12 * Math.max(1, directives.events), cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const modelUsage = { [MODEL]: { inputTokens, outputTokens: usage.output_tokens, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, costUSD: 0 } };
  const common = { duration_ms: 1, num_turns: directives.events, session_id: sessionId, total_cost_usd: 0, usage, modelUsage };
  if (directives.budget) {
    steps.push({
      kind: "stdout",
      delayMs: 0,
      text: line({ type: "result", subtype: "error_max_budget_usd", is_error: true, errors: ["Reached maximum budget ($0.01)"], ...common }),
    });
    return { steps, exitCode: directives.exitCode ?? 1 };
  }
  steps.push({ kind: "stdout", delayMs: 0, text: line({ type: "result", subtype: "success", is_error: false, result: stubAnswer(task), ...common }) });
  return { steps, exitCode: directives.exitCode ?? 0 };
}
