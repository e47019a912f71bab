/**
 * worker/wrangler.jsonc as a copy outside worker/ (for dev:stub with another
 * task rate limit, and the benchmark's Workers): its relative paths (the
 * container image, the console's assets) made absolute, and the task rate
 * limit set to `rateLimit` when one is given. The limit is still checked on
 * every submission, as deployed.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "jsonc-parser";

const ROOT = resolve(import.meta.dirname, "..");

/** The Worker's wrangler configuration, to be written anywhere, with the task rate limit `rateLimit` (tasks per minute per token). */
export function stubWranglerConfig(rateLimit?: number): Record<string, unknown> {
  const config = parse(readFileSync(resolve(ROOT, "worker/wrangler.jsonc"), "utf8")) as Record<string, unknown>;
  delete config.$schema;
  const containers = config.containers as { image: string }[] | undefined;
  for (const container of containers ?? []) container.image = resolve(ROOT, "worker", container.image);
  const assets = config.assets as { directory: string } | undefined;
  if (assets) assets.directory = resolve(ROOT, "worker", assets.directory);
  if (rateLimit !== undefined) {
    const ratelimits = config.ratelimits as { simple: { limit: number } }[] | undefined;
    for (const ratelimit of ratelimits ?? []) ratelimit.simple.limit = rateLimit;
  }
  return config;
}
