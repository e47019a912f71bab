/**
 * The Worker's overhead: requests per second and latency of `GET /health` and
 * of task submission (`POST /tasks` with a task the stand-in ends at once),
 * at 1 and 32 concurrent clients, against our Worker and against the bare
 * Worker in the same runtime, with the CPU time the runtime's processes spend
 * per request. The two are measured alternately, in rounds whose order flips
 * each time, after both runtimes have gone idle, so that background work and
 * drifting machine load fall on both alike.
 */
import { availableParallelism } from "node:os";
import { cpuTicks, type DevServer, machineBusyTicks, waitUntilIdle } from "./dev-server.js";
import { type Budget, type Figure, ms, num } from "./figures.js";
import { type LoadOptions, type LoadResult, quantile, runLoad } from "./load.js";
import { BENCH_TOKEN } from "./workers.js";

/** Least share of the bare Worker's `/health` throughput ours must keep. */
export const HEALTH_THROUGHPUT_BUDGET = 0.8;

/** The budget of ours against the bare Worker's `/health` throughput (ratio: ours over theirs). */
export function throughputBudget(ratio: number): Budget {
  return { rule: `≥ ${HEALTH_THROUGHPUT_BUDGET.toFixed(2)}× the bare Worker's`, met: ratio >= HEALTH_THROUGHPUT_BUDGET };
}

/** Length of a measured sample, and of the unmeasured one before them. */
const SAMPLE_MS = 2_000;
const WARMUP_MS = 1_000;

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

interface Case {
  name: string;
  request: Pick<LoadOptions, "method" | "headers" | "body"> & { path: string; expectStatus: number };
  /** Whether ours must keep HEALTH_THROUGHPUT_BUDGET of the bare Worker's throughput. */
  budgeted: boolean;
  /** Samples per Worker (submissions leave work behind, so each of their samples costs a wait). */
  rounds: number;
}

const CASES: Case[] = [
  { name: "GET /health", request: { path: "/health", method: "GET", expectStatus: 200 }, budgeted: true, rounds: 6 },
  {
    // The stand-in prints its `init` and result at once: the task ends right away.
    name: "POST /tasks (`@stub events=0`)",
    request: {
      path: "/tasks",
      method: "POST",
      headers: { Authorization: `Bearer ${BENCH_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ task: "@stub events=0" }),
      expectStatus: 202,
    },
    budgeted: false,
    rounds: 3,
  },
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

function describe(samples: Samples): { perSecond: number; text: string } {
  const sorted = [...samples.latencies].sort((a, b) => a - b);
  const perSecond = samples.requests / samples.seconds;
  const cpu = `${ms(samples.cpuMs / (samples.requests + samples.errors))} runtime CPU/req`;
  const statuses = Object.entries(samples.statuses)
    .map(([status, count]) => `${status}: ${count}`)
    .join(", ");
  const errors = samples.errors === 0 ? "" : ` · ${samples.errors} unexpected answers (${statuses})`;
  return { perSecond, text: `${num(perSecond)} req/s · p50 ${ms(quantile(sorted, 0.5))} · p99 ${ms(quantile(sorted, 0.99))} · ${cpu}${errors}` };
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
async function sample(server: DevServer, servers: readonly DevServer[], options: LoadOptions, into: Samples, elsewhere: OtherLoad): Promise<void> {
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
  for (const { name, request, budgeted, rounds } of CASES) {
    for (const concurrency of [1, 32]) {
      const { path, ...load } = request;
      const options = (server: DevServer, durationMs: number): LoadOptions => ({ ...load, url: `${server.url}${path}`, concurrency, durationMs });
      const samples = new Map([
        [ours, noSamples()],
        [bare, noSamples()],
      ]);
      for (const server of [ours, bare]) {
        await waitUntilIdle([ours, bare]);
        await runLoad(options(server, WARMUP_MS));
      }
      for (let round = 0; round < rounds; round++) {
        for (const server of round % 2 === 0 ? [ours, bare] : [bare, ours]) {
          await waitUntilIdle([ours, bare]);
          await sample(server, [ours, bare], options(server, SAMPLE_MS), samples.get(server)!, elsewhere);
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
      figures.push({
        figure: `${name}, ${clients}`,
        measured: mine.text,
        reference: `bare Worker: ${theirs.text}`,
        ratio: `${ratio.toFixed(2)}× throughput`,
        ...(budgeted ? { budget: throughputBudget(ratio) } : {}),
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
