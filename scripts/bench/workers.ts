/**
 * The Workers the benchmark runs, each under `wrangler dev` in the same local
 * runtime: ours as `npm run dev:stub` runs it, the same with its billable
 * operations counted, and a bare Worker for comparison.
 */
import { buildConsole } from "../../console/build.js";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../../worker/src/contract.js";
import { stubWranglerConfig } from "../stub-config.js";
import { DEV_TOKEN, stubVars } from "../stub-vars.js";
import { type DevServer, startDevServer } from "./dev-server.js";

/** The bearer token of the benchmark's Workers: dev:stub's default. */
export const BENCH_TOKEN = DEV_TOKEN;

/** The variables `npm run dev:stub` passes by default (scripts/dev-stub.ts). */
const STUB_VARS = stubVars(BENCH_TOKEN);

/** The bench submits thousands of tasks a minute on purpose: its copy of the configuration raises the rate limit this far. */
const BENCH_RATE_LIMIT = 1_000_000_000;

/** Our Worker with the stand-in sandbox: worker/dev/stub-entry.ts, the entry of `npm run dev:stub`, with the console built as it serves it. */
export async function startStubWorker(): Promise<DevServer> {
  await buildConsole();
  return startDevServer({ name: "stub", entry: "worker/dev/stub-entry.ts", config: stubWranglerConfig(BENCH_RATE_LIMIT), vars: STUB_VARS });
}

/** The same Worker with its billable operations counted (worker/dev/bench-metered-entry.ts). */
export async function startMeteredWorker(): Promise<DevServer> {
  await buildConsole();
  return startDevServer({ name: "metered", entry: "worker/dev/bench-metered-entry.ts", config: stubWranglerConfig(BENCH_RATE_LIMIT), vars: STUB_VARS });
}

/** The bare Worker (worker/dev/bench-bare.ts) with the same compatibility settings and no bindings. */
export function startBareWorker(): Promise<DevServer> {
  return startDevServer({
    name: "bare",
    entry: "worker/dev/bench-bare.ts",
    config: { name: "claude-sandbox-bench-bare", compatibility_date: COMPATIBILITY_DATE, compatibility_flags: [...COMPATIBILITY_FLAGS] },
  });
}
