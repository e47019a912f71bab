/**
 * What the stand-in sandbox prints for a task: Claude Code's stream-json, as
 * a pure function of the task text. By default an `init`, three short
 * assistant texts with a tool call and its result about 300 ms apart, and a
 * successful result quoting the task. Lines that start with `@stub` shape the
 * run, with one or more directives each (`@stub events=5 delay=400`; docs/api.md,
 * "Trying it locally"):
 *
 * - `events=N`  N assistant texts (0-1000)
 * - `delay=MS`  pause before each assistant text (0-60000)
 * - `exit=CODE` exit code of the process (0-255)
 * - `bytes=N`   N bytes of extra stdout (not JSON), printed after `init`
 * - `start=MS`  Claude Code starts MS after it is asked to, as after a container's cold start (0-120000)
 * - `hang`      never ends by itself
 * - `budget`    ends as Claude Code does at `--max-budget-usd`
 *
 * A directive that is unknown, malformed or out of range is named in the
 * run's `problems` (the stand-in prints them), never silently dropped.
 * The shapes follow what Claude Code 2.1.332 prints (see test/container).
 */

export interface StubDirectives {
  startMs: number;
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
  /** How long the start takes, in ms: the process exists (and prints) only after it. */
  startMs?: number;
  steps: StubStep[];
  /** The exit code after the last step, or null when the run never ends (`hang`). */
  exitCode: number | null;
  /** What was wrong with the task's directives, one sentence each (none when absent: a run scripted by a test). */
  problems?: string[];
}

/** The directives of a task, and what was wrong with those that could not be taken as written. */
export interface ParsedDirectives {
  directives: StubDirectives;
  problems: string[];
}

/** A line of directives: `@stub` first (after any indentation), then the directives. */
const DIRECTIVE_LINE = /^\s*@stub(?:\s+(.*))?$/;

/** The directives that take a whole number: the field each sets and the largest value. */
const NUMBERS = {
  events: { field: "events", max: 1000, what: "N" },
  delay: { field: "delayMs", max: 60_000, what: "MS" },
  exit: { field: "exitCode", max: 255, what: "CODE" },
  bytes: { field: "bytes", max: 1024 ** 3, what: "N" },
  start: { field: "startMs", max: 120_000, what: "MS" },
} as const;

/** The directives that take no value. */
const FLAGS = { hang: "hang", budget: "budget" } as const;

const KNOWN = [...Object.entries(NUMBERS).map(([key, { what }]) => `${key}=${what}`), ...Object.keys(FLAGS)].join(", ");

/** The run of a task without directives. */
export const DEFAULT_DIRECTIVES: StubDirectives = { startMs: 0, events: 3, delayMs: 300, exitCode: null, bytes: 0, hang: false, budget: false };

/** Applies one directive (`key=value` or `key`) to `directives`; returns what was wrong with it, or null. */
function applyDirective(directives: StubDirectives, token: string): string | null {
  const [key = "", value] = token.split(/=(.*)/s, 2);
  if (Object.hasOwn(NUMBERS, key)) {
    const { field, max, what } = NUMBERS[key as keyof typeof NUMBERS];
    if (value === undefined || !/^\d+$/.test(value)) return `\`${token}\`: ${key} takes a whole number from 0 to ${max} (${key}=${what}); ignored`;
    const number = Number(value);
    directives[field] = Math.min(number, max);
    return number > max ? `\`${token}\`: ${key} is at most ${max}; ${max} is used` : null;
  }
  if (Object.hasOwn(FLAGS, key)) {
    if (value !== undefined) return `\`${token}\`: ${key} takes no value (write \`@stub ${key}\`); ignored`;
    directives[FLAGS[key as keyof typeof FLAGS]] = true;
    return null;
  }
  return `unknown directive \`${token}\` (known: ${KNOWN}); ignored`;
}

/**
 * Reads the `@stub` lines of a task over `defaults`, each with one or more
 * directives separated by spaces; other lines are the task. Every directive
 * that is unknown, malformed or out of range is named in `problems`.
 */
export function parseStubDirectives(task: string, defaults: StubDirectives = DEFAULT_DIRECTIVES): ParsedDirectives {
  const directives: StubDirectives = { ...defaults };
  const problems: string[] = [];
  for (const line of task.split("\n")) {
    const match = DIRECTIVE_LINE.exec(line);
    if (!match) continue;
    const tokens = (match[1] ?? "").trim().split(/\s+/).filter((token) => token.length > 0);
    if (tokens.length === 0) problems.push(`\`@stub\` without a directive (known: ${KNOWN})`);
    for (const token of tokens) {
      const problem = applyDirective(directives, token);
      if (problem !== null) problems.push(problem);
    }
  }
  return { directives, problems };
}

/** The text of the stand-in's final answer for `task`. */
export function stubAnswer(task: string): string {
  return `Stub sandbox (no container, no Claude) received this task:\n${task}`;
}

const MODEL = "claude-stub-1";

/** How the stand-in names a problem with a directive, on its stderr and in the task's `stderr`. */
export function problemLine(problem: string): string {
  return `stub sandbox: ${problem}\n`;
}

/**
 * When the `timeout(1)` wrapper of a command ends it, in ms after the
 * process started: the command the Task object builds runs Claude Code as
 * `exec timeout --kill-after=10s <n>s …`. Null for a command without one.
 */
export function wrapperTimeoutMs(command: string): number | null {
  const match = /^exec timeout (?:--kill-after=\S+ )?(\d+)s /.exec(command);
  return match ? Number(match[1]) * 1000 : null;
}

/** The whole run for `task`: the lines to print, their pauses, and the exit code. */
export function stubRun(task: string, sessionId: string, defaults: StubDirectives = DEFAULT_DIRECTIVES): StubRun {
  const { directives, problems } = parseStubDirectives(task, defaults);
  const uuid = () => crypto.randomUUID();
  const line = (message: Record<string, unknown>) => `${JSON.stringify({ ...message, session_id: sessionId, uuid: uuid() })}\n`;
  const assistant = (content: unknown[]) =>
    line({ type: "assistant", message: { role: "assistant", model: MODEL, content }, parent_tool_use_id: null });
  const steps: StubStep[] = [
    ...problems.map((problem): StubStep => ({ kind: "stderr", delayMs: 0, text: problemLine(problem) })),
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
  const run = { startMs: directives.startMs, problems };
  if (directives.hang) return { ...run, steps, exitCode: null };

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
    return { ...run, steps, exitCode: directives.exitCode ?? 1 };
  }
  steps.push({ kind: "stdout", delayMs: 0, text: line({ type: "result", subtype: "success", is_error: false, result: stubAnswer(task), ...common }) });
  return { ...run, steps, exitCode: directives.exitCode ?? 0 };
}
