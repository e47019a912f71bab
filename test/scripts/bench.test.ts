/**
 * `npm run bench` without running it: the budgets its figures are judged by,
 * how a run comes to its exit code, and how the metered Worker's counts become
 * operations and a price per task. No Worker is started.
 */
import { describe, expect, it } from "vitest";
import type { MeterReading } from "../../worker/dev/bench-meter-reading.js";
import { BUNDLE_BUDGET_BYTES, bundleFigure } from "../../scripts/bench/bundle-size.js";
import { CLI_START_BUDGET, cliStartFigure } from "../../scripts/bench/cli-start.js";
import { CONSOLE_OPEN_BUDGET_MS, CONSOLE_TRANSFER_BUDGET_BYTES, openFigure, transferFigure } from "../../scripts/bench/console.js";
import { costTerms, largest, type PerTask, perTask, total } from "../../scripts/bench/costs.js";
import { benchOutcome, type Figure, renderTable } from "../../scripts/bench/figures.js";
import { HEALTH_THROUGHPUT_BUDGET, throughputBudget } from "../../scripts/bench/overhead.js";
import { PRICES } from "../../scripts/bench/prices.js";
import { LIMITS } from "../../worker/src/contract.js";

const plain = (name: string): Figure => ({ figure: name, measured: "1", reference: "", ratio: "" });

describe("budgets", () => {
  const sdk = { raw: 300_000, gzip: 60_000 };

  it("the bundle may add BUNDLE_BUDGET_BYTES gzip to the SDK's, not a byte more", () => {
    expect(bundleFigure({ raw: 400_000, gzip: sdk.gzip + BUNDLE_BUDGET_BYTES }, sdk).budget).toEqual({ rule: "≤ +15.0 KiB gzip", met: true });
    expect(bundleFigure({ raw: 400_000, gzip: sdk.gzip + BUNDLE_BUDGET_BYTES + 1 }, sdk).budget?.met).toBe(false);
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
  });
});

describe("a run's outcome", () => {
  const met = bundleFigure({ raw: 1, gzip: 1 }, { raw: 1, gzip: 1 });
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
