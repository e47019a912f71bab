/**
 * A task's events as the Transcript shows them: Claude's texts, each tool call
 * with its result (paired by the tool call's id), status changes, the
 * outcome. Pure: events in, items out; an event at or below the last `seq`
 * already taken is skipped, so a replay after a reconnect adds nothing twice.
 */
import type { JsonValue, TaskError, TaskEvent, TaskStatus, TerminalStatus } from "../../worker/src/contract.js";

/** What one tool call did. */
export interface ToolResult {
  content: string;
  isError: boolean;
  truncated: boolean;
}

/** One entry of the transcript. */
export type TranscriptItem =
  | { kind: "status"; seq: number; status: TaskStatus }
  | { kind: "init"; seq: number; model: string | null; tools: string[] }
  | { kind: "text"; seq: number; text: string; truncated: boolean }
  | { kind: "tool"; seq: number; id: string; name: string; input: JsonValue; inputTruncated: boolean; result: ToolResult | null }
  | { kind: "outcome"; seq: number; success: boolean; error: TaskError | null }
  | { kind: "end"; seq: number; status: TerminalStatus };

/** The transcript so far. */
export interface Transcript {
  items: TranscriptItem[];
  /** The `seq` of the last event taken (0: none). */
  lastSeq: number;
  /** The model named by the `init` event. */
  model: string | null;
  /** The terminal status, once the `end` event came. */
  ended: TerminalStatus | null;
}

export const EMPTY_TRANSCRIPT: Transcript = { items: [], lastSeq: 0, model: null, ended: null };

/** `transcript` with `events` added in order; events already taken are skipped. */
export function appendEvents(transcript: Transcript, events: readonly TaskEvent[]): Transcript {
  let { lastSeq, model, ended } = transcript;
  const items = [...transcript.items];
  for (const event of events) {
    if (event.seq <= lastSeq) continue;
    lastSeq = event.seq;
    switch (event.type) {
      case "status":
        items.push({ kind: "status", seq: event.seq, status: event.data.status });
        break;
      case "init":
        model = event.data.model;
        items.push({ kind: "init", seq: event.seq, model: event.data.model, tools: event.data.tools });
        break;
      case "text":
        items.push({ kind: "text", seq: event.seq, text: event.data.text, truncated: event.data.truncated === true });
        break;
      case "tool_use":
        items.push({
          kind: "tool",
          seq: event.seq,
          id: event.data.id,
          name: event.data.name,
          input: event.data.input,
          inputTruncated: event.data.truncated === true,
          result: null,
        });
        break;
      case "tool_result": {
        const result = { content: event.data.content, isError: event.data.isError, truncated: event.data.truncated === true };
        const index = items.findLastIndex((item) => item.kind === "tool" && item.id === event.data.toolUseId && item.result === null);
        const call = items[index];
        if (call?.kind === "tool") items[index] = { ...call, result };
        else items.push({ kind: "tool", seq: event.seq, id: event.data.toolUseId, name: "unknown tool", input: null, inputTruncated: false, result });
        break;
      }
      case "result":
        items.push({ kind: "outcome", seq: event.seq, success: event.data.success, error: event.data.error });
        break;
      case "end":
        ended = event.data.status;
        items.push({ kind: "end", seq: event.seq, status: event.data.status });
        break;
    }
  }
  return { items, lastSeq, model, ended };
}

/** The input field that best says what a tool call does, by the names Claude Code's tools use. */
const SUMMARY_FIELDS = ["command", "file_path", "path", "pattern", "url", "query", "description", "prompt"] as const;

/** A one-line summary of a tool call's input, e.g. the command of `Bash` or the file of `Edit`. */
export function toolSummary(input: JsonValue, max = 100): string {
  let text = "";
  if (typeof input === "string") text = input;
  else if (input !== null && typeof input === "object" && !Array.isArray(input)) {
    const field = SUMMARY_FIELDS.find((name) => typeof input[name] === "string");
    text = field === undefined ? "" : (input[field] as string);
  }
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A tool call's input as readable text: JSON, indented; a string (an input cut to 4 KiB) as it is. */
export function toolInputText(input: JsonValue): string {
  return typeof input === "string" ? input : JSON.stringify(input, null, 2);
}
