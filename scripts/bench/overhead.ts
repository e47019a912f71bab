/**
 * The Worker's overhead: requests per second and latency of `GET /health`, of
 * accepting a task (`POST /tasks` while the stand-in keeps its container
 * starting) and of a whole task (one the stand-in ends at once), against our
 * Worker and against the bare Worker in the same runtime, with the CPU time
 * the runtime's processes spend per request. The two are measured alternately, in rounds whose order flips
 * each time, after both runtimes have gone idle, so that background work and
 * drifting machine load fall on both alike.
 */
import { availableParallelism } from "node:os";
import { cpuTicks, type DevServer, machineBusyTicks, waitUntilIdle } from "./dev-server.js";
import { type Budget, type Figure, ms, num } from "./figures.js";
import { type LoadOptions, type LoadResult, quantile, runLoad } from "./load.js";
import type { Submission } from "./cpu-profile.js";
import { BENCH_TOKEN } from "./workers.js";

/** Least share of the bare Worker's `/health` throughput ours must keep. */
export const HEALTH_THROUGHPUT_BUDGET = 0.8;

/** Least share of the bare Worker's throughput our task submissions must keep at 32 clients. */
export const SUBMISSION_THROUGHPUT_BUDGET = 0.25;

/** Most runtime CPU a task submission may take, in ms. */
export const SUBMISSION_CPU_BUDGET_MS = 10;

/** The budget of ours against the bare Worker's throughput (ratio: ours over theirs). */
export function throughputBudget(ratio: number, least: number = HEALTH_THROUGHPUT_BUDGET): Budget {
  return { rule: `≥ ${least.toFixed(2)}× the bare Worker's`, met: ratio >= least };
}

/** The budget of a submission's runtime CPU. */
export function submissionCpuBudget(cpuMs: number): Budget {
  return { rule: `≤ ${SUBMISSION_CPU_BUDGET_MS} ms runtime CPU/req`, met: cpuMs <= SUBMISSION_CPU_BUDGET_MS };
}

/** Budgets that must all be met, as one: their rules joined, met when each is. */
export function allOf(...budgets: readonly Budget[]): Budget {
  return { rule: budgets.map((budget) => budget.rule).join(" and "), met: budgets.every((budget) => budget.met) };
}

/** Length of a measured sample, and of the unmeasured one before them. */
const SAMPLE_MS = 2_000;
const WARMUP_MS = 1_000;

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** What ours did in a case, against the bare Worker, for its budgets. */
interface Measured {
  concurrency: number;
  /** Ours over the bare Worker's throughput. */
  ratio: number;
  /** Our runtime CPU per request, in ms. */
  cpuMs: number;
}

interface Case {
  name: string;
  request: Pick<LoadOptions, "method" | "headers" | "body"> & { path: string; expectStatus: number };
  concurrencies: readonly number[];
  /** Samples per Worker (submissions leave work behind, so each of their samples costs a wait). */
  rounds: number;
  /** The budget of a row, if it has one. */
  budget?: (measured: Measured) => Budget | undefined;
  /** Undoes what a sample of ours left behind, unmeasured, before the next one: here, the tasks it created. */
  cleanUp?: (server: DevServer, result: LoadResult) => Promise<void>;
}

const SUBMIT = {
  path: "/tasks",
  method: "POST",
  headers: { Authorization: `Bearer ${BENCH_TOKEN}`, "Content-Type": "application/json" },
  expectStatus: 202,
} as const;

/** Cancels the tasks a load created (their `Location`s), a few at a time. */
async function cancelTasks(server: DevServer, result: LoadResult): Promise<void> {
  const pending = [...result.locations];
  const worker = async () => {
    for (let location = pending.pop(); location !== undefined; location = pending.pop()) {
      const response = await fetch(`${server.url}${location}/cancel`, { method: "POST", headers: { Authorization: SUBMIT.headers.Authorization } });
      await response.arrayBuffer();
      if (response.status !== 202) throw new Error(`POST ${location}/cancel answered ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** The submissions measured: a task accepted, and a whole task. */
export const SUBMISSIONS = {
  /**
   * What accepting a task costs: the Worker, the task's object, its index shard, and the first request for a
   * container, which the stand-in keeps starting (its longest cold start) until the task is cancelled afterwards.
   */
  accepted: {
    name: "a task accepted (its container still starting)",
    load: { ...SUBMIT, body: JSON.stringify({ task: "@stub events=0 start=120000" }) },
    cleanUp: cancelTasks,
  },
  /**
   * A whole task, which the stand-in ends at once; measured until the runtime is idle again, so it holds the run,
   * its events, the result and events written to R2, and the storage cleared.
   */
  whole: { name: "a whole task (`@stub events=0`), to its end", load: { ...SUBMIT, body: JSON.stringify({ task: "@stub events=0" }) } },
} satisfies Record<string, Submission>;

export const CASES: readonly Case[] = [
  {
    name: "GET /health",
    request: { path: "/health", method: "GET", expectStatus: 200 },
    concurrencies: [1, 32],
    rounds: 6,
    budget: ({ ratio }) => throughputBudget(ratio),
  },
  {
    name: `POST /tasks: ${SUBMISSIONS.accepted.name}`,
    request: SUBMISSIONS.accepted.load,
    concurrencies: [1, 32],
    rounds: 3,
    budget: ({ concurrency, ratio, cpuMs }) =>
      concurrency === 32 ? allOf(throughputBudget(ratio, SUBMISSION_THROUGHPUT_BUDGET), submissionCpuBudget(cpuMs)) : submissionCpuBudget(cpuMs),
    cleanUp: SUBMISSIONS.accepted.cleanUp,
  },
  { name: `POST /tasks: ${SUBMISSIONS.whole.name}`, request: SUBMISSIONS.whole.load, concurrencies: [1], rounds: 3 },
];

/** The samples of one Worker together: answers over total time, latencies pooled. */
interface Samples {
  requests: number;
  errors: number;
  seconds: number;
  /** CPU time of the runtime's processes (wrangler, its proxy, the Worker's workerd) until idle again, in ms. */
  cpuMs: number;
  latencies: number[];
  statuses: Record<string, number>;
}

function noSamples(): Samples {
  return { requests: 0, errors: 0, seconds: 0, cpuMs: 0, latencies: [], statuses: {} };
}

function addSample(into: Samples, result: LoadResult, seconds: number, ticks: number): void {
  into.requests += result.requests;
  into.errors += result.errors;
  into.seconds += seconds;
  into.cpuMs += (ticks * 1000) / TICKS_PER_SECOND;
  into.latencies.push(...result.latencies);
  for (const [status, count] of Object.entries(result.statuses)) into.statuses[status] = (into.statuses[status] ?? 0) + count;
}

function describe(samples: Samples): { perSecond: number; cpuMs: number; text: string } {
  const sorted = [...samples.latencies].sort((a, b) => a - b);
  const perSecond = samples.requests / samples.seconds;
  const cpuMs = samples.cpuMs / (samples.requests + samples.errors);
  const cpu = `${ms(cpuMs)} runtime CPU/req`;
  const statuses = Object.entries(samples.statuses)
    .map(([status, count]) => `${status}: ${count}`)
    .join(", ");
  const errors = samples.errors === 0 ? "" : ` · ${samples.errors} unexpected answers (${statuses})`;
  return { perSecond, cpuMs, text: `${num(perSecond)} req/s · p50 ${ms(quantile(sorted, 0.5))} · p99 ${ms(quantile(sorted, 0.99))} · ${cpu}${errors}` };
}

export interface OverheadOutcome {
  figures: Figure[];
  /** Unexpected answers, which make the figures unreliable. */
  problems: string[];
  /** What makes the figures less telling, such as a busy machine. */
  warnings: string[];
}

/** Share of the machine's CPUs used by other processes above which throughput figures are flagged. */
const OTHER_LOAD_WARNING = 0.25;

/** CPU the machine's other processes used during the samples: throughput means little when they took much of it. */
interface OtherLoad {
  busyTicks: number;
  seconds: number;
}

function ownTicks(servers: readonly DevServer[]): number {
  const { user, system } = process.cpuUsage();
  return cpuTicks(servers.flatMap((server) => server.processIds())) + ((user + system) / 1e6) * TICKS_PER_SECOND;
}

/** Measures one sample of `server`: the load, then the CPU its runtime spent until the work left behind is done. */
async function sample(server: DevServer, servers: readonly DevServer[], options: LoadOptions, into: Samples, elsewhere: OtherLoad): Promise<LoadResult> {
  const processes = server.processIds();
  const ticks = cpuTicks(processes);
  const [machine, own] = [machineBusyTicks(), ownTicks(servers)];
  const started = performance.now();
  const result = await runLoad(options);
  const seconds = (performance.now() - started) / 1000;
  elsewhere.busyTicks += machineBusyTicks() - machine - (ownTicks(servers) - own);
  elsewhere.seconds += seconds;
  await waitUntilIdle([server]);
  addSample(into, result, seconds, cpuTicks(processes) - ticks);
  return result;
}

/** The runtime's output lines about the unexpected statuses (its request lines and our log lines), a few of each. */
function printedAbout(server: DevServer, statuses: Record<string, number>, expected: number): string {
  const unexpected = Object.keys(statuses).filter((status) => /^\d+$/.test(status) && Number(status) !== expected);
  const lines = server.log().split("\n");
  const about = unexpected.flatMap((status) => lines.filter((line) => line.includes(` ${status} `) || line.includes(`"status":${status}`)).slice(0, 3));
  return about.length > 0 ? about.map((line) => `  ${line.trim().slice(0, 300)}`).join("\n") : "  (nothing)";
}

/** Measures every case at 1 and 32 clients. */
export async function measureOverhead(ours: DevServer, bare: DevServer): Promise<OverheadOutcome> {
  const figures: Figure[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  const elsewhere: OtherLoad = { busyTicks: 0, seconds: 0 };
  for (const { name, request, concurrencies, rounds, budget, cleanUp } of CASES) {
    for (const concurrency of concurrencies) {
      const { path, ...load } = request;
      const options = (server: DevServer, durationMs: number): LoadOptions => ({ ...load, url: `${server.url}${path}`, concurrency, durationMs });
      const samples = new Map([
        [ours, noSamples()],
        [bare, noSamples()],
      ]);
      const undo = async (server: DevServer, result: LoadResult) => {
        if (server !== ours || !cleanUp) return;
        await cleanUp(server, result);
        await waitUntilIdle([server]);
      };
      for (const server of [ours, bare]) {
        await waitUntilIdle([ours, bare]);
        await undo(server, await runLoad(options(server, WARMUP_MS)));
      }
      for (let round = 0; round < rounds; round++) {
        for (const server of round % 2 === 0 ? [ours, bare] : [bare, ours]) {
          await waitUntilIdle([ours, bare]);
          await undo(server, await sample(server, [ours, bare], options(server, SAMPLE_MS), samples.get(server)!, elsewhere));
        }
      }
      const clients = `${concurrency} ${concurrency === 1 ? "client" : "clients"}`;
      for (const server of [ours, bare]) {
        const { errors, statuses } = samples.get(server)!;
        if (errors === 0) continue;
        const who = server === ours ? "claude-sandbox" : "bare Worker";
        problems.push(`${name}, ${clients}, ${who}: ${errors} unexpected answers; what its runtime printed of them:\n${printedAbout(server, statuses, request.expectStatus)}`);
      }
      const mine = describe(samples.get(ours)!);
      const theirs = describe(samples.get(bare)!);
      const ratio = mine.perSecond / theirs.perSecond;
      const rowBudget = budget?.({ concurrency, ratio, cpuMs: mine.cpuMs });
      figures.push({
        figure: `${name}, ${clients}`,
        measured: mine.text,
        reference: `bare Worker: ${theirs.text}`,
        ratio: `${ratio.toFixed(2)}× throughput`,
        ...(rowBudget ? { budget: rowBudget } : {}),
      });
    }
  }
  const share = elsewhere.busyTicks / TICKS_PER_SECOND / (elsewhere.seconds * availableParallelism());
  figures.push({
    figure: "Machine load during the overhead samples",
    measured: `other processes used ${Math.max(0, Math.round(share * 100))}% of ${availableParallelism()} CPUs`,
    reference: "",
    ratio: "",
  });
  if (share > OTHER_LOAD_WARNING) {
    warnings.push(`other processes used ${Math.round(share * 100)}% of the CPUs while the overhead was measured: its throughput figures are unreliable; run again on a quieter machine`);
  }
  return { figures, problems, warnings };
}
