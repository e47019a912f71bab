/**
 * A small chart of tasks (bars) and their cost (line) per day, over the tasks
 * listed, drawn by uPlot. The canvas is an image to assistive technology,
 * named by a one-sentence summary of the same figures.
 */
import { useEffect, useMemo, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { ConsoleTask } from "../api.js";
import { dailyTotals, type DayTotal } from "../daily.js";
import { formatCost } from "../format.js";

const HEIGHT = 180;
const DAY_SECONDS = 86_400;
const HALF_DAY_SECONDS = DAY_SECONDS / 2;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A day on the time axis: `Aug 15`. */
function dayLabel(seconds: number): string {
  const date = new Date(seconds * 1000);
  return `${MONTHS[date.getMonth()]} ${date.getDate()}`;
}

function summary(days: readonly DayTotal[]): string {
  const tasks = days.reduce((sum, day) => sum + day.tasks, 0);
  const cost = days.reduce((sum, day) => sum + day.costUsd, 0);
  return `${tasks} ${tasks === 1 ? "task" : "tasks"} over ${days.length} ${days.length === 1 ? "day" : "days"}, ${formatCost(cost)} in all, from ${days[0]!.day} to ${days.at(-1)!.day}.`;
}

function options(days: readonly DayTotal[], width: number): uPlot.Options {
  const first = days[0]!.start;
  const last = days.at(-1)!.start;
  return {
    width,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: {
      x: { time: true, range: () => [first - HALF_DAY_SECONDS, last + HALF_DAY_SECONDS] },
      tasks: { range: (_plot, _min, max) => [0, Math.max(1, max)] },
      usd: { range: (_plot, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    series: [
      {},
      { label: "Tasks", scale: "tasks", stroke: "#3b6fd8", fill: "rgba(59, 111, 216, 0.35)", paths: uPlot.paths.bars!({ size: [0.6, 48] }), points: { show: false } },
      {
        label: "Cost (USD)",
        scale: "usd",
        stroke: "#c2410c",
        width: 2,
        points: { show: true, size: 6 },
        value: (_plot, value) => (value === null ? "—" : formatCost(value)),
      },
    ],
    axes: [
      // One tick per day at most, labelled with the date alone.
      { incrs: [DAY_SECONDS, 2 * DAY_SECONDS, 7 * DAY_SECONDS, 14 * DAY_SECONDS, 28 * DAY_SECONDS], values: (_plot, ticks) => ticks.map(dayLabel) },
      { scale: "tasks", values: (_plot, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(tick) : "")) },
      { scale: "usd", side: 1, grid: { show: false }, values: (_plot, ticks) => ticks.map((tick) => `$${tick.toFixed(2)}`) },
    ],
  };
}

export function DailyChart({ tasks }: { tasks: readonly ConsoleTask[] }) {
  const days = useMemo(() => dailyTotals(tasks), [tasks]);
  const holder = useRef<HTMLDivElement>(null);
  const key = JSON.stringify(days);

  useEffect(() => {
    const element = holder.current;
    if (!element || days.length === 0) return;
    const data: uPlot.AlignedData = [days.map((day) => day.start), days.map((day) => day.tasks), days.map((day) => day.costUsd)];
    const plot = new uPlot(options(days, element.clientWidth), data, element);
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
    // Redrawn when the figures change, not on every refresh of the same list.
  }, [key]);

  if (days.length === 0) return null;
  return (
    <figure class="chart">
      <figcaption>Tasks and cost per day</figcaption>
      <div ref={holder} role="img" aria-label={summary(days)} />
    </figure>
  );
}
