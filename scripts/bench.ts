/**
 * `npm run bench`: measures, side by side in one run and offline, what the
 * Worker costs and what its users wait for (docs/performance.md): the CLI's
 * start against `node -e 0`, the Worker's startup CPU (`wrangler check
 * startup`) against the Sandbox SDK's and its upload against the platform's
 * limit, its overhead against a bare Worker in the same local runtime, the time
 * from `POST /tasks` to the task's first event, event streaming over SSE, and
 * platform operations with their list price per 1000 tasks, an MCP `get_task`
 * against the same call over plain HTTP, and the web console's download and
 * its opening time in a headless browser. It prints one
 * markdown table on stdout (progress goes to stderr) and exits 1 when a budget
 * is missed or a measurement could not be made. Figures depend on the machine:
 * they are printed, never stored.
 *
 * A new row joins by a part in PARTS (scripts/bench/part.ts): a module of
 * scripts/bench/ that measures and returns its figures (with a budget where it
 * has one), and one line here naming it; `workers()` gives it the local
 * Workers, started once for every part that asks.
 */
import { availableParallelism, loadavg } from "node:os";
import { measureCliStart } from "./bench/cli-start.js";
import { measureConsole } from "./bench/console.js";
import { measureCosts } from "./bench/costs.js";
import { profileSubmission } from "./bench/cpu-profile.js";
import type { DevServer } from "./bench/dev-server.js";
import { benchOutcome, type Figure, renderTable } from "./bench/figures.js";
import { measureFirstEvent } from "./bench/first-event.js";
import { measureMcp } from "./bench/mcp.js";
import { measureOverhead, SUBMISSIONS } from "./bench/overhead.js";
import type { BenchContext, BenchPart, BenchWorkers } from "./bench/part.js";
import { measureStartup } from "./bench/startup.js";
import { measureStreaming } from "./bench/streaming.js";
import { startBareWorker, startMeteredWorker, startStubWorker } from "./bench/workers.js";

/** The parts, in the order they run: those that need no Worker first, while the machine holds nothing of ours. */
const PARTS: readonly BenchPart[] = [
  { name: "CLI start time", measure: async () => measureCliStart() },
  { name: "Worker startup and upload (wrangler check startup)", measure: () => measureStartup() },
  {
    name: "Worker overhead against the bare Worker",
    measure: async ({ workers }) => {
      const { stub, bare } = await workers();
      return measureOverhead(stub, bare);
    },
  },
  {
    name: "where a submission's runtime CPU goes",
    measure: async ({ workers }) => {
      const { stub } = await workers();
      return [await profileSubmission(stub, SUBMISSIONS.accepted), await profileSubmission(stub, SUBMISSIONS.whole)];
    },
  },
  { name: "time to first event", measure: async ({ workers }) => measureFirstEvent((await workers()).stub) },
  { name: "event streaming", measure: async ({ workers }) => measureStreaming((await workers()).stub) },
  { name: "platform cost per 1000 tasks", measure: async ({ workers }) => measureCosts((await workers()).metered) },
  { name: "MCP get_task against plain HTTP", measure: async ({ workers }) => measureMcp((await workers()).stub) },
  { name: "web console", measure: async ({ workers }) => measureConsole((await workers()).stub) },
];

const started = performance.now();
const loadAtStart = loadavg()[0]!;
const servers: DevServer[] = [];
const figures: Figure[] = [];
const problems: string[] = [];
const warnings: string[] = [];

function progress(message: string): void {
  process.stderr.write(`bench [${((performance.now() - started) / 1000).toFixed(0)} s] ${message}\n`);
}

async function stopServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void stopServers().finally(() => process.exit(130));
  });
}

/** Starts the three Workers together; every start is waited for, so those that did start are stopped when another failed. */
async function startWorkers(): Promise<BenchWorkers> {
  progress("starting the Workers (wrangler dev)");
  const launches = await Promise.allSettled([startStubWorker(), startBareWorker(), startMeteredWorker()]);
  for (const launch of launches) if (launch.status === "fulfilled") servers.push(launch.value);
  const failed = launches.find((launch) => launch.status === "rejected");
  if (failed) throw new Error(`starting the Workers: ${failed.reason instanceof Error ? failed.reason.message : String(failed.reason)}`);
  const [stub, bare, metered] = servers as [DevServer, DevServer, DevServer];
  return { stub, bare, metered };
}

let starting: Promise<BenchWorkers> | undefined;
const context: BenchContext = { workers: () => (starting ??= startWorkers()), progress };

try {
  for (const part of PARTS) {
    progress(part.name);
    try {
      const outcome = await part.measure(context);
      if (Array.isArray(outcome)) {
        figures.push(...outcome);
      } else {
        figures.push(...outcome.figures);
        problems.push(...(outcome.problems ?? []));
        warnings.push(...(outcome.warnings ?? []));
      }
    } catch (error) {
      problems.push(`${part.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
} finally {
  await stopServers();
}

figures.push({
  figure: "Machine during the run",
  measured: `load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (1 min)`,
  reference: `${availableParallelism()} CPUs`,
  ratio: "",
});
const outcome = benchOutcome(figures, problems, warnings);
process.stdout.write(`${renderTable(figures)}\n`);
progress(
  `done in ${((performance.now() - started) / 1000).toFixed(0)} s on ${availableParallelism()} CPUs, Node ${process.version}: ` +
    `${outcome.met} of ${outcome.budgets} budgets met`,
);
for (const message of outcome.messages) process.stderr.write(`${message}\n`);
process.exit(outcome.exitCode);
