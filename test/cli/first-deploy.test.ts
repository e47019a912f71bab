/**
 * The first-deploy check through the CLI: `test-deployment` against a
 * dev:stub told to fail four of the checks names each problem once at the
 * top with its next step, and every next step points to a section of
 * docs/workflows/troubleshoot.md that exists.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDeployment } from "../../cli/commands/test-deployment.js";
import { NEXT_STEPS } from "../../cli/lib/first-deploy.js";
import { DIAGNOSTIC_CHECKS } from "../../worker/src/diagnostics/checks.js";
import { type LaunchedStub, launchDevStub, waitUntilReady } from "../fixtures/dev-stub.js";

const TROUBLESHOOT = readFileSync("docs/workflows/troubleshoot.md", "utf8");
const FAILING = ["allowed_host", "blocked_host", "anthropic_door", "no_credential"];

let stub: LaunchedStub;

beforeAll(async () => {
  stub = await launchDevStub({ STUB_DIAGNOSTICS_FAIL: FAILING.join(",") });
  await waitUntilReady(stub);
}, 120_000);

afterAll(async () => {
  await stub?.stop();
});

describe("test-deployment's first-deploy check", () => {
  it("names each problem the stand-in plays, once at the top, with its next step (exit 1)", async () => {
    const result = await testDeployment({ args: [stub.url, stub.token] });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, code: "first_deploy_check_failed" });
    const error = String(result.output.error);
    const hint = String(result.output.hint);
    for (const name of FAILING) {
      expect(error).toContain(name);
      expect(hint).toContain(NEXT_STEPS[name as keyof typeof NEXT_STEPS]);
    }
    expect(error).not.toContain("container_start");
    const check = (result.output.checks as { name: string; ok: boolean; diagnostics?: { name: string; ok: boolean; next_step?: string }[] }[]).find((candidate) => candidate.name === "first_deploy_check")!;
    expect(check.ok).toBe(false);
    expect(check.diagnostics!.filter((diagnostic) => !diagnostic.ok).map((diagnostic) => diagnostic.name)).toEqual(FAILING);
    expect(check.diagnostics!.find((diagnostic) => diagnostic.name === "container_start")).not.toHaveProperty("next_step");
    expect(JSON.stringify(result.output)).not.toContain(stub.token);
  });
});

describe("the next steps", () => {
  it.each(DIAGNOSTIC_CHECKS)("of %s point to a section of troubleshoot.md", (name) => {
    const section = /troubleshoot\.md, "([^"]+)"/.exec(NEXT_STEPS[name])?.[1];
    expect(section).toBeDefined();
    expect(TROUBLESHOOT).toContain(`### ${section}`);
  });
});
