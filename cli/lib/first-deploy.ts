/**
 * The first-deploy check as the CLI reads it: `POST /diagnostics` runs each
 * check in a sandbox of the deployment's own (worker/src/diagnostics), and
 * each failure here becomes the next step to take, naming the section of
 * docs/workflows/troubleshoot.md that describes the symptom.
 */
import type { DiagnosticCheck, DiagnosticCheckName, DiagnosticsReport } from "../../worker/src/diagnostics/checks.js";

/** What to do when a check fails. */
export const NEXT_STEPS: Readonly<Record<DiagnosticCheckName, string>> = {
  container_start:
    "No container started. Check that the container application has an image and room for one more instance (maxInstances), that the account is on Workers Paid, and run the check again in a minute: see docs/workflows/troubleshoot.md, \"No container starts\".",
  allowed_host:
    "The container reached none of the allowed hosts. Some Sandbox SDK releases time out on allowed hosts when the internet is off: see docs/workflows/troubleshoot.md, \"Allowed hosts time out\".",
  blocked_host:
    "A host that is not allowed was reached: the container's egress is not filtered. Deploy this version (the Worker must export ContainerProxy and the Sandbox class with enableInternet off): see docs/workflows/troubleshoot.md, \"Egress is not filtered\".",
  anthropic_door:
    "The request to api.anthropic.com went past the Anthropic door: outbound interception is not firing. It does not fire for a Worker with targeted placement: see docs/workflows/troubleshoot.md, \"The Anthropic door does not fire\".",
  no_credential:
    "A credential is in the container's environment. With credentialMode env it is there by configuration (`pulumi config set credentialMode proxy` keeps it out): see docs/workflows/troubleshoot.md, \"A credential is in the container\".",
};

/** One check of the report, with the next step when it failed. */
export type ReadCheck = DiagnosticCheck & { next_step?: string };

/** The report's checks, each failed one with its next step. */
export function withNextSteps(report: DiagnosticsReport): ReadCheck[] {
  return report.checks.map((check) => (check.ok ? check : { ...check, next_step: NEXT_STEPS[check.name] }));
}

/** Whether a JSON body is a first-deploy check's report. */
export function isDiagnosticsReport(body: unknown): body is DiagnosticsReport {
  if (typeof body !== "object" || body === null) return false;
  const { ok, checks } = body as { ok?: unknown; checks?: unknown };
  return typeof ok === "boolean" && Array.isArray(checks) && checks.every((check) => typeof check === "object" && check !== null && "name" in check && "ok" in check);
}
