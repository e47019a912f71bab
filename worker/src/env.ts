/**
 * The Worker's bindings: `Env` is generated from wrangler.jsonc by `wrangler types`
 * (worker/worker-configuration.d.ts); secrets are declared here because they are
 * never written in wrangler.jsonc.
 */
export interface WorkerSecrets {
  /** The current API bearer token. */
  SERVER_AUTH_TOKEN?: string;
  /** The previous API bearer token; unset until the first rotation. */
  SERVER_AUTH_TOKEN_PREVIOUS?: string;
  /** Claude subscription token from `claude setup-token`. */
  CLAUDE_CODE_OAUTH_TOKEN?: string;
  /** Anthropic API key, used when no OAuth token is set. */
  ANTHROPIC_API_KEY?: string;
  /** Optional override of the Worker's wait beyond the task timeout, in ms. */
  DEADLINE_GRACE_MS?: string;
}

export type WorkerEnv = Env & WorkerSecrets;
