/**
 * `POST /diagnostics`, the first-deploy check, through the real Worker with
 * the stand-in sandbox: every check passes on a healthy deployment, each one
 * fails with what it saw when the stand-in plays that problem, and the
 * sandbox, which is not a task, is destroyed whatever happened.
 */
import { describe, expect, it } from "vitest";
import type { DiagnosticsReport } from "../../worker/src/diagnostics/checks.js";
import { sandboxEvents, sandboxScript } from "./harness.js";
import { call, captureLogs, freshState, jsonHeaders, postWithEnv } from "./helpers.js";

freshState();
captureLogs();

async function diagnose(): Promise<{ status: number; report: DiagnosticsReport }> {
  const response = await call("/diagnostics", { method: "POST", headers: jsonHeaders() });
  return { status: response.status, report: (await response.json()) as DiagnosticsReport };
}

describe("POST /diagnostics", () => {
  it("passes every check on a healthy deployment, saying what each saw, and destroys its sandbox", async () => {
    const { status, report } = await diagnose();
    expect(status).toBe(200);
    expect(report.checks.map((check) => [check.name, check.ok])).toEqual([
      ["container_start", true],
      ["allowed_host", true],
      ["blocked_host", true],
      ["anthropic_door", true],
      ["no_credential", true],
    ]);
    expect(report.ok).toBe(true);
    for (const check of report.checks) {
      expect(check.ms).toBeGreaterThanOrEqual(0);
      expect(check.saw.length).toBeGreaterThan(0);
    }
    expect(report.checks.find((check) => check.name === "anthropic_door")!.saw).toMatch(/route_not_allowed/);
    expect(report.checks.find((check) => check.name === "allowed_host")!.saw).toMatch(/github\.com|registry\.npmjs\.org/);
    expect(sandboxEvents.destroyed.length).toBe(1);
    // It is not a task: it started no process and is in no list.
    expect(sandboxEvents.starts).toEqual([]);
  });

  it.each([
    ["allowed_host", /did not answer/],
    ["blocked_host", /not allowed was reached/],
    ["anthropic_door", /went past the door/],
    ["no_credential", /credential is in the container's environment: LEAKED_CREDENTIAL/],
  ])("fails %s alone when the sandbox shows that problem, saying what it saw", async (name, saw) => {
    sandboxScript.diagnosticsFail = [name];
    const { status, report } = await diagnose();
    expect(status).toBe(200);
    expect(report.ok).toBe(false);
    expect(report.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual([name]);
    expect(report.checks.find((check) => check.name === name)!.saw).toMatch(saw);
    expect(sandboxEvents.destroyed.length).toBe(1);
  });

  it("skips the other checks when the container does not start, and still destroys the sandbox", async () => {
    sandboxScript.diagnosticsFail = ["container_start"];
    const { report } = await diagnose();
    expect(report.ok).toBe(false);
    expect(report.checks[0]).toMatchObject({ name: "container_start", ok: false, saw: expect.stringMatching(/no Container instance available/) });
    expect(report.checks.slice(1).every((check) => !check.ok && check.saw === "not run: the container did not start")).toBe(true);
    expect(sandboxEvents.destroyed.length).toBe(1);
  });

  it("never shows a secret, even when one is in the container's environment", async () => {
    sandboxScript.diagnosticsFail = ["no_credential"];
    const response = await call("/diagnostics", { method: "POST", headers: jsonHeaders() });
    const text = await response.text();
    expect(text).not.toContain("fake-oauth-test-oauth-credential");
  });

  it("fails no_credential for a deployment that passes the credential in (credentialMode env), saying why", async () => {
    const response = await postWithEnv("/diagnostics", {}, { CREDENTIAL_MODE: "env" });
    const report = (await response.json()) as DiagnosticsReport;
    expect(report.checks.find((check) => check.name === "no_credential")).toMatchObject({ ok: false, saw: expect.stringMatching(/CLAUDE_CODE_OAUTH_TOKEN.*credentialMode is env/) });
  });
});
