/**
 * The CLI's start time, run the way the docs tell people to run it: the
 * `claude-sandbox` command that `npm link` puts on the PATH (a link named
 * after package.json's `bin` to its entry, started through the entry's
 * `#!/usr/bin/env node` line). How long `claude-sandbox --help` and
 * `claude-sandbox generate-token` take from spawn to exit, next to
 * `node -e 0` looked up on the same PATH, median of several runs taken in turn.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { ROOT } from "./dev-server.js";
import { type Figure, ms } from "./figures.js";
import { median } from "./load.js";

/** Most the CLI may take, as a multiple of `node -e 0`: the README promises it starts in less than this. */
export const CLI_START_BUDGET = 2;

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

/**
 * A directory holding what `npm link` puts in the global bin directory: a link
 * `claude-sandbox` to the CLI's entry. With it first on the PATH, and the
 * directory of this Node.js next, `claude-sandbox` runs as it does for a user.
 */
function linkedPath(bin: string): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "claude-sandbox-bench-bin-"));
  symlinkSync(bin, join(dir, "claude-sandbox"));
  return { path: [dir, dirname(process.execPath), process.env.PATH ?? ""].join(delimiter), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function run(command: string, args: string[], path: string): { ms: number; status: number | null } {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: path, NO_COLOR: "1" } });
  return { ms: performance.now() - started, status: result.status };
}

/** Makes sure the CLI runs, building it with the project's own script when it is not built. */
function ensureRunnable(path: string): void {
  if (run("claude-sandbox", ["generate-token"], path).status === 0) return;
  const build = packageJson().scripts?.["build:cli"];
  if (build === undefined) throw new Error("the CLI does not run (`claude-sandbox generate-token` failed) and package.json has no build:cli script");
  const built = spawnSync("npm", ["run", "--silent", "build:cli"], { cwd: ROOT, stdio: "inherit" });
  if (built.status !== 0 || run("claude-sandbox", ["generate-token"], path).status !== 0) throw new Error("the CLI does not run, even after `npm run build:cli`");
}

export function measureCliStart(): Figure[] {
  const linked = linkedPath(cliBin());
  try {
    ensureRunnable(linked.path);
    const commands = [
      { name: "`claude-sandbox --help`", args: ["--help"] },
      { name: "`claude-sandbox generate-token`", args: ["generate-token"] },
    ];
    const times = { baseline: [] as number[], commands: commands.map(() => [] as number[]) };
    // One untimed round first: the file cache is then warm for every command alike.
    for (let round = -1; round < RUNS; round++) {
      const baselineRun = run("node", ["-e", "0"], linked.path);
      const runs = commands.map((command) => run("claude-sandbox", command.args, linked.path));
      if (round < 0) continue;
      times.baseline.push(baselineRun.ms);
      runs.forEach((result, index) => times.commands[index]!.push(result.ms));
    }
    const nodeMs = median(times.baseline);
    return commands.map((command, index) => cliStartFigure(command.name, median(times.commands[index]!), nodeMs));
  } finally {
    linked.remove();
  }
}
