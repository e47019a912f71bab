/**
 * What the stand-in Worker of `npm run dev:stub` is given (scripts/dev-stub.ts),
 * and the benchmark's Workers alike (scripts/bench/workers.ts). Side-effect
 * free, so that both can import it.
 */
import { SECRET_BINDINGS, SETTING_VARS } from "../worker/src/contract.js";

/** The bearer token when SERVER_AUTH_TOKEN is not set. */
export const DEV_TOKEN = "dev-token";

/** A fixed, public development secret: `whsec_` and the base64 of 32 bytes. */
export const DEV_WEBHOOK_SECRET = `whsec_${Buffer.from("claude-sandbox-dev-webhook-key!!").toString("base64")}`;

/** The stand-in sandbox runs no Claude Code, so any credential will do. */
const STUB_CLAUDE_CREDENTIAL = "stub-sandbox-needs-no-credential";

/**
 * The Worker's variables (`wrangler dev --var`): this token and webhook
 * secret, a stand-in credential, plain-http callbacks to localhost allowed, and
 * the first-deploy checks the stand-in should fail (`STUB_DIAGNOSTICS_FAIL`,
 * comma-separated, from `failing`), to try each failure locally.
 */
export function stubVars(token: string = DEV_TOKEN, webhookSecret: string = DEV_WEBHOOK_SECRET, failing: string | undefined = undefined): Record<string, string> {
  return {
    [SECRET_BINDINGS.authToken]: token,
    [SECRET_BINDINGS.claudeOauthToken]: STUB_CLAUDE_CREDENTIAL,
    [SECRET_BINDINGS.webhookSecret]: webhookSecret,
    [SETTING_VARS.allowInsecureCallbacks]: "true",
    ...(failing ? { STUB_DIAGNOSTICS_FAIL: failing } : {}),
  };
}

/** The variables as `wrangler dev` arguments. */
export function varArguments(vars: Record<string, string>): string[] {
  return Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
}
