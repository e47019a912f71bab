/**
 * Platform cost per 1000 tasks, outside container time and tokens: tasks run
 * through the metered Worker (worker/dev/bench-metered-entry.ts), which counts
 * each billable operation the real code performs, in three ways a client uses
 * the API; the counts per task are priced with prices.ts. Each way runs twice,
 * with the stand-in's default task and with one of about 100 more events, so
 * that the cost of each further event shows too (a real Claude Code task
 * prints tens to hundreds).
 */
import { readFinalResult } from "../../cli/lib/api.js";
import { LIMITS } from "../../worker/src/contract.js";
import { METER_PATH, type MeterReading } from "../../worker/dev/bench-meter-reading.js";
import type { DevServer } from "./dev-server.js";
import { type Figure, kib, num } from "./figures.js";
import { DURABLE_OBJECT_GB, LOG_RETENTION_DAYS, PRICES, PRICES_READ_ON, R2_CLASS_A, R2_CLASS_B } from "./prices.js";
import { followEvents, submitTask } from "./streaming.js";
import { BENCH_TOKEN } from "./workers.js";

/** Tasks per run, started at once. */
const TASKS = 10;
/** The stand-in's default run: an init, three texts with a tool call and its result, ~300 ms apart. */
const DEFAULT_TASK = "What is 2 + 2?";
/** About 100 more events, 10 ms apart (each arrives on its own, as Claude Code's lines do). */
const LONGER_TASK = "@stub events=100\n@stub delay=10";

const HEADERS = { Authorization: `Bearer ${BENCH_TOKEN}` };

async function meter(server: DevServer, method: "GET" | "DELETE" = "GET"): Promise<MeterReading> {
  const response = await fetch(`${server.url}${METER_PATH}`, { method });
  if (response.status !== 200) throw new Error(`the meter answered ${response.status}`);
  return (await response.json()) as MeterReading;
}

/** Waits until `count` task objects have stored their result and cleared their storage (the last thing a task does). */
async function tasksFinished(server: DevServer, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await meter(server)).storageCleared.Task !== count) {
    if (Date.now() > deadline) throw new Error(`${count} tasks did not finish within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * `GET /tasks/:id/result` as the CLI reads it after a task's end, with its own
 * readFinalResult: asked again while it is `task_not_finished`, for up to 30 s.
 */
async function readResult(server: DevServer, taskId: string): Promise<void> {
  const answer = await readFinalResult({ url: server.url, token: BENCH_TOKEN }, taskId);
  if (!answer.ok) throw new Error(`GET /tasks/${taskId}/result answered ${answer.status ?? "nothing"}: ${String(answer.failure.error)}`);
}

interface Scenario {
  name: string;
  /**
   * Runs one task the way a client does and returns its id; `allFinished`
   * settles when every task of the run has finished.
   */
  run(server: DevServer, task: string, allFinished: Promise<void>): Promise<string>;
}

const SCENARIOS: Scenario[] = [
  {
    // A client told of the end otherwise (a webhook, a later look): one submission, one read of the result.
    name: "submitted, result read once",
    run: async (server, task, allFinished) => {
      const taskId = await submitTask(server, task);
      await allFinished;
      await readResult(server, taskId);
      return taskId;
    },
  },
  {
    // As `claude-sandbox wait` does after `submit`: the status, the live events, the result.
    name: "followed over SSE",
    run: async (server, task) => {
      const taskId = await submitTask(server, task);
      const status = await fetch(`${server.url}/tasks/${taskId}`, { headers: HEADERS });
      const document = (await status.json()) as { eventCount: number };
      if (status.status !== 200) throw new Error(`GET /tasks/${taskId} answered ${status.status}`);
      await followEvents(server, taskId, document.eventCount);
      await readResult(server, taskId);
      return taskId;
    },
  },
  {
    name: "POST /execute",
    run: async (server, task) => {
      const response = await fetch(`${server.url}/execute`, {
        method: "POST",
        headers: { ...HEADERS, "Content-Type": "application/json" },
        body: JSON.stringify({ task }),
      });
      const result = (await response.json()) as { taskId?: string };
      if (response.status !== 200 || typeof result.taskId !== "string") throw new Error(`POST /execute answered ${response.status}`);
      return result.taskId;
    },
  },
];

/** The counts added up, of `keys` only when given. */
function sum(counts: Record<string, number>, keys?: readonly string[]): number {
  return Object.entries(counts)
    .filter(([key]) => keys === undefined || keys.includes(key))
    .reduce((total, [, count]) => total + count, 0);
}

/** Operations per task. */
export interface PerTask {
  workerRequests: number;
  doRequests: number;
  rowsRead: number;
  rowsWritten: number;
  classA: number;
  classB: number;
  r2Bytes: number;
  indexBytes: number;
  logBytes: number;
  events: number;
}

/** A meter reading of `tasks` tasks, per task: requests, rows and R2 operations by class, bytes kept. */
export function perTask(reading: MeterReading, tasks: number, events: number): PerTask {
  return {
    workerRequests: reading.workerRequests / tasks,
    doRequests: sum(reading.doRequests) / tasks,
    rowsRead: sum(reading.rowsRead) / tasks,
    rowsWritten: sum(reading.rowsWritten) / tasks,
    classA: sum(reading.r2, R2_CLASS_A) / tasks,
    classB: sum(reading.r2, R2_CLASS_B) / tasks,
    r2Bytes: reading.r2BytesWritten / tasks,
    indexBytes: reading.indexBytes / tasks,
    logBytes: reading.logBytes / tasks,
    events,
  };
}

/** What each kind of operation of one task costs, in US dollars. */
export function costTerms(ops: PerTask): Record<string, number> {
  // Results, events and index rows are kept for the retention (30 days by default: one month); logs for 7 days.
  const months = LIMITS.resultRetentionDays / 30;
  return {
    "Worker requests": ops.workerRequests * PRICES.workerRequest.usd,
    "DO requests": ops.doRequests * PRICES.durableObjectRequest.usd,
    "rows read": ops.rowsRead * PRICES.rowRead.usd,
    "rows written": ops.rowsWritten * PRICES.rowWritten.usd,
    "R2 operations": ops.classA * PRICES.r2ClassA.usd + ops.classB * PRICES.r2ClassB.usd,
    storage: (ops.r2Bytes / 1e9) * months * PRICES.r2GbMonth.usd + (ops.indexBytes / 1e9) * months * PRICES.sqliteGbMonth.usd,
    logs: (ops.logBytes / 1e9) * (PRICES.logIngestGb.usd + (LOG_RETENTION_DAYS / 30) * PRICES.logGbMonth.usd),
  };
}

/** The cost of a task: its terms added up. */
export function total(terms: Record<string, number>): number {
  return Object.values(terms).reduce((sum, usd) => sum + usd, 0);
}

/** The term that costs most. */
export function largest(terms: Record<string, number>): string {
  return Object.entries(terms).sort((a, b) => b[1] - a[1])[0]![0];
}

/** Runs `TASKS` tasks of one scenario at once and reads what they did. */
async function runScenario(server: DevServer, scenario: Scenario, task: string): Promise<PerTask> {
  await meter(server, "DELETE");
  const allFinished = tasksFinished(server, TASKS);
  const [, ...taskIds] = await Promise.all([allFinished, ...Array.from({ length: TASKS }, () => scenario.run(server, task, allFinished))]);
  const reading = await meter(server);
  // Read after the meter: this request is not the task's.
  const status = await fetch(`${server.url}/tasks/${taskIds[0]}`, { headers: HEADERS });
  const { eventCount } = (await status.json()) as { eventCount: number };
  return perTask(reading, TASKS, eventCount);
}

/** Runs each scenario and prices its operations. */
export async function measureCosts(server: DevServer): Promise<Figure[]> {
  // A first task creates the task index and loads everything once; what it costs is not a task's.
  await meter(server, "DELETE");
  const warmup = await submitTask(server, DEFAULT_TASK);
  await tasksFinished(server, 1);
  await readResult(server, warmup);

  const figures: Figure[] = [];
  const perHundredEvents: string[] = [];
  for (const scenario of SCENARIOS) {
    const short = await runScenario(server, scenario, DEFAULT_TASK);
    const long = await runScenario(server, scenario, LONGER_TASK);
    const terms = costTerms(short);
    figures.push({
      figure: `Platform cost per 1000 tasks: ${scenario.name}, ${short.events} events`,
      measured:
        `$${(total(terms) * 1000).toFixed(4)} (most: ${largest(terms)}); per task: ` +
        [
          `${num(short.workerRequests)} Worker req`,
          `${num(short.doRequests)} DO req`,
          `${num(short.rowsRead)} rows read`,
          `${num(short.rowsWritten)} rows written`,
          `R2 ${num(short.classA)} A + ${num(short.classB)} B`,
          `${kib(short.r2Bytes)} R2 + ${kib(short.indexBytes)} index kept ${LIMITS.resultRetentionDays} d`,
          `${kib(short.logBytes)} logs`,
        ].join(" · "),
      reference: `list prices read ${PRICES_READ_ON}`,
      ratio: "",
    });
    const extraEvents = long.events - short.events;
    const per = (key: keyof PerTask) => (long[key] - short[key]) / extraEvents;
    const usdPerEvent = (total(costTerms(long)) - total(terms)) / extraEvents;
    perHundredEvents.push(
      `${scenario.name}: +$${(usdPerEvent * 100 * 1000).toFixed(4)} (per event: ${num(per("rowsWritten"), 2)} rows written, ${num(per("doRequests"), 2)} DO req)`,
    );
  }
  figures.push({
    figure: "Platform cost per 1000 tasks: each 100 more events per task",
    measured: perHundredEvents.join("; "),
    reference: `list prices read ${PRICES_READ_ON}`,
    ratio: "",
  });
  const perTaskMinute = 60 * DURABLE_OBJECT_GB * PRICES.durableObjectGbSecond.usd;
  figures.push({
    figure: "Task object duration (active while its task runs)",
    measured: `$${(perTaskMinute * 1000).toFixed(4)} per 1000 task-minutes`,
    reference: `list price read ${PRICES_READ_ON}, 128 MB`,
    ratio: "",
  });
  return figures;
}
