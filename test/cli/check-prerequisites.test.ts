/**
 * `check-prerequisites` with a PATH that holds only stand-in programs: every
 * branch of every check through the command function in this process, and two
 * real processes of the built CLI for the exit codes and stdout that is JSON alone.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPrerequisites, HINTS, NODE_REQUIREMENT } from "../../cli/commands/check-prerequisites.js";
import { compareVersions, findOnPath, isPackageBin, parseVersion, runTool } from "../../cli/lib/tools.js";
import { type CliProcessRun, inBatches, prints, removeTempDirs, REPO_ROOT, runCliProcess, standIns, tempDir } from "./fixtures/run-cli-process.js";

type Check = Record<string, unknown>;
interface Output {
  success: boolean;
  checks: Record<"node" | "npm" | "docker" | "pulumi" | "claude", Check>;
  issues: string[];
  warnings: string[];
}

function docker(daemon: "running" | "down" | "denied" | "hangs"): string {
  const info = {
    running: "echo 27.3.1",
    down: "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1",
    denied: "echo 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock' >&2; exit 1",
    hangs: "exec /bin/sleep 30",
  }[daemon];
  return `case "$1" in
  --version) echo 'Docker version 27.3.1, build ce12230' ;;
  info) ${info} ;;
  *) exit 2 ;;
esac`;
}

function pulumi(whoami: "alice" | "logged out" | "hangs"): string {
  const answer = {
    alice: "echo alice",
    "logged out": "echo 'error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions' >&2; exit 255",
    hangs: "exec /bin/sleep 30",
  }[whoami];
  return `case "$1" in
  version) echo v3.150.0 ;;
  whoami) ${answer} ;;
  *) exit 2 ;;
esac`;
}

const GOOD: Record<string, string> = {
  node: prints("v24.22.3"),
  npm: prints("10.8.2"),
  docker: docker("running"),
  pulumi: pulumi("alice"),
  claude: prints("2.1.332 (Claude Code)"),
};

/** Stand-ins: the good ones, with some replaced (a string) or removed (null). */
function tools(changes: Record<string, string | null> = {}): string {
  const programs: Record<string, string> = {};
  for (const [name, body] of Object.entries({ ...GOOD, ...changes })) if (body !== null) programs[name] = body;
  return standIns(programs);
}

/** Stand-ins in a directory named like a package's node_modules/.bin, returned as a PATH entry. */
function packageBin(programs: Record<string, string>): string {
  const bin = join(tempDir("package"), "node_modules", ".bin");
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of Object.entries(programs)) writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return bin;
}

/** A program that exists but cannot be started: its interpreter is missing. */
const UNSTARTABLE = "#!/nonexistent/interpreter\n";

const SCENARIOS = {
  good: () => tools(),
  noDocker: () => tools({ docker: null }),
  daemonDown: () => tools({ docker: docker("down") }),
  daemonDenied: () => tools({ docker: docker("denied") }),
  daemonHangs: () => tools({ docker: docker("hangs") }),
  brokenDocker: () => tools({ docker: "echo 'docker: error while loading shared libraries' >&2; exit 127" }),
  oldNode: () => tools({ node: prints("v18.19.0") }),
  node22Early: () => tools({ node: prints("v22.11.0") }),
  node22: () => tools({ node: prints("v22.12.0") }),
  unstartableNode: () => {
    const dir = tools({ node: null });
    writeFileSync(join(dir, "node"), UNSTARTABLE, { mode: 0o755 });
    return dir;
  },
  loggedOut: () => tools({ pulumi: pulumi("logged out") }),
  whoamiHangs: () => tools({ pulumi: pulumi("hangs") }),
  noPulumi: () => tools({ pulumi: null }),
  brokenPulumi: () => tools({ pulumi: "echo 'pulumi: plugin cache is corrupt' >&2; exit 3" }),
  oldNpm: () => tools({ npm: prints("9.6.7") }),
  brokenNpm: () => tools({ npm: "echo 'npm ERR! cannot find module' >&2; exit 1" }),
  noClaude: () => tools({ claude: null }),
  // The copy `npm ci` installs, on the PATH only under npm run and npx.
  claudeOnlyInNodeModules: () => `${tools({ claude: null })}${delimiter}${packageBin({ claude: GOOD.claude! })}`,
  brokenClaude: () => tools({ claude: "echo 'claude: this version needs a newer Node.js' >&2; exit 1" }),
  garbageNode: () => tools({ node: prints("node-but-not-really") }),
  nothing: () => standIns({}),
} as const;

type Scenario = keyof typeof SCENARIOS | "prebuiltImage";
const runs = new Map<Scenario, { code: number | null; output: Output }>();
const processes = new Map<Scenario, CliProcessRun>();

function run(scenario: Scenario): { code: number | null; output: Output } {
  const result = runs.get(scenario);
  if (!result) throw new Error(`scenario ${scenario} did not run`);
  return result;
}

/** Short enough that the hanging stand-ins cost little, long enough for a loaded machine to start a shell. */
const TIMEOUTS = { version: 10_000, probe: 8_000 };

beforeAll(async () => {
  const home = tempDir("home");
  const checkout = tempDir("checkout");
  // A checkout whose every stack deploys a prebuilt image: Docker is not needed there.
  const prebuilt = tempDir("prebuilt");
  writeFileSync(
    join(prebuilt, "Pulumi.prod.yaml"),
    `config:\n  claude-sandbox:sandboxImage: registry.cloudflare.com/0123456789abcdef0123456789abcdef/sandbox@sha256:${"a".repeat(64)}\n`,
  );
  const judge = async (scenario: Scenario, PATH: string, dir: string) => {
    const result = await checkPrerequisites({ env: { PATH, HOME: home }, dir, timeoutsMs: TIMEOUTS });
    // The exit code the entry point gives this result.
    runs.set(scenario, { code: result.ok ? 0 : 1, output: result.output as unknown as Output });
  };
  // Each scenario starts seven programs: a few scenarios at a time keep a small machine answering within the timeouts.
  await inBatches(
    [
      ...(Object.keys(SCENARIOS) as (keyof typeof SCENARIOS)[]).map((scenario) => () => judge(scenario, SCENARIOS[scenario](), checkout)),
      () => judge("prebuiltImage", tools({ docker: null }), prebuilt),
      // The built CLI, for what only a process shows.
      async () => void processes.set("good", await runCliProcess(["check-prerequisites"], { env: { PATH: SCENARIOS.good(), HOME: home }, cwd: checkout })),
      async () => void processes.set("noDocker", await runCliProcess(["check-prerequisites"], { env: { PATH: SCENARIOS.noDocker(), HOME: home }, cwd: checkout })),
    ],
    4,
  );
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
      version: "24.22.3",
      required_version: ">=22.12.0",
      meets_requirement: true,
      required: true,
      hint: null,
    });
    expect(output.checks.npm).toMatchObject({ installed: true, version: "10.8.2", required_version: ">=10.0.0", meets_requirement: true, hint: null });
    expect(output.checks.docker).toEqual({ installed: true, version: "27.3.1", daemon_running: true, meets_requirement: true, required: true, hint: null });
    expect(output.checks.pulumi).toMatchObject({ installed: true, version: "3.150.0", logged_in: true, user: "alice", meets_requirement: true, required: true, hint: null });
    expect(output.checks.claude).toEqual({ installed: true, version: "2.1.332", meets_requirement: true, required: false, hint: null });
  });

  it("as a process: prints JSON alone on stdout and nothing on stderr, exit 0 when it passes and 1 when it fails", () => {
    const good = processes.get("good")!;
    const noDocker = processes.get("noDocker")!;
    expect([good.code, noDocker.code]).toEqual([0, 1]);
    expect(good.json).toEqual(run("good").output);
    expect(noDocker.json).toEqual(run("noDocker").output);
    for (const result of [good, noDocker]) {
      expect(result.stdout.startsWith("{\n")).toBe(true);
      expect(result.stderr).toBe("");
    }
  });

  it("fails without Docker, saying how to install it, and says so at the top in the failure shape", () => {
    const { code, output } = run("noDocker");
    expect(code).toBe(1);
    expect(output).toMatchObject({ success: false, code: "prerequisites_missing", error: "1 prerequisite not met: docker (`issues` says what is wrong with each)", hint: HINTS.dockerInstall });
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
    expect(NODE_REQUIREMENT.admits(process.version.slice(1))).toBe(true);
    expect(code).toBe(1);
    expect(output.checks.node).toMatchObject({ installed: true, version: "18.19.0", meets_requirement: false, hint: HINTS.node });
    expect(output.issues).toEqual(["Node.js 18.19.0 is too old; >=22.12.0 is required"]);
    expect(HINTS.node).toBe("Install Node.js 24 LTS (22.12 or newer also works): https://nodejs.org");
  });

  it("admits what package.json's engines.node admits: Node 22 from 22.12, and 24", () => {
    const engines = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
    expect(NODE_REQUIREMENT.range).toBe(engines);
    expect(run("node22").output.checks.node).toMatchObject({ version: "22.12.0", meets_requirement: true });
    expect(run("node22Early").output.issues).toEqual(["Node.js 22.11.0 is too old; >=22.12.0 is required"]);
    expect(["20.20.2", "22.11.0", "22.12.0", "24.22.3", "26.0.0"].map((version) => NODE_REQUIREMENT.admits(version))).toEqual([false, false, true, true, true]);
  });

  it("fails when npm is older than 10", () => {
    const { code, output } = run("oldNpm");
    expect(code).toBe(1);
    expect(output.checks.npm).toMatchObject({ version: "9.6.7", meets_requirement: false, hint: HINTS.npm });
    expect(output.issues).toEqual(["npm 9.6.7 is too old; >=10.0.0 is required"]);
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
    expect(output.checks.claude).toEqual({
      installed: false,
      version: null,
      meets_requirement: false,
      required: false,
      hint: "npm install -g @anthropic-ai/claude-code then `claude setup-token` (or `npx claude setup-token` in this clone, which runs the copy npm ci installed)",
    });
    expect(output.warnings).toEqual([expect.stringMatching(/Claude Code is not installed.*claude setup-token/)]);
  });

  it("does not count the copy in a package's node_modules/.bin as Claude Code installed, and says how to use it", () => {
    const { code, output } = run("claudeOnlyInNodeModules");
    expect(code).toBe(0);
    expect(output.checks.claude).toMatchObject({ installed: false, version: null, meets_requirement: false, hint: HINTS.claude });
    expect(output.warnings).toEqual([expect.stringMatching(/not installed globally .*node_modules\/\.bin.*npx claude setup-token/)]);
  });

  it("finds a global program behind a package's copy that npm run puts first on the PATH, when told to skip package bins", () => {
    const global = standIns({ claude: prints("2.1.332") });
    const packageCopy = packageBin({ claude: prints("9.9.9") });
    const env = { PATH: `${packageCopy}${delimiter}${global}` };
    expect(findOnPath("claude", env)).toBe(join(packageCopy, "claude"));
    expect(findOnPath("claude", env, isPackageBin)).toBe(join(global, "claude"));
    expect(findOnPath("claude", { PATH: packageCopy }, isPackageBin)).toBeNull();
  });

  it.each([
    ["/home/you/claude-sandbox/node_modules/.bin", true],
    ["/home/you/claude-sandbox/node_modules/.bin/", true],
    ["C:\\work\\node_modules\\.bin", true],
    ["/usr/local/bin", false],
    ["/home/you/node_modules/.bin-tools", false],
    ["/home/you/.npm-global/bin", false],
  ])("%s is a package's bin: %s", (directory, expected) => {
    expect(isPackageBin(directory)).toBe(expected);
  });

  it("fails on a version it cannot read, quoting what was printed", () => {
    const { code, output } = run("garbageNode");
    expect(code).toBe(1);
    expect(output.checks.node).toMatchObject({ installed: true, version: null, meets_requirement: false });
    expect(output.issues).toEqual(['Node.js: `node --version` printed "node-but-not-really", not a version number']);
  });

  it("fails when Docker is installed but cannot report its version", () => {
    const { code, output } = run("brokenDocker");
    expect(code).toBe(1);
    expect(output.checks.docker).toMatchObject({ installed: true, version: null, meets_requirement: false, hint: HINTS.dockerInstall });
    expect(output.issues).toEqual([
      "Docker: `docker --version` exited with code 127: docker: error while loading shared libraries; it is needed to build the sandbox image",
    ]);
  });

  it("fails when the Docker daemon does not answer in time", () => {
    const { code, output } = run("daemonHangs");
    expect(code).toBe(1);
    expect(output.checks.docker).toMatchObject({ installed: true, daemon_running: false, meets_requirement: false, hint: HINTS.dockerDaemon });
    expect(output.issues).toEqual([
      `Docker 27.3.1 is installed but its daemon is not reachable (\`docker info\` did not answer within ${TIMEOUTS.probe / 1000} s); it is needed to build the sandbox image`,
    ]);
  });

  it("fails when a program cannot be started at all, saying why", () => {
    const { code, output } = run("unstartableNode");
    expect(code).toBe(1);
    expect(output.checks.node).toMatchObject({ installed: true, version: null, meets_requirement: false, hint: HINTS.node });
    expect(output.issues).toEqual([expect.stringMatching(/^Node\.js: `node --version` could not be started: spawn .*node ENOENT$/)]);
  });

  it("fails when the Pulumi CLI cannot report its version", () => {
    const { code, output } = run("brokenPulumi");
    expect(code).toBe(1);
    expect(output.checks.pulumi).toMatchObject({ installed: true, version: null, logged_in: false, meets_requirement: false, hint: HINTS.pulumiInstall });
    expect(output.issues).toEqual(["Pulumi CLI: `pulumi version` exited with code 3: pulumi: plugin cache is corrupt"]);
  });

  it("fails when `pulumi whoami` does not answer in time", () => {
    const { code, output } = run("whoamiHangs");
    expect(code).toBe(1);
    expect(output.checks.pulumi).toMatchObject({ installed: true, version: "3.150.0", logged_in: false, meets_requirement: false, hint: HINTS.pulumiLogin });
    expect(output.issues).toEqual([`The Pulumi CLI 3.150.0 is not logged in to a backend (\`pulumi whoami\` failed: did not answer within ${TIMEOUTS.probe / 1000} s)`]);
  });

  it("only warns when Claude Code cannot report its version", () => {
    const { code, output } = run("brokenClaude");
    expect(code).toBe(0);
    expect(output.checks.claude).toEqual({ installed: true, version: null, meets_requirement: false, required: false, hint: HINTS.claude });
    expect(output.warnings).toEqual(["Claude Code: `claude --version` exited with code 1: claude: this version needs a newer Node.js"]);
  });

  it("lists every missing tool when the PATH is empty", () => {
    const { code, output } = run("nothing");
    expect(code).toBe(1);
    for (const name of ["node", "npm", "docker", "pulumi", "claude"] as const) expect(output.checks[name], name).toMatchObject({ installed: false, meets_requirement: false });
    expect(output.issues).toHaveLength(4);
    expect(output.warnings).toHaveLength(1);
    // Claude Code is never required, so it is not among what the top names.
    expect(output).toMatchObject({ code: "prerequisites_missing", error: "4 prerequisites not met: node, npm, docker, pulumi (`issues` says what is wrong with each)" });
    expect((output as unknown as { hint: string }).hint.split("; ")).toEqual([HINTS.node, HINTS.npm, HINTS.dockerInstall, HINTS.pulumiInstall]);
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
