import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { WORKER_TEST_BINDINGS, WORKER_TEST_RATE_LIMIT } from "./test/fixtures/worker-bindings.js";

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            main: "./test/worker/harness.ts",
            wrangler: { configPath: "./worker/wrangler.jsonc" },
            miniflare: {
              bindings: WORKER_TEST_BINDINGS,
              ratelimits: { TASK_RATE_LIMIT: { simple: { limit: WORKER_TEST_RATE_LIMIT, period: 60 } } },
            },
          }),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], globalSetup: ["./test/fixtures/webhook-sink.ts"] },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/**/*.test.ts"],
          exclude: ["test/worker/**", "**/node_modules/**"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
