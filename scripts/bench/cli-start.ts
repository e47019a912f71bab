/**
 * The CLI's start time: how long `claude-sandbox --help` and
 * `claude-sandbox generate-token` take from spawn to exit (package.json's
 * `bin`, as `npx claude-sandbox` runs it), next to `node -e 0`, median of
 * several runs taken in turn.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ROOT } from "./dev-server.js";
import { type Figure, ms } from "./figures.js";
import { median } from "./load.js";

/** Most the CLI may take, as a multiple of `node -e 0`. */
export const CLI_START_BUDGET = 5;

const RUNS = 7;

/** A command's median start time next to `node -e 0`'s, within budget below CLI_START_BUDGET times it. */
export function cliStartFigure(name: string, commandMs: number, nodeMs: number): Figure {
  const ratio = commandMs / nodeMs;
  return {
    figure: `CLI start: ${name} (median of ${RUNS})`,
    measured: ms(commandMs),
    reference: `\`node -e 0\`: ${ms(nodeMs)}`,
    ratio: `${ratio.toFixed(1)}×`,
    budget: { rule: `< ${CLI_START_BUDGET}×`, met: ratio < CLI_START_BUDGET },
  };
}

interface PackageJson {
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
}

function packageJson(): PackageJson {
  return JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as PackageJson;
}

/** The CLI's entry, as package.json's `bin` names it. */
function cliBin(): string {
  const { bin } = packageJson();
  const path = typeof bin === "string" ? bin : bin?.["claude-sandbox"];
  if (!path) throw new Error("package.json has no `bin` for claude-sandbox");
  return resolve(ROOT, path);
}

function run(args: string[]): { ms: number; status: number | null; stdout: string } {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { ms: performance.now() - started, status: result.status, stdout: result.stdout };
}

/** Makes sure the CLI runs, building it with the project's own script when it is not built. */
function ensureRunnable(bin: string): void {
  if (run([bin, "generate-token"]).status === 0) return;
  const build = packageJson().scripts?.["build:cli"];
  if (build === undefined) throw new Error("the CLI does not run (`claude-sandbox generate-token` failed) and package.json has no build:cli script");
  const built = spawnSync("npm", ["run", "--silent", "build:cli"], { cwd: ROOT, stdio: "inherit" });
  if (built.status !== 0 || run([bin, "generate-token"]).status !== 0) throw new Error("the CLI does not run, even after `npm run build:cli`");
}

export function measureCliStart(): Figure[] {
  const bin = cliBin();
  ensureRunnable(bin);
  const commands = [
    { name: "`claude-sandbox --help`", args: [bin, "--help"] },
    { name: "`claude-sandbox generate-token`", args: [bin, "generate-token"] },
  ];
  const baseline = ["-e", "0"];
  const times = { baseline: [] as number[], commands: commands.map(() => [] as number[]) };
  // One untimed round first: the file cache is then warm for every command alike.
  for (let round = -1; round < RUNS; round++) {
    const baselineRun = run(baseline);
    const runs = commands.map((command) => run(command.args));
    if (round < 0) continue;
    times.baseline.push(baselineRun.ms);
    runs.forEach((result, index) => times.commands[index]!.push(result.ms));
  }
  const nodeMs = median(times.baseline);
  return commands.map((command, index) => cliStartFigure(command.name, median(times.commands[index]!), nodeMs));
}
