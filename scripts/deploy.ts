/**
 * `npm run deploy [-- <pulumi up flags>]`: `pulumi up` for the selected stack,
 * its flags passed on. Without the Pulumi CLI it says so, how to install it,
 * and which command checks every tool a deployment needs, instead of the
 * shell's bare `pulumi: not found`.
 */
import { spawn } from "node:child_process";
import { HINTS } from "../cli/commands/check-prerequisites.js";
import { findOnPath } from "../cli/lib/tools.js";

const pulumi = findOnPath("pulumi");
if (pulumi === null) {
  console.error(
    [
      "npm run deploy runs `pulumi up`, but the Pulumi CLI is not installed (no `pulumi` on PATH).",
      `${HINTS.pulumiInstall}; then ${HINTS.pulumiLogin.replace(/^Run/, "run")}.`,
      "Check every tool a deployment needs with `claude-sandbox check-prerequisites` (in this clone: node cli/bin.mjs check-prerequisites).",
    ].join("\n"),
  );
  process.exit(1);
}

const child = spawn(pulumi, ["up", ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
