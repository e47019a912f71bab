/**
 * The door to the Anthropic API: what the sandbox container may reach, and how
 * the Claude credential is added on the way out (the twin of git-door.ts). The SDK's outbound interception sends every HTTP(S) request
 * of the container through the Worker: hosts outside `allowedHosts` are refused,
 * requests to the Anthropic API go through `forwardToAnthropic`, and requests to
 * the other allowed hosts leave unchanged, so they never carry the credential.
 *
 * `forwardToAnthropic` is a narrow door: it forwards only what the rules in
 * anthropic-rules.ts accept, in the canonical form they checked, and only then
 * adds the credential. A refusal is a JSON `{error, code}` answered here; it is
 * never forwarded, and its log line names the rule, never a header or the body.
 */
import { ANTHROPIC_API_HOST } from "../contract.js";
import type { WorkerSecrets } from "../secrets.js";
import { readSettings, type SettingsSource } from "../settings.js";
import { readRequestAtMost } from "../streams.js";
import {
  checkMessageBody,
  checkRoute,
  type CredentialKind,
  EGRESS_REFUSALS,
  type EgressRefusalCode,
  filterBetas,
  FORWARDED_REQUEST_HEADERS,
  jsonShape,
  MAX_BODY_DEPTH,
  MAX_BODY_VALUES,
  MAX_INSPECTED_BODY_BYTES,
} from "./anthropic-rules.js";
import { refusalResponse } from "./refusal.js";

/** The bindings the egress code reads: the credential and the plain settings. */
export type EgressEnv = WorkerSecrets & SettingsSource;

/** Which Claude credential is configured, and where its value goes. */
export type ClaudeCredential =
  | { kind: Extract<CredentialKind, "oauth">; token: string }
  | { kind: Extract<CredentialKind, "apiKey">; key: string };

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
export function egressPolicy(env: SettingsSource): EgressPolicy {
  let allowedHosts: string[];
  try {
    allowedHosts = readSettings(env).allowedHosts;
  } catch {
    allowedHosts = [ANTHROPIC_API_HOST];
  }
  return { enableInternet: false, interceptHttps: true, allowedHosts };
}

/** Whether the door lets Anthropic's web search through; invalid settings turn it off. */
function webSearchAllowed(env: EgressEnv): boolean {
  try {
    return readSettings(env).allowWebSearch;
  } catch {
    return false;
  }
}

/** What a checked request becomes on its way to the API. */
export interface CheckedRequest {
  /** The canonical path and query the rules accepted. */
  path: string;
  search: string;
  /** The body the rules inspected, serialised again. */
  body: string;
  /** The `anthropic-beta` values the rules kept. */
  betas: string[];
}

/**
 * Builds the request to the Anthropic API from a checked request of the
 * container: always https://api.anthropic.com, the checked path, query and
 * body, only the headers Claude Code sends (`FORWARDED_REQUEST_HEADERS`), the
 * kept betas, and the real credential in place of whatever credential headers
 * (the placeholder) the container sent. Redirects are not followed, so the
 * credential can never be carried to another URL.
 */
export function withAnthropicCredential(request: Request, credential: ClaudeCredential, checked: CheckedRequest): Request {
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  headers.set("content-type", "application/json");
  if (checked.betas.length > 0) headers.set("anthropic-beta", checked.betas.join(","));
  if (credential.kind === "oauth") headers.set("authorization", `Bearer ${credential.token}`);
  else headers.set("x-api-key", credential.key);
  return new Request(`https://${ANTHROPIC_API_HOST}${checked.path}${checked.search}`, {
    method: request.method,
    headers,
    body: checked.body,
    redirect: "manual",
  });
}

/** Answers a refused request, and logs the rule that fired (never a header or the body). */
function refusal(code: EgressRefusalCode): Response {
  return refusalResponse(EGRESS_REFUSALS, code, ANTHROPIC_API_HOST);
}

/** Parses a body as UTF-8 JSON; undefined when it is not. */
function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The outbound handler for the Anthropic API host: checks the request against
 * the door's rules and forwards it with the credential, or refuses it. The
 * API's response is returned as it comes, so streamed replies keep streaming.
 */
export async function forwardToAnthropic(
  request: Request,
  env: EgressEnv,
  send: (request: Request) => Promise<Response> = (outgoing) => fetch(outgoing),
): Promise<Response> {
  const credential = claudeCredential(env);
  if (!credential) {
    await request.body?.cancel();
    return refusal("credential_not_configured");
  }
  const accepted = checkRoute(request.method, new URL(request.url), credential.kind);
  if ("refused" in accepted) return refusal(accepted.refused);

  const bytes = await readRequestAtMost(request, MAX_INSPECTED_BODY_BYTES);
  if (bytes === null) return refusal("body_too_large");
  // Parsing costs memory and stack by the body's shape: a body past the bounds is refused unparsed.
  const shape = jsonShape(bytes, { depth: MAX_BODY_DEPTH, values: MAX_BODY_VALUES });
  if (shape.over === "depth") return refusal("body_too_deep");
  if (shape.over === "values") return refusal("body_too_many_values");
  const body = parseJson(bytes);
  const bodyRefusal = checkMessageBody(body, { allowWebSearch: webSearchAllowed(env) });
  if (bodyRefusal) return refusal(bodyRefusal.refused);

  const betas = filterBetas(request.headers.get("anthropic-beta"), credential.kind);
  if (betas.dropped > 0) {
    console.log(JSON.stringify({ level: "info", event: "egress_betas_dropped", host: ANTHROPIC_API_HOST, count: betas.dropped }));
  }
  const checked = { path: accepted.path, search: accepted.search, body: JSON.stringify(body), betas: betas.kept };
  return send(withAnthropicCredential(request, credential, checked));
}
