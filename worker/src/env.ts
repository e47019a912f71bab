/**
 * The Worker's bindings: `Env` is generated from wrangler.jsonc by `wrangler types`
 * (worker/worker-configuration.d.ts); the secrets are declared in secrets.ts, and
 * the plain settings that have no value unless a deployment sets them, here.
 */
import type { WorkerSecrets } from "./secrets.js";

/** Plain settings bound only when configured (see SETTING_VARS in contract.ts). */
export interface OptionalVars {
  /** The wait beyond the task timeout, in ms (never bound by the program; tests set it). */
  DEADLINE_GRACE_MS?: string;
  /** `true` only in local development: lets `callbackUrl` be plain http to localhost. */
  ALLOW_INSECURE_CALLBACKS?: string;
  /** The cap of `maxBudgetUsd`, in USD (unset: no cap). */
  MAX_BUDGET_USD?: string;
  GITHUB_APP_ID?: string;
  GITHUB_REPOS?: string;
  GITHUB_API_URL?: string;
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUDIENCE?: string;
}

export type WorkerEnv = Env & WorkerSecrets & OptionalVars;
