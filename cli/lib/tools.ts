/**
 * Runs external programs found on a PATH (node, npm, docker, pulumi, claude)
 * with a timeout, and reads the version numbers they print. A program that is
 * not on the PATH is reported as not found, never as an error.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** What one run of a program gave. */
export interface ToolRun {
  /** Whether the program is on the PATH. */
  found: boolean;
  /** Where it was found. */
  path: string | null;
  /** Exit code; null when it did not exit by itself (timeout, signal, failed start). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Whether it was stopped for taking longer than the timeout. */
  timedOut: boolean;
  /** Why it could not be started, when it could not. */
  error: string | null;
}

export interface RunOptions {
  /** The environment of the program; its PATH is where the program is looked for. */
  env?: NodeJS.ProcessEnv;
  /** PATH directories not to look in. */
  skipDirectory?: (directory: string) => boolean;
  cwd?: string;
  timeoutMs: number;
}

/** Most bytes kept of each of stdout and stderr. */
const OUTPUT_LIMIT = 1024 * 1024;

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (process.platform !== "win32") accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether a PATH directory is a package's `node_modules/.bin`, which `npm run` and `npx` put first on the PATH. */
export function isPackageBin(directory: string): boolean {
  return /(^|[\\/])node_modules[\\/]\.bin[\\/]?$/.test(directory);
}

/** The full path of `name` on the PATH of `env` (leaving out the directories `skipDirectory` names), or null when it is not there. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env, skipDirectory: (directory: string) => boolean = () => false): string | null {
  const pathValue = env.PATH ?? env.Path ?? "";
  const extensions = process.platform === "win32" ? ["", ...(env.PATHEXT ?? ".COM;.EXE;.BAT;.CMD").split(";")] : [""];
  for (const directory of pathValue.split(delimiter)) {
    if (directory === "" || skipDirectory(directory)) continue;
    for (const extension of extensions) {
      const candidate = join(directory, `${name}${extension}`);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return null;
}

/** Runs `name args…` from the PATH of `options.env`, with a timeout; never throws. */
export function runTool(name: string, args: readonly string[], options: RunOptions): Promise<ToolRun> {
  const env = options.env ?? process.env;
  const path = findOnPath(name, env, options.skipDirectory);
  if (path === null) {
    return Promise.resolve({ found: false, path: null, exitCode: null, stdout: "", stderr: "", timedOut: false, error: null });
  }
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const finish = (exitCode: number | null, error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({ found: true, path, exitCode, stdout, stderr, timedOut, error });
    };
    // Windows runs .cmd/.bat files (npm, pulumi shims) only through a shell; the arguments are fixed strings.
    const shell = process.platform === "win32" && /\.(cmd|bat)$/i.test(path);
    const child = spawn(shell ? `"${path}"` : path, [...args], {
      env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdio: ["ignore", "pipe", "pipe"],
      shell,
      windowsHide: true,
    });
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += chunk;
    });
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
      // A grandchild may hold the pipes open after the kill: stop waiting for them.
      grace = setTimeout(() => finish(null, null), 1_000);
    }, options.timeoutMs);
    child.on("error", (error) => finish(null, error.message));
    child.on("close", (code) => finish(timedOut ? null : code, null));
  });
}

/** The first `x.y.z` (or `x.y`) version number in a text, as `x.y.z`; null when there is none. */
export function parseVersion(text: string): string | null {
  const match = /(?:^|[^\d.])v?(\d+)\.(\d+)(?:\.(\d+))?(?![\d])/.exec(text);
  if (!match) return null;
  return `${match[1]}.${match[2]}.${match[3] ?? "0"}`;
}

/** Compares two `x.y.z` versions: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const left = a.split(".").map(Number);
  const right = b.split(".").map(Number);
  for (let index = 0; index < 3; index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The first line of a program's output, shortened, for a message. */
export function firstLine(text: string, limit = 160): string {
  const line = text.trim().split(/\r?\n/, 1)[0] ?? "";
  return line.length > limit ? `${line.slice(0, limit)}…` : line;
}
