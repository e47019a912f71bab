/**
 * What the sandbox container may reach, and how the Claude credential is added
 * on the way out. The SDK's outbound interception sends every HTTP(S) request
 * of the container through the Worker: hosts outside `allowedHosts` are refused,
 * requests to the Anthropic API go through `forwardToAnthropic`, and requests to
 * the other allowed hosts leave unchanged, so they never carry the credential.
 */
import { type ClaudeCredential } from "../tasks/claude-command.js";
import { ANTHROPIC_API_HOST } from "../contract.js";
import type { WorkerSecrets } from "../env.js";
import { readSettings } from "../settings.js";

/** The configured Claude credential; an OAuth token wins over an API key when both are set. */
export function claudeCredential(env: WorkerSecrets): ClaudeCredential | null {
  if (env.CLAUDE_CODE_OAUTH_TOKEN) return { kind: "oauth", token: env.CLAUDE_CODE_OAUTH_TOKEN };
  if (env.ANTHROPIC_API_KEY) return { kind: "apiKey", key: env.ANTHROPIC_API_KEY };
  return null;
}

/** The container's egress policy: no general internet, only the allowed hosts, HTTPS intercepted. */
export interface EgressPolicy {
  enableInternet: false;
  interceptHttps: true;
  allowedHosts: string[];
}

/** Builds the egress policy from the Worker's settings; invalid settings allow only the Anthropic API. */
export function egressPolicy(env: Parameters<typeof readSettings>[0]): EgressPolicy {
  let allowedHosts: string[];
  try {
    allowedHosts = readSettings(env).allowedHosts;
  } catch {
    allowedHosts = [ANTHROPIC_API_HOST];
  }
  return { enableInternet: false, interceptHttps: true, allowedHosts };
}

/**
 * Rewrites a request of the container to the Anthropic API: whatever credential
 * headers it carries (the placeholder) are removed and the real credential is set.
 * The destination is always https://api.anthropic.com, whatever the request said.
 */
export function withAnthropicCredential(request: Request, credential: ClaudeCredential): Request {
  const incoming = new URL(request.url);
  const target = new URL(`${incoming.pathname}${incoming.search}`, `https://${ANTHROPIC_API_HOST}`);
  const headers = new Headers(request.headers);
  headers.delete("authorization");
  headers.delete("x-api-key");
  headers.delete("host");
  if (credential.kind === "oauth") headers.set("authorization", `Bearer ${credential.token}`);
  else headers.set("x-api-key", credential.key);
  return new Request(target, {
    method: request.method,
    headers,
    body: request.body,
    redirect: "manual",
  });
}

/** The outbound handler for the Anthropic API host. */
export async function forwardToAnthropic(
  request: Request,
  env: WorkerSecrets,
  send: (request: Request) => Promise<Response> = (outgoing) => fetch(outgoing),
): Promise<Response> {
  const credential = claudeCredential(env);
  if (!credential) {
    return Response.json({ error: "No Claude credential is configured", code: "credential_not_configured" }, { status: 502 });
  }
  return send(withAnthropicCredential(request, credential));
}
