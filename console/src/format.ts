/**
 * How the console writes times, durations, money and tokens: pure functions,
 * so every view says them the same way.
 */
import type { TaskUsage } from "../../worker/src/contract.js";

/** Shown where a value is not known (yet). */
export const UNKNOWN = "—";

/**
 * The last 8 characters of a task id, its random part: enough to tell tasks
 * apart in a list (its first characters are its time, the same for tasks
 * submitted within a minute of each other).
 */
export function shortId(taskId: string): string {
  return taskId.slice(-8);
}

/** A duration: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return UNKNOWN;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
  const minutes = Math.floor(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** An amount in USD: four decimals under a dollar (tasks often cost cents), two above. */
export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return UNKNOWN;
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

/** A local date and time to the minute, `2026-08-15 14:03`, from an ISO time. */
export function formatTime(iso: string | null): string {
  if (iso === null) return UNKNOWN;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return UNKNOWN;
  const two = (value: number) => String(value).padStart(2, "0");
  return `${localDay(date)} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

/** The local calendar day of a date, `2026-08-15`. */
export function localDay(date: Date): string {
  const two = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
}

/** A count with thousands separators. */
function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

/** Tokens of a task: `1,234 in · 567 out · 8,900 cache read · 12 cache write`, the parts Claude Code reported. */
export function formatTokens(usage: TaskUsage | null): string {
  if (usage === null) return UNKNOWN;
  const parts: string[] = [];
  if (usage.inputTokens !== null) parts.push(`${formatCount(usage.inputTokens)} in`);
  if (usage.outputTokens !== null) parts.push(`${formatCount(usage.outputTokens)} out`);
  if (usage.cacheReadInputTokens) parts.push(`${formatCount(usage.cacheReadInputTokens)} cache read`);
  if (usage.cacheCreationInputTokens) parts.push(`${formatCount(usage.cacheCreationInputTokens)} cache write`);
  return parts.length > 0 ? parts.join(" · ") : UNKNOWN;
}

/** The models a task used, from its usage (per-model figures) or its `init` event. */
export function modelsOf(usage: TaskUsage | null, initModel: string | null): string {
  const models = usage?.models ? Object.keys(usage.models) : [];
  if (models.length > 0) return models.join(", ");
  return initModel ?? UNKNOWN;
}
