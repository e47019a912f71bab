/**
 * Reading what `claude --print --output-format json` printed: one JSON object
 * of `type: "result"` with the final text, the turn count, the cost and the
 * token usage. When stdout is not that object, the raw stdout is kept.
 */
import * as z from "zod/mini";

/** Token usage and cost of one task, from Claude Code's JSON. */
export interface TaskUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  cacheCreationInputTokens: number | null;
  cacheReadInputTokens: number | null;
  costUsd: number | null;
  numTurns: number | null;
  sessionId: string | null;
}

export interface ClaudeOutput {
  /** Claude's final text, or the raw stdout when it was not Claude's JSON. */
  result: string;
  /** Null when stdout was not Claude's JSON. */
  usage: TaskUsage | null;
  /** Whether Claude Code reported an error (`is_error`). */
  isError: boolean;
  /** Claude Code's `subtype`, e.g. `success`, `error_max_turns`, `error_during_execution`. */
  subtype: string | null;
  /** Whether stdout was Claude's JSON. */
  parsed: boolean;
}

const count = z.nullish(z.number().check(z.nonnegative()));

const claudeResultSchema = z.looseObject({
  type: z.literal("result"),
  subtype: z.nullish(z.string()),
  is_error: z.nullish(z.boolean()),
  result: z.nullish(z.string()),
  num_turns: count,
  total_cost_usd: count,
  session_id: z.nullish(z.string()),
  usage: z.nullish(
    z.looseObject({
      input_tokens: count,
      output_tokens: count,
      cache_creation_input_tokens: count,
      cache_read_input_tokens: count,
    }),
  ),
});

function parseJsonObject(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    // Some wrappers print lines before the JSON; the result object is then the last line.
    const lastLine = trimmed.split("\n").at(-1)!.trim();
    if (lastLine === trimmed || !lastLine.startsWith("{")) return undefined;
    try {
      return JSON.parse(lastLine);
    } catch {
      return undefined;
    }
  }
}

/** Parses Claude Code's stdout. */
export function parseClaudeOutput(stdout: string): ClaudeOutput {
  const parsed = claudeResultSchema.safeParse(parseJsonObject(stdout));
  if (!parsed.success) {
    return { result: stdout, usage: null, isError: false, subtype: null, parsed: false };
  }
  const json = parsed.data;
  return {
    result: json.result ?? "",
    usage: {
      inputTokens: json.usage?.input_tokens ?? null,
      outputTokens: json.usage?.output_tokens ?? null,
      cacheCreationInputTokens: json.usage?.cache_creation_input_tokens ?? null,
      cacheReadInputTokens: json.usage?.cache_read_input_tokens ?? null,
      costUsd: json.total_cost_usd ?? null,
      numTurns: json.num_turns ?? null,
      sessionId: json.session_id ?? null,
    },
    isError: json.is_error === true,
    subtype: json.subtype ?? null,
    parsed: true,
  };
}
