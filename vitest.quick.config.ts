/**
 * `npm run test:quick`: the tests that start nothing of their own (pure
 * functions, the Pulumi program under its mocks, the docs, the bench's
 * arithmetic), in well under a minute, for the inner loop. test/worker's run
 * in the Workers runtime as in `npm test`, the others in Node. `npm test` runs
 * them too, with everything else (vitest.config.ts).
 *
 * A test file is quick unless one of its imports starts something: the Worker
 * under test and its Durable Objects (test/worker's helpers and harness,
 * `cloudflare:test`), a process (`node:child_process`), or a fixture that runs
 * a process or a server (every fixture but the in-process Pulumi mocks and the
 * Worker's test bindings).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { workerPool } from "./vitest.config.js";

const STARTS_SOMETHING: readonly RegExp[] = [
  /^cloudflare:test$/,
  /^\.\/(helpers|harness)\.js$/,
  /^node:child_process$/,
  /\/fixtures\/(?!pulumi-mocks\.js$|worker-bindings\.js$)[\w-]+\.js$/,
];

function testFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === "fixtures" ? [] : testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Whether a test file starts nothing of its own, by its import specifiers. */
export function isQuick(source: string): boolean {
  const specifiers = [...source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms), ...source.matchAll(/^import\s+"([^"]+)"/gm)].map((match) => match[1]!);
  return !specifiers.some((specifier) => STARTS_SOMETHING.some((pattern) => pattern.test(specifier)));
}

const quick = testFiles("test").filter((file) => isQuick(readFileSync(file, "utf8")));
const inWorkers = (file: string) => file.startsWith(join("test", "worker"));

export default defineConfig({
  test: {
    projects: [
      { plugins: [workerPool()], test: { name: "quick-worker", include: quick.filter(inWorkers) } },
      { test: { name: "quick", environment: "node", include: quick.filter((file) => !inWorkers(file)) } },
    ],
  },
});
