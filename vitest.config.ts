import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/** Secrets and settings the Worker tests run with (test values, not real credentials). */
export const WORKER_TEST_BINDINGS = {
  SERVER_AUTH_TOKEN: "test-token-current-0123456789abcdef",
  SERVER_AUTH_TOKEN_PREVIOUS: "test-token-previous-0123456789abcd",
  CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-test-oauth-credential",
  MAX_TIMEOUT_MS: "600000",
  DEADLINE_GRACE_MS: "300",
};

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            main: "./test/worker/harness.ts",
            wrangler: { configPath: "./worker/wrangler.jsonc" },
            miniflare: { bindings: WORKER_TEST_BINDINGS },
          }),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"] },
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
