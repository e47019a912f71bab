/**
 * The chart's figures: tasks started and their cost per day, over the tasks
 * listed. Pure; days without tasks are kept (as zeros) so the chart's time
 * axis has no jumps.
 */
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import { localDay } from "./format.js";

/** One day's figures. */
export interface DayTotal {
  /** `YYYY-MM-DD`, local time. */
  day: string;
  /** Local midnight of the day, in seconds since the epoch (uPlot's time unit). */
  start: number;
  tasks: number;
  /** The cost Claude Code reported for the day's tasks, in USD (tasks without a figure count 0). */
  costUsd: number;
}

/** Most days a chart spans; older days are left out. */
export const MAX_CHART_DAYS = 60;

/** The tasks and cost of each day from the first task's day to the last one's (at most MAX_CHART_DAYS, the latest). */
export function dailyTotals(tasks: readonly Pick<TaskStatusDocument, "createdAt" | "usage">[]): DayTotal[] {
  const byDay = new Map<string, { tasks: number; costUsd: number }>();
  let first: Date | null = null;
  let last: Date | null = null;
  for (const task of tasks) {
    const created = new Date(task.createdAt);
    if (Number.isNaN(created.getTime())) continue;
    const day = localDay(created);
    const totals = byDay.get(day) ?? { tasks: 0, costUsd: 0 };
    totals.tasks += 1;
    totals.costUsd += task.usage?.costUsd ?? 0;
    byDay.set(day, totals);
    if (first === null || created < first) first = created;
    if (last === null || created > last) last = created;
  }
  if (first === null || last === null) return [];
  const days: DayTotal[] = [];
  const cursor = new Date(last.getFullYear(), last.getMonth(), last.getDate());
  const end = new Date(first.getFullYear(), first.getMonth(), first.getDate());
  while (cursor >= end && days.length < MAX_CHART_DAYS) {
    const day = localDay(cursor);
    const totals = byDay.get(day) ?? { tasks: 0, costUsd: 0 };
    days.push({ day, start: cursor.getTime() / 1000, tasks: totals.tasks, costUsd: totals.costUsd });
    cursor.setDate(cursor.getDate() - 1);
  }
  return days.reverse();
}
