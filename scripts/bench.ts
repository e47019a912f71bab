/**
 * `npm run bench`: measures, side by side in one run and offline, what the
 * Worker costs (docs/performance.md): its overhead against a bare Worker in
 * the same local runtime, event streaming over SSE, platform operations and
 * their list price per 1000 tasks, the bundle against the Sandbox SDK's, the
 * CLI's start time against `node -e 0`, and the web console's download and
 * opening time in a headless browser. It prints one markdown table on
 * stdout (progress goes to stderr) and exits 1 when a budget is missed or a
 * measurement could not be made. Figures depend on the machine: they are
 * printed, never stored.
 */
import { availableParallelism } from "node:os";
import { measureBundle } from "./bench/bundle-size.js";
import { measureCliStart } from "./bench/cli-start.js";
import { measureConsole } from "./bench/console.js";
import { measureCosts } from "./bench/costs.js";
import type { DevServer } from "./bench/dev-server.js";
import { benchOutcome, type Figure, renderTable } from "./bench/figures.js";
import { measureMcp } from "./bench/mcp.js";
import { measureOverhead } from "./bench/overhead.js";
import { measureStreaming } from "./bench/streaming.js";
import { startBareWorker, startMeteredWorker, startStubWorker } from "./bench/workers.js";

const started = performance.now();
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

/** Runs one part; a failure is reported and the other parts still run. */
async function part(name: string, measure: () => Promise<Figure[]> | Figure[]): Promise<void> {
  progress(name);
  try {
    figures.push(...(await measure()));
  } catch (error) {
    problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

try {
  await part("CLI start time", measureCliStart);
  await part("bundle sizes", measureBundle);

  progress("starting the Workers (wrangler dev)");
  // Every start is waited for, so that the servers that did start are stopped when another failed.
  const launches = await Promise.allSettled([startStubWorker(), startBareWorker(), startMeteredWorker()]);
  for (const launch of launches) if (launch.status === "fulfilled") servers.push(launch.value);
  const failed = launches.find((launch) => launch.status === "rejected");
  if (failed) throw failed.reason;
  const [stub, bare, metered] = servers as [DevServer, DevServer, DevServer];

  await part("Worker overhead against the bare Worker", async () => {
    const outcome = await measureOverhead(stub, bare);
    problems.push(...outcome.problems);
    warnings.push(...outcome.warnings);
    return outcome.figures;
  });
  await part("event streaming", () => measureStreaming(stub));
  await part("MCP get_task against plain HTTP", () => measureMcp(stub));
  await part("platform cost per 1000 tasks", () => measureCosts(metered));
  await part("web console", () => measureConsole(stub));
} catch (error) {
  problems.push(error instanceof Error ? error.message : String(error));
} finally {
  await stopServers();
}

const outcome = benchOutcome(figures, problems, warnings);
process.stdout.write(`${renderTable(figures)}\n`);
progress(
  `done in ${((performance.now() - started) / 1000).toFixed(0)} s on ${availableParallelism()} CPUs, Node ${process.version}: ` +
    `${outcome.met} of ${outcome.budgets} budgets met`,
);
for (const message of outcome.messages) process.stderr.write(`${message}\n`);
process.exit(outcome.exitCode);
