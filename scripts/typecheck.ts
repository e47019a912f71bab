/**
 * `npm run typecheck`: the generated Worker types are current, and `tsc` passes
 * over the Worker (with its tests), over the web console (with the browser's
 * types) and over everything else. The checks
 * are independent, so they run side by side; each one's output is printed
 * whole, under its name, once it ends. Exits 1 when any of them fails.
 */
import { spawn } from "node:child_process";

const TSC = "node_modules/typescript/bin/tsc";

const CHECKS: [name: string, args: string[]][] = [
  ["worker types", ["--import", "tsx", "scripts/worker-types.ts", "--check"]],
  ["tsc -p worker/tsconfig.json", [TSC, "-p", "worker/tsconfig.json"]],
  ["tsc -p console/tsconfig.json", [TSC, "-p", "console/tsconfig.json"]],
  ["tsc -p tsconfig.json", [TSC, "-p", "tsconfig.json"]],
];

function run([name, args]: [string, string[]]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.on("error", (error) => {
      console.error(`✗ ${name}: ${error.message}`);
      resolve(false);
    });
    child.on("close", (code, signal) => {
      const ok = code === 0;
      console.log(`${ok ? "✓" : "✗"} ${name}${ok ? "" : ` (${signal ?? `exit ${code}`})`}`);
      if (output.trim() !== "" && !ok) console.log(output.trimEnd());
      resolve(ok);
    });
  });
}

const results = await Promise.all(CHECKS.map(run));
if (results.includes(false)) process.exit(1);
