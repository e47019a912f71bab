/**
 * The stop step (worker/src/repositories/script.ts) run by a real bash in a
 * PID namespace of its own, laid out as the sandbox's container is: an init,
 * a platform process started before the sandbox's server, the server, and
 * processes Claude Code left behind that wait for the git door's write grant
 * (a background job, a daemon that detached itself and ignores TERM, one that
 * keeps forking, one already stopped). The server runs the step as its child,
 * as the Sandbox SDK runs a command; then the grant "opens" (a file appears)
 * and whatever is left has time to act on it.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildStopScript, parseStepResult } from "../../worker/src/repositories/script.js";
import { tempDir } from "./fixtures/git-repos.js";
import { runProcess } from "./fixtures/run-command.js";

/** How this machine gives a command a PID namespace (and its own /proc) of its own, as root there. */
const NAMESPACE_PREFIXES: readonly (readonly string[])[] = [
  ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"],
  ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc", "--kill-child"],
  ["sudo", "-n", "unshare", "--pid", "--fork", "--mount-proc", "--kill-child"],
];

let prefix: readonly string[];

beforeAll(() => {
  const works = NAMESPACE_PREFIXES.find((candidate) => {
    try {
      execFileSync(candidate[0]!, [...candidate.slice(1), "bash", "-c", "test $$ = 1"], { stdio: "ignore", timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  });
  if (!works) throw new Error("These tests need a PID namespace: run them as root, with user namespaces, or with sudo");
  prefix = works;
});

let out: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ path: out, cleanup } = await tempDir("stop-step-"));
});

afterEach(async () => {
  await cleanup();
});

/** The container's processes, played in bash (see the script). */
const CONTAINER = resolve("test/container/fixtures/sandbox-processes.sh");

/** Runs the container with `step` as the command the server runs; returns what happened. */
async function runContainer(step: string, stepEnv: Record<string, string>) {
  const outcome = await runProcess(prefix[0]!, [...prefix.slice(1), "bash", CONTAINER], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", OUT: out, STEP: step, ...stepEnv },
  });
  const read = async (name: string) => (existsSync(join(out, name)) ? (await readFile(join(out, name), "utf8")).trim() : "");
  const left = (await read("left")).split("\n").filter((line) => line.length > 0);
  return {
    outcome,
    stepOut: await read("step.out"),
    stepErr: await read("step.err"),
    acted: (await read("acted")).split("\n").filter((line) => line.length > 0),
    /** Processes alive after the step, by pid and the rest of their stat line (command name first). */
    left,
    alive: (pid: string) => left.some((line) => line.startsWith(`${pid} `)),
    pid: read,
  };
}

describe("the stop step", () => {
  const script = buildStopScript({ workDir: "/nonexistent/repo", outputDir: "/nonexistent/out" });

  it("without it, what Claude Code left acts once the write grant opens", async () => {
    const { acted } = await runContainer("true", script.env);
    expect(new Set(acted)).toEqual(new Set(["job", "daemon", "respawned"]));
  });

  it("stops every process that started after the sandbox's server, so none acts on the write grant", async () => {
    const container = await runContainer(script.command, script.env);
    expect(parseStepResult(container.stepOut, "stop"), container.stepErr).toEqual({ step: "stop", ok: true });
    expect(container.acted).toEqual([]);
    // Left: the init, the platform process and the server (and the server's own listing), nothing of Claude Code's.
    expect(container.alive("1")).toBe(true);
    expect(container.alive(await container.pid("platform"))).toBe(true);
    expect(container.alive(await container.pid("server"))).toBe(true);
    expect(container.left, container.left.join("\n")).toHaveLength(3);
  }, 30_000);

  it("fails with stop_failed when /proc is not the kernel's", async () => {
    const faked = String.raw`mount -t tmpfs none /proc && ${script.command}`;
    const container = await runContainer(faked, script.env);
    expect(parseStepResult(container.stepOut, "stop"), container.stepErr).toEqual({ step: "stop", ok: false, code: "stop_failed" });
  }, 30_000);
});
