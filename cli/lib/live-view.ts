/**
 * The readable view of `events` on a terminal: one line (or a few) per event,
 * each stamped with the time since the task was accepted, and under them a
 * status line with the task's status, the tool in use and the elapsed time,
 * redrawn by `tick()` (once a second) and cleared when the task ends. A
 * repository task's result also shows its branch, what changed and where it went.
 */
import type { JsonValue, RepositoryDocument, TaskEvent, TaskStatus, TaskUsage } from "../../worker/src/contract.js";

export interface LiveView {
  event(event: TaskEvent): void;
  /** Redraws the status line with the current elapsed time. */
  tick(): void;
  /** Clears the status line. */
  close(): void;
}

export interface Screen {
  write(text: string): unknown;
  columns?: number;
}

/** The time as `m:ss`, or `h:mm:ss` past an hour. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function cut(line: string, limit: number): string {
  return line.length > limit ? `${line.slice(0, Math.max(0, limit - 1))}…` : line;
}

function oneLine(text: string, limit: number): string {
  return cut(text.replace(/\s+/g, " ").trim(), limit);
}

/** What a tool call does, in a few words: the field that says it best, else its input as JSON. */
export function describeToolInput(input: JsonValue): string {
  if (typeof input === "string") return input;
  if (input !== null && typeof input === "object" && !Array.isArray(input)) {
    for (const key of ["command", "file_path", "pattern", "path", "url", "query", "description", "prompt"]) {
      const value = input[key];
      if (typeof value === "string" && value.trim() !== "") return value;
    }
  }
  return JSON.stringify(input);
}

function describeUsage(usage: TaskUsage | null): string {
  if (!usage) return "";
  const parts: string[] = [];
  if (usage.numTurns !== null) parts.push(`${usage.numTurns} turn${usage.numTurns === 1 ? "" : "s"}`);
  if (usage.inputTokens !== null || usage.outputTokens !== null) parts.push(`${usage.inputTokens ?? 0} in / ${usage.outputTokens ?? 0} out tokens`);
  if (usage.costUsd !== null) parts.push(`$${usage.costUsd.toFixed(4)}`);
  return parts.join(", ");
}

/** Changed files listed under a repository task's result; the others are counted. */
const LISTED_FILES = 10;

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

/**
 * What a repository task did, in a few lines cut to `width`: the branch with
 * what changed and whether it was pushed, the changed files with their added
 * and removed lines, and the pull request.
 */
export function describeRepository(repository: RepositoryDocument, width: number): string[] {
  const stat = repository.diffStat;
  const changed = stat !== null && stat.filesChanged > 0;
  const parts = [`branch ${repository.branch}`];
  if (changed) parts.push(`${plural(stat.filesChanged, "file")} changed, +${stat.insertions} -${stat.deletions}`);
  else if (repository.head === null) parts.push("no changes");
  if (repository.pushed) parts.push("pushed");
  else if (repository.push && changed) parts.push("not pushed");
  const lines = [oneLine(parts.join(" · "), width)];
  if (changed) {
    const listed = stat.files.slice(0, LISTED_FILES);
    const counts = listed.map((file) => (file.binary ? "binary" : `+${file.insertions} -${file.deletions}`));
    const column = Math.max(...counts.map((count) => count.length));
    listed.forEach((file, index) => lines.push(cut(`  ${counts[index]!.padStart(column)}  ${oneLine(file.path, width)}`, width)));
    const more = stat.filesChanged - listed.length;
    if (more > 0) lines.push(`  … ${plural(more, "more file")}`);
  }
  if (repository.pullRequest !== null) lines.push(oneLine(`pull request #${repository.pullRequest.number}: ${repository.pullRequest.url}`, width));
  else if (repository.pullRequestRequested && changed) lines.push("no pull request opened");
  return lines;
}

/** The lines an event shows, without the time stamp; tool lines are cut to `width`. */
function describeEvent(event: TaskEvent, width: number): string[] {
  switch (event.type) {
    case "status":
      return [event.data.status];
    case "init":
      return [`Claude Code started: model ${event.data.model ?? "unknown"}${event.data.tools.length > 0 ? `, tools ${event.data.tools.join(", ")}` : ""}`];
    case "text":
      return event.data.text.trim().split(/\r?\n/);
    case "tool_use":
      return [oneLine(`→ ${event.data.name}: ${describeToolInput(event.data.input)}`, width)];
    case "tool_result":
      return [oneLine(`${event.data.isError ? "✗" : "←"} ${event.data.content.trim() === "" ? "(no output)" : event.data.content}`, width)];
    case "result": {
      const usage = describeUsage(event.data.usage);
      const outcome = event.data.success ? "succeeded" : `failed: ${event.data.error?.code ?? "unknown"}${event.data.error ? ` (${event.data.error.message})` : ""}`;
      const repository = event.data.repository ? describeRepository(event.data.repository, width) : [];
      return [`result: ${outcome}${usage ? `; ${usage}` : ""}`, ...repository];
    }
    case "end":
      return [`end: ${event.data.status}`];
  }
}

/**
 * A live view writing to `screen`. `now` gives the local clock; the elapsed
 * time is counted on the server's clock (the events' `at`) and moved on
 * locally from the last event, so a skewed local clock does not matter.
 */
export function createLiveView(screen: Screen, now: () => number = Date.now): LiveView {
  let firstAt: number | null = null;
  let lastAt = 0;
  let lastSeenLocally = 0;
  let status: TaskStatus | null = null;
  let ended = false;
  const toolsInUse = new Map<string, string>();
  let footerShown = false;

  // A terminal that does not say its size (0 columns) counts as 100 wide.
  const width = () => Math.max(20, (screen.columns || 100) - 1);
  const elapsed = () => (firstAt === null ? 0 : lastAt - firstAt + Math.max(0, now() - lastSeenLocally));

  const clearFooter = () => {
    if (footerShown) screen.write("\r\x1b[2K");
    footerShown = false;
  };
  const drawFooter = () => {
    if (ended || status === null) return;
    const tool = [...toolsInUse.values()].at(-1);
    const text = `${status}${tool ? ` · using ${tool}` : ""} · ${formatElapsed(elapsed())} elapsed`;
    screen.write(`\r\x1b[2K${oneLine(text, width())}`);
    footerShown = true;
  };

  return {
    event(event) {
      const at = Date.parse(event.at);
      if (firstAt === null) firstAt = at;
      lastAt = at;
      lastSeenLocally = now();
      if (event.type === "status") status = event.data.status;
      if (event.type === "tool_use") toolsInUse.set(event.data.id, event.data.name);
      if (event.type === "tool_result") toolsInUse.delete(event.data.toolUseId);
      if (event.type === "end") {
        ended = true;
        toolsInUse.clear();
      }
      const stamp = formatElapsed(at - firstAt).padStart(5);
      const pad = " ".repeat(stamp.length);
      const lines = describeEvent(event, width() - stamp.length - 2);
      clearFooter();
      screen.write(`${lines.map((line, index) => `${index === 0 ? stamp : pad}  ${line}`).join("\n")}\n`);
      drawFooter();
    },
    tick() {
      if (footerShown) drawFooter();
    },
    close() {
      clearFooter();
    },
  };
}
