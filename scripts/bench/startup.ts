/**
 * The Worker's startup, measured by the platform's own profiler: `wrangler
 * check startup` runs a Worker upload in a local runtime, records a CPU
 * profile of the evaluation of its main module (what a cold start of an
 * isolate pays before the first request), and prints the profile's active
 * (non-idle) time and the upload's size. Our Worker (worker/src/index.ts, built
 * by worker/bundle.ts as the Pulumi program uploads it) is profiled in turns
 * with the Sandbox SDK alone (worker/dev/bench-sdk-only.ts, built the same
 * way), the floor any Sandbox Worker pays; the medians are compared. Each
 * upload is made once by `wrangler deploy --dry-run --outfile`, the file
 * `check startup --worker` takes.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bundleWorker, WORKER_ENTRY } from "../../worker/bundle.js";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS, DURABLE_OBJECT_BINDINGS, SANDBOX_BINDING, SANDBOX_CLASS_NAME } from "../../worker/src/contract.js";
import { wranglerCommand } from "../wrangler.js";
import { ROOT } from "./dev-server.js";
import { type Figure, kib, ms } from "./figures.js";
import { median } from "./load.js";

/** Most our startup may take, as a multiple of the SDK-only Worker's. */
export const STARTUP_BUDGET = 1.5;

/** Largest upload the platform takes: 64 MiB uncompressed, on every plan, as the pinned wrangler checks it. */
export const UPLOAD_LIMIT_BYTES = 64 * 1024 * 1024;

/** Profiles of each Worker, taken in turns after one untimed round. */
const ROUNDS = 7;


/** What one `wrangler check startup` printed: the upload's size and the profile's active time. */
export interface StartupReading {
  bytes: number;
  gzipBytes: number;
  activeMs: number;
}

/** Reads `wrangler check startup`'s report (its `Bundle:` and `Active:` lines, colours and frames aside). */
export function parseStartupReport(output: string): StartupReading {
  // Drop ANSI colour codes; wrangler prints sizes in KiB with two decimals.
  const text = output.replaceAll(/\u001b\[[0-9;]*m/g, "");
  const bundle = /Bundle: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(text);
  const active = /Active: ([\d.]+) ms/.exec(text);
  if (!bundle || !active) throw new Error(`wrangler check startup printed no Bundle: and Active: lines:\n${text.slice(-1_500)}`);
  return { bytes: Number(bundle[1]) * 1024, gzipBytes: Number(bundle[2]) * 1024, activeMs: Number(active[1]) };
}

/** Our median startup next to the SDK-only Worker's, within budget at most STARTUP_BUDGET times it. */
export function startupFigure(oursMs: readonly number[], sdkMs: readonly number[]): Figure {
  const ours = median(oursMs);
  const sdk = median(sdkMs);
  const ratio = ours / sdk;
  const spread = (values: readonly number[]) => `${ms(Math.min(...values))} to ${ms(Math.max(...values))}`;
  return {
    figure: `Worker startup CPU, \`wrangler check startup\` (median of ${oursMs.length})`,
    measured: `${ms(ours)} active (${spread(oursMs)})`,
    reference: `Sandbox SDK alone: ${ms(sdk)} (${spread(sdkMs)})`,
    ratio: `${ratio.toFixed(2)}×`,
    budget: { rule: `≤ ${STARTUP_BUDGET}×`, met: ratio <= STARTUP_BUDGET },
  };
}

/** The upload's size against the platform's limit: information, no budget. */
export function uploadFigure(ours: StartupReading, sdk: StartupReading): Figure {
  return {
    figure: "Worker upload (worker/src/index.ts)",
    measured: `${kib(ours.bytes)} · ${kib(ours.gzipBytes)} gzip`,
    reference: `limit ${UPLOAD_LIMIT_BYTES / 1024 / 1024} MiB uncompressed · Sandbox SDK alone: ${kib(sdk.bytes)} · ${kib(sdk.gzipBytes)} gzip`,
    ratio: `${((ours.bytes / UPLOAD_LIMIT_BYTES) * 100).toFixed(1)}% of the limit`,
  };
}

interface Upload {
  name: string;
  /** The upload as `wrangler deploy --dry-run --outfile` writes it. */
  file: string;
}

function wrangler(args: string[], cwd: string): string {
  const run = spawnSync(...wranglerCommand(args), {
    cwd,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
    timeout: 120_000,
  });
  const output = `${run.stdout}${run.stderr}`;
  if (run.status !== 0) throw new Error(`wrangler ${args.slice(0, 2).join(" ")} exited with ${run.status ?? run.signal}:\n${output.slice(-1_500)}`);
  return output;
}

/**
 * Bundles `entry` as deployed and makes its upload: a configuration with the
 * Durable Object bindings it exports (no container, no variables: startup runs
 * the module's top level only, before any binding is used).
 */
async function makeUpload(directory: string, name: string, entry: string, bindings: Readonly<Record<string, string>>): Promise<Upload> {
  const main = join(directory, `${name}.js`);
  writeFileSync(main, (await bundleWorker(entry)).code);
  const config = join(directory, `${name}.wrangler.json`);
  writeFileSync(
    config,
    JSON.stringify({
      name: `claude-sandbox-bench-${name}`,
      main,
      compatibility_date: COMPATIBILITY_DATE,
      compatibility_flags: [...COMPATIBILITY_FLAGS],
      durable_objects: { bindings: Object.entries(bindings).map(([binding, className]) => ({ name: binding, class_name: className })) },
      migrations: [{ tag: "v1", new_sqlite_classes: [...new Set(Object.values(bindings))] }],
    }),
  );
  const file = join(directory, `${name}.upload`);
  wrangler(["deploy", "--dry-run", "--no-bundle", "--config", config, "--outfile", file], directory);
  return { name, file };
}

function checkStartup(upload: Upload, directory: string): StartupReading {
  return parseStartupReport(wrangler(["check", "startup", "--worker", upload.file, "--outfile", join(directory, `${upload.name}.cpuprofile`)], directory));
}

export async function measureStartup(): Promise<Figure[]> {
  const directory = mkdtempSync(join(tmpdir(), "claude-sandbox-bench-startup-"));
  try {
    const ours = await makeUpload(directory, "ours", WORKER_ENTRY, DURABLE_OBJECT_BINDINGS);
    const sdk = await makeUpload(directory, "sdk-only", resolve(ROOT, "worker/dev/bench-sdk-only.ts"), { [SANDBOX_BINDING]: SANDBOX_CLASS_NAME });
    const readings = { ours: [] as StartupReading[], sdk: [] as StartupReading[] };
    // One untimed round first (file cache, the runtime's first start); then turns, the order flipping each round.
    for (let round = -1; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [ours, sdk] : [sdk, ours];
      for (const upload of order) {
        const reading = checkStartup(upload, directory);
        if (round >= 0) (upload === ours ? readings.ours : readings.sdk).push(reading);
      }
    }
    const active = (list: StartupReading[]) => list.map((reading) => reading.activeMs);
    return [startupFigure(active(readings.ours), active(readings.sdk)), uploadFigure(readings.ours[0]!, readings.sdk[0]!)];
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
