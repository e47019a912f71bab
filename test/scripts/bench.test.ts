/**
 * `npm run bench` without running it: the budgets its figures are judged by,
 * how it reads `wrangler check startup`, how a run comes to its exit code, and
 * how the metered Worker's counts become operations and a price per task. No
 * Worker is started.
 */
import { describe, expect, it } from "vitest";
import type { MeterReading } from "../../worker/dev/bench-meter-reading.js";
import { CLI_START_BUDGET, cliStartFigure } from "../../scripts/bench/cli-start.js";
import { CONSOLE_OPEN_BUDGET_MS, CONSOLE_TRANSFER_BUDGET_BYTES, openFigure, transferFigure } from "../../scripts/bench/console.js";
import { costTerms, largest, type PerTask, perTask, total } from "../../scripts/bench/costs.js";
import { attribute } from "../../scripts/bench/cpu-profile.js";
import { benchOutcome, type Figure, renderTable } from "../../scripts/bench/figures.js";
import { FIRST_EVENT_BUDGET, firstEventBudget } from "../../scripts/bench/first-event.js";
import {
  allOf,
  CASES,
  HEALTH_THROUGHPUT_BUDGET,
  SUBMISSION_CPU_BUDGET_MS,
  SUBMISSION_THROUGHPUT_BUDGET,
  submissionCpuBudget,
  throughputBudget,
} from "../../scripts/bench/overhead.js";
import { PRICES } from "../../scripts/bench/prices.js";
import { parseStartupReport, STARTUP_BUDGET, startupFigure, UPLOAD_LIMIT_BYTES, uploadFigure } from "../../scripts/bench/startup.js";
import { LIMITS } from "../../worker/src/contract.js";

const plain = (name: string): Figure => ({ figure: name, measured: "1", reference: "", ratio: "" });

/** What `wrangler check startup` (4.164) prints, colours and frames included. */
const STARTUP_REPORT = [
  " ⛅️ wrangler 4.164.0",
  "├ Analysing",
  "│ Startup phase analysed",
  "│",
  "│ Bundle: 397.94 KiB / gzip: 113.72 KiB",
  "│",
  "│ Local startup profile:",
  "│   Profile window: 76.2 ms",
  "│   Sampled time: 56.2 ms",
  "│   \u001b[2mActive: 24.2 ms (including 0.0 ms garbage collection)\u001b[22m",
  "│   Idle: 32.0 ms",
].join("\n");

describe("reading wrangler check startup", () => {
  it("takes the upload's sizes and the profile's active time", () => {
    expect(parseStartupReport(STARTUP_REPORT)).toEqual({ bytes: 397.94 * 1024, gzipBytes: 113.72 * 1024, activeMs: 24.2 });
  });

  it("fails, with what it printed, when a line is missing", () => {
    expect(() => parseStartupReport("✘ [ERROR] Worker startup profiling timed out after 15 seconds.")).toThrow(/printed no Bundle: and Active: lines:\n.*timed out/);
  });
});

describe("budgets", () => {
  it(`our startup may take ${STARTUP_BUDGET} times the SDK-only Worker's, compared by medians`, () => {
    expect(startupFigure([30, 10, 20], [20, 16, 99])).toMatchObject({ measured: "20.0 ms active (10.0 ms to 30.0 ms)", ratio: "1.00×", budget: { rule: "≤ 1.5×", met: true } });
    expect(startupFigure([30, 30, 30], [20, 20, 20]).budget?.met).toBe(true);
    expect(startupFigure([31, 31, 31], [20, 20, 20]).budget?.met).toBe(false);
  });

  it("reports the upload against the platform's limit, with no budget", () => {
    const figure = uploadFigure({ bytes: UPLOAD_LIMIT_BYTES / 100, gzipBytes: 1024, activeMs: 1 }, { bytes: 2048, gzipBytes: 1024, activeMs: 1 });
    expect(figure.ratio).toBe("1.0% of the limit");
    expect(figure.reference).toContain("limit 64 MiB uncompressed");
    expect(figure.budget).toBeUndefined();
  });

  it(`a task's first event must come within p50 ${FIRST_EVENT_BUDGET.p50} ms and p99 ${FIRST_EVENT_BUDGET.p99} ms, both`, () => {
    expect(firstEventBudget(50, 150)).toEqual({ rule: "p50 ≤ 50 ms, p99 ≤ 150 ms", met: true });
    expect(firstEventBudget(50.1, 20).met).toBe(false);
    expect(firstEventBudget(20, 151).met).toBe(false);
  });

  it(`accepting a task may take ${SUBMISSION_CPU_BUDGET_MS} ms of runtime CPU, and at 32 clients must keep ${SUBMISSION_THROUGHPUT_BUDGET} of the bare Worker's throughput`, () => {
    const accepted = CASES.find((entry) => entry.name.startsWith("POST /tasks: a task accepted"))!;
    expect(accepted.concurrencies).toEqual([1, 32]);
    expect(accepted.budget!({ concurrency: 1, ratio: 0.01, cpuMs: 10 })).toEqual({ rule: "≤ 10 ms runtime CPU/req", met: true });
    expect(accepted.budget!({ concurrency: 1, ratio: 1, cpuMs: 10.1 })?.met).toBe(false);
    expect(accepted.budget!({ concurrency: 32, ratio: 0.25, cpuMs: 9 })).toEqual({ rule: "≥ 0.25× the bare Worker's and ≤ 10 ms runtime CPU/req", met: true });
    expect(accepted.budget!({ concurrency: 32, ratio: 0.24, cpuMs: 9 })?.met).toBe(false);
    expect(accepted.budget!({ concurrency: 32, ratio: 0.5, cpuMs: 11 })?.met).toBe(false);
    expect(CASES.find((entry) => entry.name.includes("a whole task"))!.budget).toBeUndefined();
  });

  it("joins budgets into one that is met only when each is", () => {
    expect(allOf(submissionCpuBudget(1), throughputBudget(1))).toEqual({ rule: "≤ 10 ms runtime CPU/req and ≥ 0.80× the bare Worker's", met: true });
    expect(allOf(submissionCpuBudget(11), throughputBudget(1)).met).toBe(false);
  });

  it(`the CLI must start in under ${CLI_START_BUDGET} times node -e 0`, () => {
    expect(cliStartFigure("`claude-sandbox --help`", 1.9 * 40, 40)).toMatchObject({ ratio: "1.9×", budget: { rule: "< 2×", met: true } });
    expect(cliStartFigure("`claude-sandbox --help`", CLI_START_BUDGET * 40, 40).budget?.met).toBe(false);
    expect(cliStartFigure("`claude-sandbox --help`", 400, 40).budget?.met).toBe(false);
  });

  it("the console's Tasks view may download CONSOLE_TRANSFER_BUDGET_BYTES gzip, not a byte more", () => {
    const all = { files: 6, gzip: 90_000 };
    expect(transferFigure({ files: 4, gzip: CONSOLE_TRANSFER_BUDGET_BYTES }, all)).toMatchObject({
      measured: "64.0 KiB in 4 files",
      budget: { rule: "≤ 64.0 KiB", met: true },
    });
    expect(transferFigure({ files: 4, gzip: CONSOLE_TRANSFER_BUDGET_BYTES + 1 }, all).budget?.met).toBe(false);
  });

  it(`the console must show its Tasks table in under ${CONSOLE_OPEN_BUDGET_MS} ms`, () => {
    expect(openFigure(CONSOLE_OPEN_BUDGET_MS - 1, 20)).toMatchObject({ reference: "its GET /tasks: 20.0 ms", budget: { rule: "< 1500 ms", met: true } });
    expect(openFigure(CONSOLE_OPEN_BUDGET_MS, 20).budget?.met).toBe(false);
  });

  it(`our /health must keep ${HEALTH_THROUGHPUT_BUDGET} of the bare Worker's throughput`, () => {
    expect(throughputBudget(HEALTH_THROUGHPUT_BUDGET)).toEqual({ rule: "≥ 0.80× the bare Worker's", met: true });
    expect(throughputBudget(1.2).met).toBe(true);
    expect(throughputBudget(0.79).met).toBe(false);
    expect(CASES.find((entry) => entry.name === "GET /health")!.budget!({ concurrency: 32, ratio: 0.8, cpuMs: 99 })).toEqual(throughputBudget(0.8));
  });
});

describe("a run's outcome", () => {
  const met = startupFigure([1], [1]);
  const missed = cliStartFigure("`claude-sandbox --help`", 500, 50);

  it("passes (exit 0) when every budget is met and every part measured, warnings or not", () => {
    expect(benchOutcome([met, plain("no budget")], [], [])).toEqual({ exitCode: 0, met: 1, budgets: 1, messages: [] });
    expect(benchOutcome([met], [], ["other processes used 60% of the CPUs"])).toEqual({
      exitCode: 0,
      met: 1,
      budgets: 1,
      messages: ["warning: other processes used 60% of the CPUs"],
    });
  });

  it("fails (exit 1) when a figure misses its budget, and names it", () => {
    const outcome = benchOutcome([met, missed, plain("no budget")], [], []);
    expect(outcome).toEqual({
      exitCode: 1,
      met: 1,
      budgets: 2,
      messages: ["budget missed: CLI start: `claude-sandbox --help` (median of 7) (< 2×)"],
    });
    expect(renderTable([met, missed])).toMatch(/< 2×: \*\*FAIL\*\* \|$/);
  });

  it("fails (exit 1) when a part could not be measured, even with every budget met", () => {
    const outcome = benchOutcome([met], ["event streaming: wrangler dev (stub) did not answer within 90 s"], []);
    expect(outcome.exitCode).toBe(1);
    expect(outcome.messages).toEqual(["measurement problem: event streaming: wrangler dev (stub) did not answer within 90 s"]);
  });

  it("fails (exit 1) when nothing was measured at all", () => {
    expect(benchOutcome([], ["starting the Workers: spawn failed"], []).exitCode).toBe(1);
  });
});

describe("platform cost per task", () => {
  const reading: MeterReading = {
    workerRequests: 30,
    doRequests: { "TASKS.start": 10, "TASKS.alarm": 20, "TASK_INDEX.record": 20 },
    rowsRead: { Task: 100, TaskIndex: 50 },
    rowsWritten: { Task: 200, TaskIndex: 40 },
    storageCleared: { Task: 10 },
    r2: { put: 20, get: 10, head: 10, list: 0, delete: 30 },
    r2BytesWritten: 40_960,
    indexBytes: 10_240,
    logLines: 50,
    logBytes: 20_480,
  };

  it("counts each operation per task, R2 operations by class (a delete is in neither)", () => {
    expect(perTask(reading, 10, 12)).toEqual({
      workerRequests: 3,
      doRequests: 5,
      rowsRead: 15,
      rowsWritten: 24,
      classA: 2,
      classB: 2,
      r2Bytes: 4096,
      indexBytes: 1024,
      logBytes: 2048,
      events: 12,
    });
  });

  it("prices each kind of operation at its list price, storage for the retention and logs for their week", () => {
    const ops: PerTask = { workerRequests: 2, doRequests: 4, rowsRead: 10, rowsWritten: 20, classA: 1, classB: 3, r2Bytes: 1e9, indexBytes: 1e9, logBytes: 1e9, events: 10 };
    const months = LIMITS.resultRetentionDays / 30;
    const terms = costTerms(ops);
    expect(Object.keys(terms)).toEqual(["Worker requests", "DO requests", "rows read", "rows written", "R2 operations", "storage", "logs"]);
    expect(terms["Worker requests"]).toBeCloseTo(2 * 0.3e-6, 15);
    expect(terms["DO requests"]).toBeCloseTo(4 * 0.15e-6, 15);
    expect(terms["rows read"]).toBeCloseTo(10 * 0.001e-6, 15);
    expect(terms["rows written"]).toBeCloseTo(20 * 1e-6, 15);
    expect(terms["R2 operations"]).toBeCloseTo(1 * 4.5e-6 + 3 * 0.36e-6, 15);
    expect(terms.storage).toBeCloseTo(months * (PRICES.r2GbMonth.usd + PRICES.sqliteGbMonth.usd), 12);
    expect(terms.logs).toBeCloseTo(0.25 + (7 / 30) * 0.1, 12);
    expect(total(terms)).toBeCloseTo(Object.values(terms).reduce((sum, usd) => sum + usd, 0), 15);
    expect(largest(terms)).toBe("logs");
  });

  it("costs nothing for a task that did nothing", () => {
    const idle = perTask({ ...reading, workerRequests: 0, doRequests: {}, rowsRead: {}, rowsWritten: {}, r2: {}, r2BytesWritten: 0, indexBytes: 0, logBytes: 0 }, 10, 0);
    expect(total(costTerms(idle))).toBe(0);
  });
});

describe("where a submission's CPU goes", () => {
  // A bundle whose lines map to sources by line number, as a source map would.
  const SOURCES = ["worker/dev/stub-entry.ts", "worker/src/http/app.ts", "worker/src/tasks/task-object.ts", "worker/src/tasks/task-index.ts", "worker/src/storage/results.ts", "worker/src/contract.ts"];
  const map = { findEntry: (line: number) => ({ originalSource: `../../${SOURCES[line]}`, originalLine: 0, originalColumn: 0, generatedLine: line, generatedColumn: 0, name: undefined }) };
  const frame = (id: number, line: number, children: number[] = [], url = "worker.js", functionName = "f") => ({ id, callFrame: { functionName, url, lineNumber: line, columnNumber: 0 }, children });
  const profile = {
    nodes: [
      frame(1, -1, [2, 4, 7, 9, 10], "", "(root)"),
      // The fetch handler (stub-entry → app.ts → contract.ts): the Worker's, down to the shared module it calls.
      frame(2, 0, [3]),
      frame(3, 1, [11]),
      frame(11, 5),
      // A Task object method calling R2: R2's.
      frame(4, 2, [5]),
      frame(5, 4),
      // The index's method: the index's.
      frame(7, 3),
      // The runtime's own: GC, and the idle time, which is no one's.
      frame(9, -1, [], "", "(garbage collector)"),
      frame(10, -1, [], "", "(idle)"),
    ],
    samples: [11, 3, 5, 7, 9, 10, 10],
    timeDeltas: [100, 100, 100, 100, 100, 5000, 5000],
  };

  it("puts each sample to the object whose code the runtime entered, R2 calls to R2, and leaves idle time out", () => {
    expect(Object.fromEntries(attribute(profile, "worker.js", map))).toEqual({
      "task index": 0.2,
      "stand-in sandbox": 0,
      "Task object": 0,
      Worker: 0.4,
      "R2 calls": 0.2,
      runtime: 0.2,
    });
  });
});
