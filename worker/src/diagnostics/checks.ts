/**
 * The first-deploy check's checks, as pure functions: the commands a sandbox
 * runs for each, and how what they printed is judged. What can only be known
 * live (the container starts, its egress is filtered, the Anthropic door
 * fires, no credential is inside) is checked from inside a real sandbox by
 * `runDiagnostics` (run.ts); these functions decide.
 */
import { ANTHROPIC_API_HOST } from "../contract.js";
import { shellQuote } from "../shell-quote.js";

/** Every check, in the order they run. */
export const DIAGNOSTIC_CHECKS = ["container_start", "allowed_host", "blocked_host", "anthropic_door", "no_credential"] as const;
export type DiagnosticCheckName = (typeof DIAGNOSTIC_CHECKS)[number];

/** One check's outcome: pass or fail, what it saw, and how long it took. */
export interface DiagnosticCheck {
  name: DiagnosticCheckName;
  ok: boolean;
  /** What the check saw, in words (never a secret). */
  saw: string;
  /** How long it took, in ms. */
  ms: number;
}

/** `POST /diagnostics`: every check, and whether all passed. */
export interface DiagnosticsReport {
  ok: boolean;
  checks: DiagnosticCheck[];
}

/** The marker that starts every diagnostics command (a no-op for bash), so the stand-in sandbox knows what it is asked. */
export const DIAGNOSTICS_MARKER = ": claude-sandbox-diagnostics";

/** Longest a probe's request may take inside the container, in seconds. */
export const PROBE_TIMEOUT_SECONDS = 20;

/** Hosts the blocked-host check tries to reach, in order: the first that the deployment does not allow is used. */
const BLOCKED_CANDIDATES = ["example.com", "example.net", "example.org"] as const;

/** Whether `host` is one of `allowedHosts` (an entry `*.domain` allows its subdomains). */
export function hostAllowed(host: string, allowedHosts: readonly string[]): boolean {
  return allowedHosts.some((entry) => (entry.startsWith("*.") ? host.endsWith(entry.slice(1)) : host === entry));
}

/** The host the allowed-host check reaches: the first allowed host that names one host and is not the Anthropic API (null when there is none). */
export function reachableHost(allowedHosts: readonly string[]): string | null {
  return allowedHosts.find((host) => !host.startsWith("*.") && host !== ANTHROPIC_API_HOST) ?? null;
}

/** The host the blocked-host check must be refused: one the deployment does not allow (null when it allows them all). */
export function blockedHost(allowedHosts: readonly string[]): string | null {
  return BLOCKED_CANDIDATES.find((host) => !hostAllowed(host, allowedHosts)) ?? null;
}

/**
 * A request from inside the container with curl: its HTTP status on the last
 * line (000 when no answer came), and the answer's first 2 KiB before it.
 */
export function probeCommand(check: "allowed_host" | "blocked_host" | "anthropic_door", method: "GET" | "HEAD", url: string): string {
  return (
    `${DIAGNOSTICS_MARKER} ${check}; ` +
    `curl -sS -m ${PROBE_TIMEOUT_SECONDS} -X ${method} -o /tmp/probe.body -w '%{http_code}' ${shellQuote(url)} > /tmp/probe.status 2>/dev/null; ` +
    `head -c 2048 /tmp/probe.body 2>/dev/null; echo; cat /tmp/probe.status`
  );
}

/** The environment a task's process sees, printed as `NAME=value` lines. */
export const ENVIRONMENT_COMMAND = `${DIAGNOSTICS_MARKER} no_credential; env`;

/** What a probe printed: the HTTP status (null when nothing answered) and the body it showed. */
export function readProbe(stdout: string): { status: number | null; body: string } {
  const lines = stdout.replace(/\n$/, "").split("\n");
  const last = lines.pop() ?? "";
  const status = /^\d{3}$/.test(last) && last !== "000" ? Number(last) : null;
  return { status, body: lines.join("\n") };
}

/** The allowed host answered: any HTTP status means the request left the container and came back. */
export function judgeAllowedHost(host: string, probe: { status: number | null }): Omit<DiagnosticCheck, "name" | "ms"> {
  return probe.status === null
    ? { ok: false, saw: `https://${host}/ did not answer from inside the container` }
    : { ok: true, saw: `https://${host}/ answered HTTP ${probe.status}` };
}

/** The blocked host must not be reached: no answer, or a refusal, never the host's own success. */
export function judgeBlockedHost(host: string, probe: { status: number | null }): Omit<DiagnosticCheck, "name" | "ms"> {
  if (probe.status === null) return { ok: true, saw: `https://${host}/ was refused (no answer reached the container)` };
  if (probe.status >= 400) return { ok: true, saw: `https://${host}/ was refused with HTTP ${probe.status}` };
  return { ok: false, saw: `https://${host}/ answered HTTP ${probe.status}: a host that is not allowed was reached` };
}

/** The request the door must refuse with its own code: a method and path Claude Code never uses, so no tokens are spent. */
export const DOOR_PROBE_URL = `https://${ANTHROPIC_API_HOST}/v1/models`;

/** The Anthropic door fired when the request was refused with the door's own code, never reaching the API. */
export function judgeAnthropicDoor(probe: { status: number | null; body: string }): Omit<DiagnosticCheck, "name" | "ms"> {
  let code: unknown = null;
  try {
    code = (JSON.parse(probe.body) as { code?: unknown }).code;
  } catch {
    code = null;
  }
  if (probe.status === 403 && code === "route_not_allowed") return { ok: true, saw: "the door refused GET /v1/models with route_not_allowed, before any credential was added" };
  if (probe.status === null) return { ok: false, saw: "api.anthropic.com did not answer from inside the container" };
  return { ok: false, saw: `api.anthropic.com answered HTTP ${probe.status} without the door's code: the request went past the door` };
}

/**
 * No secret of the deployment in the environment a task's process sees: the
 * names of the variables that hold one (never their values), or none. With
 * `credentialMode: env` the Claude credential is there by configuration.
 */
export function judgeEnvironment(environment: string, secrets: readonly string[], credentialMode: "proxy" | "env"): Omit<DiagnosticCheck, "name" | "ms"> {
  const variables = environment.split("\n").filter((line) => line.includes("="));
  const holding = variables.filter((line) => secrets.some((secret) => line.slice(line.indexOf("=") + 1).includes(secret))).map((line) => line.slice(0, line.indexOf("=")));
  if (holding.length === 0) return { ok: true, saw: `no credential in the ${variables.length} variables a task's process sees` };
  const why = credentialMode === "env" ? " (credentialMode is env: the credential is passed in by configuration)" : "";
  return { ok: false, saw: `a credential is in the container's environment: ${holding.join(", ")}${why}` };
}
