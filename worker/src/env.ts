/**
 * The Worker's bindings: `Env` is generated from wrangler.jsonc by `wrangler types`
 * (worker/worker-configuration.d.ts); the secrets are declared in secrets.ts.
 */
import type { WorkerSecrets } from "./secrets.js";

export type WorkerEnv = Env & WorkerSecrets;
