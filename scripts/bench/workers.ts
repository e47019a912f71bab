/**
 * The Workers the benchmark runs, each under `wrangler dev` in the same local
 * runtime: ours as `npm run dev:stub` runs it, the same with its billable
 * operations counted, and a bare Worker for comparison.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "jsonc-parser";
import { buildConsole } from "../../console/build.js";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../../worker/src/contract.js";
import { DEV_TOKEN, stubVars } from "../stub-vars.js";
import { type DevServer, ROOT, startDevServer } from "./dev-server.js";

/** The bearer token of the benchmark's Workers: dev:stub's default. */
export const BENCH_TOKEN = DEV_TOKEN;

/** The variables `npm run dev:stub` passes by default (scripts/dev-stub.ts). */
const STUB_VARS = stubVars(BENCH_TOKEN);

/**
 * worker/wrangler.jsonc as `npm run dev:stub` uses it, with two changes: paths
 * (the container image, the console's assets) made absolute (the copy lives
 * in a temporary directory) and the task rate
 * limit raised, since the benchmark submits thousands of tasks a minute on
 * purpose (the limit is still checked on every submission, as deployed).
 */
function stubConfig(): Record<string, unknown> {
  const config = parse(readFileSync(resolve(ROOT, "worker/wrangler.jsonc"), "utf8")) as Record<string, unknown>;
  delete config.$schema;
  const containers = config.containers as { image: string }[] | undefined;
  for (const container of containers ?? []) container.image = resolve(ROOT, "worker", container.image);
  const assets = config.assets as { directory: string } | undefined;
  if (assets) assets.directory = resolve(ROOT, "worker", assets.directory);
  const ratelimits = config.ratelimits as { simple: { limit: number } }[] | undefined;
  for (const ratelimit of ratelimits ?? []) ratelimit.simple.limit = 1_000_000_000;
  return config;
}

/** Our Worker with the stand-in sandbox: worker/dev/stub-entry.ts, the entry of `npm run dev:stub`, with the console built as it serves it. */
export async function startStubWorker(): Promise<DevServer> {
  await buildConsole();
  return startDevServer({ name: "stub", entry: "worker/dev/stub-entry.ts", config: stubConfig(), vars: STUB_VARS });
}

/** The same Worker with its billable operations counted (worker/dev/bench-metered-entry.ts). */
export async function startMeteredWorker(): Promise<DevServer> {
  await buildConsole();
  return startDevServer({ name: "metered", entry: "worker/dev/bench-metered-entry.ts", config: stubConfig(), vars: STUB_VARS });
}

/** The bare Worker (worker/dev/bench-bare.ts) with the same compatibility settings and no bindings. */
export function startBareWorker(): Promise<DevServer> {
  return startDevServer({
    name: "bare",
    entry: "worker/dev/bench-bare.ts",
    config: { name: "claude-sandbox-bench-bare", compatibility_date: COMPATIBILITY_DATE, compatibility_flags: [...COMPATIBILITY_FLAGS] },
  });
}
