/**
 * The short texts the MCP tools return beside their `structuredContent`, as
 * pure functions: what a model (or a client that shows only text) reads of a
 * task, its result, its events, a list, a patch or an API error. Long values
 * are cut here; the structured document keeps them whole.
 */
import type { TaskError, TaskEvent, TaskEventsPage, TaskListDocument, TaskResult, TaskStatusDocument, TerminalStatus } from "../contract.js";

/** A result as the tools give it: the API's, without Claude Code's raw stdout. */
export type AgentResult = Omit<TaskResult, "stdout">;

/** The error body of the API: `{error, code}` and, where they apply, `details`, `taskId`, `status`, `result`. */
export interface ApiErrorBody {
  error: string;
  code: string;
  details?: Record<string, unknown>;
  [field: string]: unknown;
}

/** Most characters of a result's `output` in its text. */
export const OUTPUT_TEXT_CHARS = 16_000;
/** Most characters of one event in an events text. */
export const EVENT_TEXT_CHARS = 300;

/** `text` on one line and at most `max` characters, with `…` where it was cut. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** One sentence on how a task ended. */
function describeEnd(taskId: string, status: TerminalStatus, durationMs: number, error: TaskError | null): string {
  const id = `Task ${taskId}`;
  if (status === "succeeded") return `${id} succeeded in ${seconds(durationMs)}.`;
  const why = error ? ` (${error.code}: ${error.message})` : "";
  return `${id} ${status === "timed_out" ? "timed out" : status}${why} after ${seconds(durationMs)}.`;
}

/** One sentence on where a task stands. */
export function describeStatus(task: TaskStatusDocument): string {
  switch (task.status) {
    case "queued":
      return task.queuePosition === undefined
        ? `Task ${task.taskId} is queued, waiting for a sandbox.`
        : `Task ${task.taskId} is queued behind ${task.queuePosition} task(s) on its repository branch.`;
    case "running":
      return `Task ${task.taskId} is running (${task.eventCount} events so far).`;
    default:
      return describeEnd(task.taskId, task.status, task.durationMs ?? 0, task.error);
  }
}

/** What a repository task handed back, in a sentence; empty for a task without a repository. */
function describeRepository(repository: TaskStatusDocument["repository"]): string {
  if (!repository) return "";
  const changes = repository.diffStat
    ? `${repository.diffStat.filesChanged} file(s) changed, +${repository.diffStat.insertions} −${repository.diffStat.deletions}`
    : "no changes recorded";
  const pushed = repository.pushed ? `, pushed to ${repository.branch}` : ` on branch ${repository.branch}`;
  const pullRequest = repository.pullRequest ? `, pull request ${repository.pullRequest.url}` : "";
  return `Repository ${repository.url}: ${changes}${pushed}${pullRequest}.`;
}

/** A finished task: how it ended, what it changed, and its output (cut to `OUTPUT_TEXT_CHARS`). */
export function describeResult(result: AgentResult): string {
  const lines = [describeEnd(result.taskId, result.status, result.durationMs, result.error ?? null)];
  const repository = describeRepository(result.repository);
  if (repository) lines.push(repository);
  if (result.output.length === 0) {
    lines.push("It gave no output.");
  } else {
    const cut = result.output.length > OUTPUT_TEXT_CHARS;
    lines.push(`Output${cut ? ` (the first ${OUTPUT_TEXT_CHARS} characters; all of it is in the structured result)` : ""}:`, "", result.output.slice(0, cut ? OUTPUT_TEXT_CHARS : undefined));
  }
  return lines.join("\n");
}

/** A task that was waited for: its result when it ended, else where it stands and what to do next. */
export function describeOutcome(task: TaskStatusDocument, result: AgentResult | null): string {
  if (result !== null) return describeResult(result);
  return `${describeStatus(task)} Call wait_for_task to wait for it, or get_task_events to see what it is doing.`;
}

/** One event on one line. */
export function describeEvent(event: TaskEvent): string {
  const head = `#${event.seq} ${event.type}`;
  switch (event.type) {
    case "status":
    case "end":
      return `${head}: ${event.data.status}`;
    case "init":
      return `${head}: model ${event.data.model ?? "unknown"}`;
    case "text":
      return `${head}: ${oneLine(event.data.text, EVENT_TEXT_CHARS)}`;
    case "tool_use":
      return `${head} ${event.data.name}: ${oneLine(typeof event.data.input === "string" ? event.data.input : JSON.stringify(event.data.input), EVENT_TEXT_CHARS)}`;
    case "tool_result":
      return `${head}${event.data.isError ? " (error)" : ""}: ${oneLine(event.data.content, EVENT_TEXT_CHARS)}`;
    case "result":
      return `${head}: ${event.data.success ? "success" : `failure (${event.data.error?.code ?? "unknown"})`}`;
  }
}

/** A page of events, one line each, and how to read on. */
export function describeEvents(taskId: string, page: TaskEventsPage): string {
  if (page.events.length === 0) {
    return page.done ? `Task ${taskId} has no events after #${page.next}: it has ended.` : `Task ${taskId} has no new events after #${page.next} yet.`;
  }
  const more = page.done ? "This is the last page: the task has ended." : `Pass after: ${page.next} to read on.`;
  return [`Events of task ${taskId}:`, ...page.events.map(describeEvent), more].join("\n");
}

/** A page of tasks, one line each, and the cursor of the next page. */
export function describeList(list: TaskListDocument): string {
  if (list.tasks.length === 0) return "No tasks.";
  const lines = list.tasks.map((task) => `${task.taskId} ${task.status} (created ${task.createdAt}${task.repository ? `, ${task.repository.url}` : ""})`);
  if (list.cursor !== null) lines.push(`Older tasks: pass cursor: ${list.cursor}.`);
  return lines.join("\n");
}

/** A patch, after a line that says what it is. */
export function describePatch(taskId: string, patch: string, truncated: boolean): string {
  if (patch.length === 0) return `Task ${taskId} changed nothing: its patch is empty.`;
  const head = truncated ? `The patch of task ${taskId}, cut after its last whole line within 1 MiB:` : `The patch of task ${taskId}:`;
  return `${head}\n\n${patch}`;
}

/**
 * An error answer of the API: its code first (what programs and models branch
 * on), the HTTP status, the message, and the details and fields that say more
 * (a result a failed store carries is left out: it can be large).
 */
export function describeApiError(status: number, body: ApiErrorBody): string {
  const { error, code, details, result: _result, ...fields } = body;
  const parts = [`${code} (HTTP ${status}): ${error}`];
  if (details !== undefined) parts.push(`details: ${JSON.stringify(details)}`);
  for (const [name, value] of Object.entries(fields)) parts.push(`${name}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  return parts.join("; ");
}
