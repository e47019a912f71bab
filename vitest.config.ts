import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { buildConsole } from "./console/build.js";
import { WORKER_TEST_BINDINGS, WORKER_TEST_RATE_LIMIT } from "./test/fixtures/worker-bindings.js";

// worker/wrangler.jsonc serves the console's assets from dist/assets: they exist before any runtime starts.
await buildConsole();

/** The Workers runtime the tests of test/worker run in: the Worker under test (harness.ts) with its test bindings. */
export function workerPool() {
  return cloudflareTest({
    main: "./test/worker/harness.ts",
    wrangler: { configPath: "./worker/wrangler.jsonc" },
    miniflare: {
      bindings: WORKER_TEST_BINDINGS,
      ratelimits: { TASK_RATE_LIMIT: { namespace_id: "1001", simple: { limit: WORKER_TEST_RATE_LIMIT, period: 60 } } },
    },
  });
}

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [workerPool()],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["./test/fixtures/webhook-sink.ts"],
          // Most of these files wait on timers (deadlines, retries, keep-alives): three at a time even on two cores.
          maxWorkers: 3,
          // The helpers wait up to 10 s for what a test awaits (a stored result, a status) and name it when
          // it does not come; a test's own limit stays above that, so a slow machine fails with that name.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/**/*.test.ts"],
          exclude: ["test/worker/**", "**/node_modules/**"],
          // Builds the CLI and starts the one dev:stub the run shares.
          globalSetup: ["./test/fixtures/node-global-setup.ts"],
          // These files mostly wait on child processes, the stub and the browser: three at a time even on
          // two cores, after the worker project (its own group, so each keeps its own number of workers).
          maxWorkers: 3,
          // Each worker loads Pulumi, its providers and our modules once, not once per file (about a
          // fifth of this project's time). Files restore what they change (env stubs, timers), and the
          // Pulumi program tests evaluate the program afresh (vi.resetModules) under their own mocks.
          isolate: false,
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
