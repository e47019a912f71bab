/**
 * The Worker's secret bindings (never in wrangler.jsonc, so declared here) and
 * the list of their values that must never appear in a result, an event or a
 * log. No runtime type is needed, so Node code (tests, infra) can import it.
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
  /** The webhook signing secret, `whsec_<base64>`. */
  WEBHOOK_SECRET?: string;
  /** A fine-grained GitHub token for repository tasks. */
  GITHUB_TOKEN?: string;
  /** The GitHub App's private key (PEM) for repository tasks. */
  GITHUB_APP_PRIVATE_KEY?: string;
}

/** The prefix of a Standard Webhooks secret (`whsec_<base64>`); the key is the base64 text after it. */
export const WEBHOOK_SECRET_PREFIX = "whsec_";

/**
 * Every secret value of the deployment: none of them may appear in a result,
 * an event or a log. The webhook secret counts twice: whole, and its key
 * without the `whsec_` prefix (what signs the deliveries).
 */
export function deploymentSecrets(env: WorkerSecrets): string[] {
  const webhookKey = env.WEBHOOK_SECRET?.startsWith(WEBHOOK_SECRET_PREFIX) ? env.WEBHOOK_SECRET.slice(WEBHOOK_SECRET_PREFIX.length) : undefined;
  return [
    env.SERVER_AUTH_TOKEN,
    env.SERVER_AUTH_TOKEN_PREVIOUS,
    env.CLAUDE_CODE_OAUTH_TOKEN,
    env.ANTHROPIC_API_KEY,
    env.WEBHOOK_SECRET,
    webhookKey,
    env.GITHUB_TOKEN,
    env.GITHUB_APP_PRIVATE_KEY,
  ].filter((value): value is string => typeof value === "string" && value.length > 0);
}
