/**
 * Claude Code's `--output-format stream-json --verbose` output, one JSON
 * message per line, turned into the API's event vocabulary (contract.ts):
 * `system/init` → `init`, assistant `text` and `tool_use` blocks → `text` and
 * `tool_use`, user `tool_result` blocks → `tool_result`. The final `result`
 * message is not an event here: it decides the task's outcome and usage, and
 * the task object emits `result` and `end` when the task ends.
 * Tool inputs and results are cut to `LIMITS.eventToolBytes`, texts to
 * `LIMITS.eventTextBytes`, each marked `truncated: true` when cut.
 *
 * Everything here comes from the container, so what is kept of identifiers
 * is bounded too: a session id only when it looks like one, model names that
 * look like model names, at most `MAX_USAGE_MODELS` models in a usage,
 * `MAX_INIT_TOOLS` short tool names in an `init`, and a few short error texts. The deployment's secrets
 * are redacted later, where they are known (task-documents.ts, task-store.ts).
 */
import { type JsonValue, LIMITS, MODEL_PATTERN, type ModelUsage, type TaskEventData, type TaskUsage } from "../contract.js";

/** An event before the task object numbers and stamps it. */
export type EventDraft = {
  [Type in keyof TaskEventData]: { type: Type; data: TaskEventData[Type] };
}[keyof TaskEventData];

/** Claude Code's final `result` message. */
export interface ClaudeResultMessage {
  subtype: string | null;
  isError: boolean;
  /** Claude's final text. */
  result: string;
  errors: string[];
  usage: TaskUsage;
}

/** What one line of stream-json means. */
export interface ParsedLine {
  events: EventDraft[];
  /** Set when the line is the final `result` message. */
  final: ClaudeResultMessage | null;
  /** The message's `uuid`, used to find the place again after a reattach. */
  uuid: string | null;
}

const EMPTY: ParsedLine = { events: [], final: null, uuid: null };

type Json = Record<string, unknown>;

/** The most models a usage keeps (a task uses a handful). */
export const MAX_USAGE_MODELS = 32;

/** The most error texts a final message keeps, and the most bytes of each. */
const MAX_RESULT_ERRORS = 16;
const MAX_RESULT_ERROR_BYTES = 1024;

/** The most tool names an `init` event keeps, and the longest name. */
export const MAX_INIT_TOOLS = 256;
const MAX_TOOL_NAME_LENGTH = 128;

/** A session id as Claude Code gives it (a UUID), or any short id of the same characters. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
/** `value` when it is a string that matches `pattern`, else null. */
const matching = (value: unknown, pattern: RegExp): string | null => (typeof value === "string" && pattern.test(value) ? value : null);
const count = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, never inside a character. */
export function cutText(text: string, maxBytes: number): { text: string; truncated: boolean } {
  if (text.length * 3 <= maxBytes) return { text, truncated: false };
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return { text, truncated: false };
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of a character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { text: decoder.decode(bytes.subarray(0, end)), truncated: true };
}

function toolInput(input: unknown): { input: JsonValue; truncated?: true } {
  const json = JSON.stringify(input ?? {});
  const cut = cutText(json, LIMITS.eventToolBytes);
  // A cut input is no longer valid JSON: it is given as the text it was cut to.
  return cut.truncated ? { input: cut.text, truncated: true } : { input: JSON.parse(json) as JsonValue };
}

function toolResultContent(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((block) => {
      if (!isObject(block)) return "";
      if (block.type === "text") return str(block.text) ?? "";
      return `[${str(block.type) ?? "content"}]`;
    })
    .join("\n");
}

function assistantEvents(message: Json): EventDraft[] {
  const content = Array.isArray(message.content) ? message.content : [];
  const events: EventDraft[] = [];
  for (const block of content) {
    if (!isObject(block)) continue;
    if (block.type === "text") {
      const text = str(block.text) ?? "";
      if (text.trim().length === 0) continue;
      const cut = cutText(text, LIMITS.eventTextBytes);
      events.push({ type: "text", data: cut.truncated ? { text: cut.text, truncated: true } : { text } });
    } else if (block.type === "tool_use") {
      events.push({
        type: "tool_use",
        data: { id: str(block.id) ?? "", name: str(block.name) ?? "", ...toolInput(block.input) },
      });
    }
  }
  return events;
}

function userEvents(message: Json): EventDraft[] {
  const content = Array.isArray(message.content) ? message.content : [];
  const events: EventDraft[] = [];
  for (const block of content) {
    if (!isObject(block) || block.type !== "tool_result") continue;
    const cut = cutText(toolResultContent(block.content), LIMITS.eventToolBytes);
    events.push({
      type: "tool_result",
      data: {
        toolUseId: str(block.tool_use_id) ?? "",
        isError: block.is_error === true,
        content: cut.text,
        ...(cut.truncated ? { truncated: true as const } : {}),
      },
    });
  }
  return events;
}

/** The usage per model: the first `MAX_USAGE_MODELS` entries with a model's name and an object of counts. */
function modelUsage(value: unknown): Record<string, ModelUsage> | null {
  if (!isObject(value)) return null;
  const models: Record<string, ModelUsage> = {};
  let kept = 0;
  for (const model in value) {
    if (kept === MAX_USAGE_MODELS) break;
    const usage = value[model];
    if (!Object.hasOwn(value, model) || !MODEL_PATTERN.test(model) || !isObject(usage)) continue;
    kept += 1;
    models[model] = {
      inputTokens: count(usage.inputTokens),
      outputTokens: count(usage.outputTokens),
      cacheReadInputTokens: count(usage.cacheReadInputTokens),
      cacheCreationInputTokens: count(usage.cacheCreationInputTokens),
      costUsd: count(usage.costUSD),
    };
  }
  return Object.keys(models).length > 0 ? models : null;
}

/** Reads the final `result` message's usage: tokens, cost, turns, session and per-model usage. */
export function usageOf(message: Json): TaskUsage {
  const usage = isObject(message.usage) ? message.usage : {};
  return {
    inputTokens: count(usage.input_tokens),
    outputTokens: count(usage.output_tokens),
    cacheCreationInputTokens: count(usage.cache_creation_input_tokens),
    cacheReadInputTokens: count(usage.cache_read_input_tokens),
    costUsd: count(message.total_cost_usd),
    numTurns: count(message.num_turns),
    sessionId: matching(message.session_id, SESSION_ID_PATTERN),
    models: modelUsage(message.modelUsage),
  };
}

/** The tool names of an `init` message: the first `MAX_INIT_TOOLS` strings of at most `MAX_TOOL_NAME_LENGTH` characters. */
function initTools(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const tools: string[] = [];
  for (const tool of value) {
    if (tools.length === MAX_INIT_TOOLS) break;
    if (typeof tool === "string" && tool.length > 0 && tool.length <= MAX_TOOL_NAME_LENGTH) tools.push(tool);
  }
  return tools;
}

/** Parses one line of Claude Code's stream-json output; anything else means nothing. */
export function parseStreamJsonLine(line: string): ParsedLine {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return EMPTY;
  let message: unknown;
  try {
    message = JSON.parse(trimmed);
  } catch {
    return EMPTY;
  }
  if (!isObject(message)) return EMPTY;
  const uuid = str(message.uuid);
  switch (message.type) {
    case "system":
      if (message.subtype !== "init") return { ...EMPTY, uuid };
      return {
        events: [
          {
            type: "init",
            data: {
              sessionId: matching(message.session_id, SESSION_ID_PATTERN),
              model: matching(message.model, MODEL_PATTERN),
              tools: initTools(message.tools),
            },
          },
        ],
        final: null,
        uuid,
      };
    case "assistant":
      return { events: isObject(message.message) ? assistantEvents(message.message) : [], final: null, uuid };
    case "user":
      return { events: isObject(message.message) ? userEvents(message.message) : [], final: null, uuid };
    case "result":
      return {
        events: [],
        final: {
          subtype: str(message.subtype),
          isError: message.is_error === true,
          result: str(message.result) ?? "",
          errors: Array.isArray(message.errors)
            ? message.errors
                .filter((error): error is string => typeof error === "string")
                .slice(0, MAX_RESULT_ERRORS)
                .map((error) => cutText(error, MAX_RESULT_ERROR_BYTES).text)
            : [],
          usage: usageOf(message),
        },
        uuid,
      };
    default:
      return { ...EMPTY, uuid };
  }
}
