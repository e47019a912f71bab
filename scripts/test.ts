/**
 * `npm test`: the type checks (`npm run typecheck`) and every test (`vitest
 * run`) side by side. Most tests wait on real processes and timers, so the
 * type checks fit in the time the CPUs would otherwise sit idle. The tests'
 * output streams as it comes; the type checks' is held and printed after it,
 * so neither garbles the other. Arguments go to vitest (`npm test --
 * test/worker/auth.test.ts`). Exits non-zero when either fails.
 */
import { spawn } from "node:child_process";

interface Outcome {
  ok: boolean;
  output: string;
}

function run(args: string[], captured: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: captured ? ["ignore", "pipe", "pipe"] : "inherit" });
    let output = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.on("error", (error) => resolve({ ok: false, output: `${output}${error.message}\n` }));
    child.on("close", (code, signal) => resolve({ ok: code === 0, output: code === null ? `${output}ended by ${signal}\n` : output }));
  });
}

const [typecheck, tests] = await Promise.all([
  run(["--import", "tsx", "scripts/typecheck.ts"], true),
  run(["node_modules/vitest/vitest.mjs", "run", ...process.argv.slice(2)], false),
]);
process.stdout.write(`\nType checks (npm run typecheck), run beside the tests:\n${typecheck.output}`);
if (!typecheck.ok) process.stdout.write("The type checks failed: see above.\n");
process.exit(typecheck.ok && tests.ok ? 0 : 1);
