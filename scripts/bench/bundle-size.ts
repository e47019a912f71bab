/**
 * The Worker bundle as deployed (worker/bundle.ts, the function the Pulumi
 * program uploads with), raw and gzip, next to the bundle of the Sandbox SDK
 * alone (worker/dev/bench-sdk-only.ts) built the same way: the difference is
 * what our own code and libraries add.
 */
import { gzipSync } from "node:zlib";
import { resolve } from "node:path";
import { bundleWorker } from "../../worker/bundle.js";
import { ROOT } from "./dev-server.js";
import { type Figure, kib } from "./figures.js";

/** Most our bundle may add to the SDK's, gzip. */
export const BUNDLE_BUDGET_BYTES = 15 * 1024;

/** A bundle's size in bytes, raw and gzip. */
export interface BundleSizes {
  raw: number;
  gzip: number;
}

function sizes(code: string): BundleSizes {
  const bytes = Buffer.from(code);
  return { raw: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength };
}

/** Our bundle next to the SDK's, within budget when it adds at most BUNDLE_BUDGET_BYTES gzip. */
export function bundleFigure(ours: BundleSizes, sdk: BundleSizes): Figure {
  const added = ours.gzip - sdk.gzip;
  return {
    figure: "Worker bundle (worker/src/index.ts)",
    measured: `${kib(ours.raw)} raw · ${kib(ours.gzip)} gzip`,
    reference: `Sandbox SDK alone: ${kib(sdk.raw)} raw · ${kib(sdk.gzip)} gzip`,
    ratio: `+${kib(added)} gzip`,
    budget: { rule: `≤ +${kib(BUNDLE_BUDGET_BYTES)} gzip`, met: added <= BUNDLE_BUDGET_BYTES },
  };
}

export async function measureBundle(): Promise<Figure[]> {
  const ours = sizes((await bundleWorker()).code);
  const sdk = sizes((await bundleWorker(resolve(ROOT, "worker/dev/bench-sdk-only.ts"))).code);
  return [bundleFigure(ours, sdk)];
}
