/**
 * The stand-in sandbox's answers to the first-deploy check's commands
 * (worker/src/diagnostics/checks.ts): what a healthy container prints for
 * each, or, for the checks named in `STUB_DIAGNOSTICS_FAIL` (comma-separated),
 * what a container with that problem prints, so every failure and its message
 * can be tried locally. The Anthropic door's answer comes from the real door.
 */
import { DIAGNOSTICS_MARKER, type DiagnosticCheckName, DOOR_PROBE_URL } from "../src/diagnostics/checks.js";
import { forwardToAnthropic } from "../src/egress/anthropic-door.js";
import type { WorkerEnv } from "../src/env.js";
import type { ExecOutcome } from "../src/sandbox/control.js";

/** The checks the stand-in is told to fail (`STUB_DIAGNOSTICS_FAIL`). */
export function failingChecks(env: { STUB_DIAGNOSTICS_FAIL?: string }): string[] {
  return (env.STUB_DIAGNOSTICS_FAIL ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

/** What a probe prints: the body's first bytes, then the HTTP status (000: no answer). */
const printed = (body: string, status: string): ExecOutcome => ({ exitCode: 0, stdout: `${body}\n${status}\n`, stderr: "" });

/** The stand-in's answer to a diagnostics command (as a container with the `failing` checks' problems would print it), or null when `command` is not one. */
export async function stubDiagnosticAnswer(
  command: string,
  commandEnv: Record<string, string | undefined>,
  env: WorkerEnv,
  failing: readonly string[],
): Promise<ExecOutcome | null> {
  if (!command.startsWith(DIAGNOSTICS_MARKER)) return null;
  const check = command.slice(DIAGNOSTICS_MARKER.length).trim().split(";")[0] as DiagnosticCheckName;
  const fail = failing.includes(check);
  switch (check) {
    case "allowed_host":
      return fail ? printed("", "000") : printed("", "200");
    case "blocked_host":
      return fail ? printed("<!doctype html><title>Example Domain</title>", "200") : printed("", "000");
    case "anthropic_door": {
      if (fail) return printed('{"type":"error","error":{"type":"authentication_error","message":"x-api-key header is required"}}', "401");
      const answer = await forwardToAnthropic(new Request(DOOR_PROBE_URL), env);
      return printed(await answer.text(), String(answer.status));
    }
    case "no_credential": {
      const lines = Object.entries(commandEnv).map(([name, value]) => `${name}=${value ?? ""}`);
      if (fail) lines.push(`LEAKED_CREDENTIAL=${env.CLAUDE_CODE_OAUTH_TOKEN ?? env.ANTHROPIC_API_KEY ?? ""}`);
      return { exitCode: 0, stdout: `PATH=/usr/local/bin:/usr/bin:/bin\n${lines.join("\n")}\n`, stderr: "" };
    }
    default:
      return null;
  }
}
