/**
 * Local Workers for the benchmark: `wrangler dev` (the same workerd runtime as
 * `npm run dev:stub`) on a free port. The entry is bundled first by
 * worker/bundle.ts (as deployed: minified, one module) and run as it is
 * (`--no-bundle`), so the code measured is the code of the moment the bench
 * started, even while the working tree changes. The configuration lives in a
 * temporary directory, the local storage on a memory file system when there
 * is one, and the output goes to a log file (never through this process,
 * which must stay idle while it measures).
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker } from "../../worker/bundle.js";
import { freePort, stopProcessGroup } from "../processes.js";
import { varArguments } from "../stub-vars.js";
import { wranglerCommand } from "../wrangler.js";

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface DevServerOptions {
  /** A short name for logs and errors. */
  name: string;
  /** The entry module, relative to the repository. */
  entry: string;
  /** The Wrangler configuration, as JSON (`main` is set from `entry`). */
  config: Record<string, unknown>;
  /** Plain-text variables (`--var`). */
  vars?: Record<string, string>;
}

export interface DevServer {
  name: string;
  url: string;
  /** Where wrangler's inspector proxy serves the Worker's isolate (Chrome DevTools protocol, `/json` lists it). */
  inspectorUrl: string;
  /** The source map of the bundle the Worker runs. */
  sourceMap: string;
  /** The process ids of the runtime (wrangler and its workerd processes), for CPU readings. */
  processIds(): number[];
  /** What the server printed so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Every descendant of `pid` (Linux /proc), with `pid` itself. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [pid];
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name is in parentheses and may hold spaces; the parent id is the second field after it.
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended meanwhile.
    }
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** Starts `wrangler dev` and resolves once the Worker answers. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const directory = mkdtempSync(join(tmpdir(), `claude-sandbox-bench-${options.name}-`));
  // In a folder of its own: wrangler watches the module's folder, which must not hold the state it writes.
  mkdirSync(join(directory, "module"));
  const mainPath = join(directory, "module", "worker.js");
  const bundle = await bundleWorker(resolve(ROOT, options.entry));
  writeFileSync(mainPath, bundle.code);
  const configPath = join(directory, "wrangler.json");
  writeFileSync(configPath, JSON.stringify({ ...options.config, main: mainPath }, null, 2));
  // Durable Object and R2 state on a memory file system where there is one: local disk syncs are not what a deployment pays.
  const stateDirectory = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), `claude-sandbox-bench-${options.name}-state-`));
  const logPath = join(directory, "output.log");
  const logFd = openSync(logPath, "a");
  const port = await freePort();
  const inspectorPort = await freePort();
  const [command, args] = wranglerCommand([
    "dev",
    "--config",
    configPath,
    "--no-bundle",
    "--enable-containers=false",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--persist-to",
    stateDirectory,
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    ...varArguments(options.vars ?? {}),
  ]);
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", logFd, logFd],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  closeSync(logFd);
  const url = `http://127.0.0.1:${port}`;
  const log = () => readFileSync(logPath, "utf8");

  const stop = async () => {
    await stopProcessGroup(child);
    rmSync(directory, { recursive: true, force: true });
    rmSync(stateDirectory, { recursive: true, force: true });
  };

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) {
      const output = log();
      await stop();
      throw new Error(`wrangler dev (${options.name}) exited with ${child.exitCode}:\n${output.slice(-2_000)}`);
    }
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        const output = log();
        await stop();
        throw new Error(`wrangler dev (${options.name}) did not answer within 90 s:\n${output.slice(-2_000)}`);
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 250));
    }
  }
  return {
    name: options.name,
    url,
    inspectorUrl: `http://127.0.0.1:${inspectorPort}`,
    sourceMap: bundle.sourceMap,
    processIds: () => (child.pid === undefined ? [] : processTree(child.pid)),
    log,
    stop,
  };
}

/** Total CPU time (user + system, in clock ticks) of `pids`. */
export function cpuTicks(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      // utime and stime are fields 14 and 15 of stat; fields[0] here is field 3.
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone, or no /proc.
    }
  }
  return total;
}

/** CPU time the whole machine has spent busy (all CPUs, in clock ticks), from /proc/stat; 0 without it. */
export function machineBusyTicks(): number {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user, nice, system, idle, iowait, irq, softirq, steal: busy is all but idle and iowait.
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return user + nice + system + irq + softirq + steal;
  } catch {
    return 0;
  }
}

/**
 * Waits until the servers' processes have used no CPU clock tick (10 ms) in
 * 300 ms: background work of a previous measurement has settled. Gives up
 * after `maxMs`.
 */
export async function waitUntilIdle(servers: readonly DevServer[], maxMs = 15_000): Promise<void> {
  const pids = servers.flatMap((server) => server.processIds());
  const deadline = Date.now() + maxMs;
  let previous = cpuTicks(pids);
  while (Date.now() < deadline) {
    await new Promise((resolveWait) => setTimeout(resolveWait, 300));
    const current = cpuTicks(pids);
    if (current - previous <= 0) return;
    previous = current;
  }
}
