/**
 * `check-prerequisites` run as a real process whose PATH holds only stand-in
 * programs: every branch of every check, the exit codes, and stdout that is
 * JSON alone.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HINTS, NODE_REQUIRED_VERSION } from "../../cli/commands/check-prerequisites.js";
import { compareVersions, findOnPath, parseVersion, runTool } from "../../cli/lib/tools.js";
import { type CliProcessRun, inBatches, prints, removeTempDirs, REPO_ROOT, runCliProcess, standIns, tempDir } from "./fixtures/run-cli-process.js";

type Check = Record<string, unknown>;
interface Output {
  success: boolean;
  checks: Record<"node" | "npm" | "docker" | "pulumi" | "claude", Check>;
  issues: string[];
  warnings: string[];
}

function docker(daemon: "running" | "down" | "denied"): string {
  const info = {
    running: "echo 27.3.1",
    down: "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1",
    denied: "echo 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock' >&2; exit 1",
  }[daemon];
  return `case "$1" in
  --version) echo 'Docker version 27.3.1, build ce12230' ;;
  info) ${info} ;;
  *) exit 2 ;;
esac`;
}

function pulumi(loggedIn: boolean): string {
  return `case "$1" in
  version) echo v3.150.0 ;;
  whoami) ${loggedIn ? "echo alice" : "echo 'error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions' >&2; exit 255"} ;;
  *) exit 2 ;;
esac`;
}

const GOOD: Record<string, string> = {
  node: prints("v20.11.1"),
  npm: prints("10.8.2"),
  docker: docker("running"),
  pulumi: pulumi(true),
  claude: prints("2.1.332 (Claude Code)"),
};

/** Stand-ins: the good ones, with some replaced (a string) or removed (null). */
function tools(changes: Record<string, string | null> = {}): string {
  const programs: Record<string, string> = {};
  for (const [name, body] of Object.entries({ ...GOOD, ...changes })) if (body !== null) programs[name] = body;
  return standIns(programs);
}

const SCENARIOS = {
  good: () => tools(),
  noDocker: () => tools({ docker: null }),
  daemonDown: () => tools({ docker: docker("down") }),
  daemonDenied: () => tools({ docker: docker("denied") }),
  oldNode: () => tools({ node: prints("v18.19.0") }),
  loggedOut: () => tools({ pulumi: pulumi(false) }),
  noPulumi: () => tools({ pulumi: null }),
  oldNpm: () => tools({ npm: prints("9.6.7") }),
  brokenNpm: () => tools({ npm: "echo 'npm ERR! cannot find module' >&2; exit 1" }),
  noClaude: () => tools({ claude: null }),
  garbageNode: () => tools({ node: prints("node-but-not-really") }),
  nothing: () => standIns({}),
} as const;

type Scenario = keyof typeof SCENARIOS | "prebuiltImage";
const runs = new Map<Scenario, CliProcessRun>();

function run(scenario: Scenario): { code: number | null; output: Output } {
  const result = runs.get(scenario);
  if (!result) throw new Error(`scenario ${scenario} did not run`);
  return { code: result.code, output: result.json as unknown as Output };
}

beforeAll(async () => {
  const home = tempDir("home");
  const tasks = (Object.keys(SCENARIOS) as (keyof typeof SCENARIOS)[]).map((scenario) => async () => {
    runs.set(scenario, await runCliProcess(["check-prerequisites"], { env: { PATH: SCENARIOS[scenario](), HOME: home } }));
  });
  // A checkout whose every stack deploys a prebuilt image: Docker is not needed there.
  tasks.push(async () => {
    const checkout = tempDir("prebuilt");
    writeFileSync(
      join(checkout, "Pulumi.prod.yaml"),
      `config:\n  claude-sandbox:sandboxImage: registry.cloudflare.com/0123456789abcdef0123456789abcdef/sandbox@sha256:${"a".repeat(64)}\n`,
    );
    runs.set("prebuiltImage", await runCliProcess(["check-prerequisites"], { env: { PATH: tools({ docker: null }), HOME: home }, cwd: checkout }));
  });
  await inBatches(tasks);
});

afterAll(() => removeTempDirs());

describe("check-prerequisites", () => {
  it("passes with every tool present, new enough, Docker running and Pulumi logged in", () => {
    const { code, output } = run("good");
    expect(code).toBe(0);
    expect(output.success).toBe(true);
    expect(output.issues).toEqual([]);
    expect(output.warnings).toEqual([]);
    expect(output.checks.node).toEqual({
      installed: true,
      version: "20.11.1",
      required_version: `>=${NODE_REQUIRED_VERSION}`,
      meets_requirement: true,
      required: true,
      hint: null,
    });
    expect(output.checks.npm).toMatchObject({ installed: true, version: "10.8.2", required_version: ">=10.0.0", meets_requirement: true, hint: null });
    expect(output.checks.docker).toEqual({ installed: true, version: "27.3.1", daemon_running: true, meets_requirement: true, required: true, hint: null });
    expect(output.checks.pulumi).toMatchObject({ installed: true, version: "3.150.0", logged_in: true, user: "alice", meets_requirement: true, required: true, hint: null });
    expect(output.checks.claude).toEqual({ installed: true, version: "2.1.332", meets_requirement: true, required: false, hint: null });
  });

  it("prints JSON alone on stdout and nothing on stderr", () => {
    for (const [scenario, result] of runs) {
      expect(result.stdout.trim().startsWith("{"), scenario).toBe(true);
      expect(result.stderr, scenario).toBe("");
    }
  });

  it("fails without Docker, saying how to install it", () => {
    const { code, output } = run("noDocker");
    expect(code).toBe(1);
    expect(output.success).toBe(false);
    expect(output.checks.docker).toMatchObject({ installed: false, version: null, daemon_running: false, meets_requirement: false, required: true, hint: HINTS.dockerInstall });
    expect(output.issues).toHaveLength(1);
    expect(output.issues[0]).toMatch(/Docker is not installed/);
  });

  it("fails when Docker is installed but its daemon is down", () => {
    const { code, output } = run("daemonDown");
    expect(code).toBe(1);
    expect(output.checks.docker).toMatchObject({ installed: true, version: "27.3.1", daemon_running: false, meets_requirement: false, hint: "Start Docker Desktop or the docker service (`sudo systemctl start docker`)" });
    expect(output.issues).toEqual([expect.stringMatching(/Docker 27\.3\.1 is installed but its daemon is not reachable \(Cannot connect to the Docker daemon/)]);
  });

  it("tells a user who may not reach the Docker socket how to get access", () => {
    const { code, output } = run("daemonDenied");
    expect(code).toBe(1);
    expect(output.checks.docker).toMatchObject({ daemon_running: false, hint: HINTS.dockerPermission });
  });

  it("does not need Docker when every stack sets a prebuilt sandboxImage (a warning only)", () => {
    const { code, output } = run("prebuiltImage");
    expect(code).toBe(0);
    expect(output.success).toBe(true);
    expect(output.checks.docker).toMatchObject({ installed: false, required: false, meets_requirement: false, not_required_because: "every stack (prod) sets sandboxImage" });
    expect(output.issues).toEqual([]);
    expect(output.warnings).toEqual([expect.stringMatching(/Docker is not installed.*not needed here.*prod/)]);
  });

  it("checks the node on PATH, not the Node.js running the CLI", () => {
    const { code, output } = run("oldNode");
    expect(compareVersions(process.version.slice(1), NODE_REQUIRED_VERSION)).toBeGreaterThanOrEqual(0);
    expect(code).toBe(1);
    expect(output.checks.node).toMatchObject({ installed: true, version: "18.19.0", meets_requirement: false, hint: "Install Node.js 20.3 or newer (the current LTS is best): https://nodejs.org" });
    expect(output.issues).toEqual([`Node.js 18.19.0 is too old; ${NODE_REQUIRED_VERSION} or newer is required`]);
  });

  it("fails when npm is older than 10", () => {
    const { code, output } = run("oldNpm");
    expect(code).toBe(1);
    expect(output.checks.npm).toMatchObject({ version: "9.6.7", meets_requirement: false, hint: HINTS.npm });
    expect(output.issues).toEqual(["npm 9.6.7 is too old; 10.0.0 or newer is required"]);
  });

  it("fails when npm cannot report its version, quoting its error", () => {
    const { code, output } = run("brokenNpm");
    expect(code).toBe(1);
    expect(output.checks.npm).toMatchObject({ installed: true, version: null, meets_requirement: false });
    expect(output.issues).toEqual(["npm: `npm --version` exited with code 1: npm ERR! cannot find module"]);
  });

  it("fails when the Pulumi CLI is logged out", () => {
    const { code, output } = run("loggedOut");
    expect(code).toBe(1);
    expect(output.checks.pulumi).toMatchObject({ installed: true, version: "3.150.0", logged_in: false, meets_requirement: false, hint: HINTS.pulumiLogin });
    expect(output.checks.pulumi).not.toHaveProperty("user");
    expect(output.issues).toEqual([expect.stringMatching(/not logged in.*PULUMI_ACCESS_TOKEN must be set/)]);
    expect(HINTS.pulumiLogin).toContain("Run `pulumi login`");
  });

  it("fails when the Pulumi CLI is missing", () => {
    const { code, output } = run("noPulumi");
    expect(code).toBe(1);
    expect(output.checks.pulumi).toMatchObject({ installed: false, version: null, logged_in: false, meets_requirement: false, hint: HINTS.pulumiInstall });
    expect(output.issues).toEqual(["The Pulumi CLI is not installed (no `pulumi` on PATH)"]);
  });

  it("only warns when Claude Code is missing", () => {
    const { code, output } = run("noClaude");
    expect(code).toBe(0);
    expect(output.success).toBe(true);
    expect(output.checks.claude).toEqual({ installed: false, version: null, meets_requirement: false, required: false, hint: "npm install -g @anthropic-ai/claude-code then `claude setup-token`" });
    expect(output.warnings).toEqual([expect.stringMatching(/Claude Code is not installed.*claude setup-token/)]);
  });

  it("fails on a version it cannot read, quoting what was printed", () => {
    const { code, output } = run("garbageNode");
    expect(code).toBe(1);
    expect(output.checks.node).toMatchObject({ installed: true, version: null, meets_requirement: false });
    expect(output.issues).toEqual(['Node.js: `node --version` printed "node-but-not-really", not a version number']);
  });

  it("lists every missing tool when the PATH is empty", () => {
    const { code, output } = run("nothing");
    expect(code).toBe(1);
    for (const name of ["node", "npm", "docker", "pulumi", "claude"] as const) expect(output.checks[name], name).toMatchObject({ installed: false, meets_requirement: false });
    expect(output.issues).toHaveLength(4);
    expect(output.warnings).toHaveLength(1);
  });
});

describe("cli/lib/tools", () => {
  it("reads the version numbers the tools print", () => {
    expect(parseVersion("v20.11.1\n")).toBe("20.11.1");
    expect(parseVersion("Docker version 27.3.1, build ce12230")).toBe("27.3.1");
    expect(parseVersion("2.1.332 (Claude Code)")).toBe("2.1.332");
    expect(parseVersion("v3.150.0")).toBe("3.150.0");
    expect(parseVersion("version 10.2")).toBe("10.2.0");
    expect(parseVersion("hello")).toBeNull();
    expect(parseVersion("")).toBeNull();
  });

  it("compares versions numerically", () => {
    expect(compareVersions("20.3.0", "20.3.0")).toBe(0);
    expect(compareVersions("20.10.0", "20.3.0")).toBeGreaterThan(0);
    expect(compareVersions("9.6.7", "10.0.0")).toBeLessThan(0);
  });

  it("finds programs only on the given PATH", async () => {
    const bin = standIns({ hello: prints("hi 1.2.3", 3) });
    expect(findOnPath("hello", { PATH: bin })).toBe(join(bin, "hello"));
    expect(findOnPath("hello", { PATH: REPO_ROOT })).toBeNull();
    expect(await runTool("hello", [], { env: { PATH: bin }, timeoutMs: 5_000 })).toMatchObject({ found: true, exitCode: 3, stdout: "hi 1.2.3\n", timedOut: false });
    expect(await runTool("missing", [], { env: { PATH: bin }, timeoutMs: 5_000 })).toMatchObject({ found: false, path: null, exitCode: null });
  });

  it("stops a program that does not answer in time", async () => {
    const bin = standIns({ hang: "exec /bin/sleep 30" });
    const started = Date.now();
    const result = await runTool("hang", [], { env: { PATH: bin }, timeoutMs: 300 });
    expect(result).toMatchObject({ found: true, timedOut: true, exitCode: null });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
