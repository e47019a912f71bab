/**
 * `npm run deploy` (scripts/deploy.ts): `pulumi up` with the flags given, its
 * exit code passed on; without the Pulumi CLI, a message that says how to get
 * it and points to `check-prerequisites`, instead of the shell's `pulumi: not found`.
 */
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HINTS } from "../../cli/commands/check-prerequisites.js";
import { removeTempDirs, standIns } from "../cli/fixtures/run-cli-process.js";

afterAll(() => removeTempDirs());

function deploy(programs: Record<string, string>, args: string[] = []) {
  const bin = standIns(programs);
  return spawnSync(process.execPath, ["node_modules/tsx/dist/cli.mjs", "scripts/deploy.ts", ...args], {
    encoding: "utf8",
    env: { PATH: `${bin}:${dirname(process.execPath)}`, HOME: bin },
    timeout: 60_000,
  });
}

describe("npm run deploy", () => {
  it("without the Pulumi CLI exits 1, says how to install it and points to check-prerequisites", () => {
    const result = deploy({});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("the Pulumi CLI is not installed (no `pulumi` on PATH)");
    expect(result.stderr).toContain(HINTS.pulumiInstall);
    expect(result.stderr).toContain("check-prerequisites");
    expect(result.stderr).not.toContain("not found");
  });

  it("runs pulumi up with the flags given, and exits with its code", () => {
    const result = deploy({ pulumi: 'echo "pulumi $*"\nexit 3' }, ["--yes", "--stack", "dev"]);
    expect(result.stdout).toBe("pulumi up --yes --stack dev\n");
    expect(result.status).toBe(3);
  });
});
