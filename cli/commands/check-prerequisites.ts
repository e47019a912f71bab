/**
 * `check-prerequisites`: checks the programs a deployment needs by running the
 * ones on the PATH: Node.js and npm (>= the versions package.json asks for),
 * Docker with a running daemon (to build the sandbox image; not needed when
 * every stack sets `sandboxImage`), the Pulumi CLI, logged in, and Claude Code
 * (only for `claude setup-token`, so it is never required; a copy in a
 * package's node_modules/.bin does not count, since a terminal does not have
 * it on its PATH). Each check says exactly what to do when it fails.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { type CommandResult, failure, type Json } from "../lib/result.js";
import { compareVersions, findOnPath, firstLine, isPackageBin, parseVersion, runTool, type ToolRun } from "../lib/tools.js";

/** Which versions of a program are good enough. */
export interface VersionRequirement {
  /** As package.json writes it. */
  range: string;
  /** The lowest version admitted. */
  lowest: string;
  admits(version: string): boolean;
}

/**
 * The Node.js releases package.json's `engines.node` admits: 22.12 or newer,
 * the floor of the wrangler this project pins (CI tests on Node 24 LTS).
 */
export const NODE_REQUIREMENT: VersionRequirement = {
  range: ">=22.12.0",
  lowest: "22.12.0",
  admits: (version) => compareVersions(version, "22.12.0") >= 0,
};

const NPM_REQUIREMENT: VersionRequirement = {
  range: ">=10.0.0",
  lowest: "10.0.0",
  admits: (version) => compareVersions(version, "10.0.0") >= 0,
};

/** How long a `--version` call may take. */
const VERSION_TIMEOUT_MS = 10_000;
/** How long a call that may reach a daemon or a backend may take (`docker info`, `pulumi whoami`). */
const PROBE_TIMEOUT_MS = 20_000;

export const HINTS = {
  node: "Install Node.js 24 LTS (22.12 or newer also works): https://nodejs.org",
  npm: "Update npm to 10 or newer: `npm install -g npm@10` (or install a current Node.js LTS, which bundles it)",
  dockerInstall: "Install Docker: https://docs.docker.com/get-docker/ (or set `pulumi config set sandboxImage <registry/name@sha256:digest>` to deploy a prebuilt image without Docker)",
  dockerDaemon: "Start Docker Desktop or the docker service (`sudo systemctl start docker`)",
  dockerPermission: "Let your user reach the Docker daemon: `sudo usermod -aG docker $USER`, then log in again",
  pulumiInstall: "Install the Pulumi CLI: https://www.pulumi.com/docs/install/ (`curl -fsSL https://get.pulumi.com | sh`)",
  pulumiLogin: "Run `pulumi login` (or set PULUMI_ACCESS_TOKEN; `pulumi login --local` keeps state on this machine)",
  claude: "npm install -g @anthropic-ai/claude-code then `claude setup-token` (or `npx claude setup-token` in this clone, which runs the copy npm ci installed)",
} as const;

export interface CheckPrerequisitesOptions {
  /** The environment whose PATH is searched and that the programs run with; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** The checkout whose stack files tell whether Docker is needed; the working directory by default. */
  dir?: string;
  /** How long a `--version` call and a call that may reach a daemon or a backend may take (tests shorten them). */
  timeoutsMs?: { version?: number; probe?: number };
}

type Check = { [key: string]: Json | undefined };

interface VersionCheck {
  installed: boolean;
  version: string | null;
  /** Why the version could not be read, when it could not. */
  problem: string | null;
}

function describeFailure(program: string, args: string, run: ToolRun, timeoutMs: number): string {
  if (run.error !== null) return `\`${program} ${args}\` could not be started: ${run.error}`;
  if (run.timedOut) return `\`${program} ${args}\` did not answer within ${timeoutMs / 1000} s`;
  const output = firstLine(run.stderr || run.stdout);
  return `\`${program} ${args}\` exited with code ${String(run.exitCode)}${output ? `: ${output}` : ""}`;
}

/** Reads the version a program prints. */
function readVersion(program: string, args: string[], run: ToolRun, timeoutMs: number): VersionCheck {
  if (!run.found) return { installed: false, version: null, problem: null };
  const command = args.join(" ");
  if (run.exitCode !== 0) return { installed: true, version: null, problem: describeFailure(program, command, run, timeoutMs) };
  const version = parseVersion(run.stdout) ?? parseVersion(run.stderr);
  if (version === null) {
    const printed = firstLine(run.stdout || run.stderr, 80);
    return { installed: true, version: null, problem: `\`${program} ${command}\` printed ${printed ? `"${printed}"` : "nothing"}, not a version number` };
  }
  return { installed: true, version, problem: null };
}

/** Stack files in `dir` and whether each sets a prebuilt `sandboxImage`. */
function stacksWithPrebuiltImage(dir: string): { stacks: string[]; withImage: string[] } {
  const stacks: string[] = [];
  const withImage: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { stacks, withImage };
  }
  for (const name of names) {
    const match = /^Pulumi\.(.+)\.ya?ml$/.exec(name);
    if (!match?.[1]) continue;
    stacks.push(match[1]);
    try {
      const parsed = parse(readFileSync(join(dir, name), "utf8")) as { config?: Record<string, unknown> } | null;
      const image = parsed?.config?.["claude-sandbox:sandboxImage"];
      if (typeof image === "string" && image.trim() !== "") withImage.push(match[1]);
    } catch {
      // An unreadable stack file sets nothing; validate-config reports it.
    }
  }
  return { stacks, withImage };
}

export async function checkPrerequisites(options: CheckPrerequisitesOptions): Promise<CommandResult> {
  const env = options.env ?? process.env;
  const dir = options.dir ?? process.cwd();
  const version = { env, timeoutMs: options.timeoutsMs?.version ?? VERSION_TIMEOUT_MS };
  const probe = { env, timeoutMs: options.timeoutsMs?.probe ?? PROBE_TIMEOUT_MS };

  const [nodeRun, npmRun, dockerRun, dockerInfo, pulumiRun, pulumiWhoami, claudeRun] = await Promise.all([
    runTool("node", ["--version"], version),
    runTool("npm", ["--version"], version),
    runTool("docker", ["--version"], version),
    runTool("docker", ["info", "--format", "{{.ServerVersion}}"], probe),
    runTool("pulumi", ["version"], version),
    runTool("pulumi", ["whoami"], probe),
    // `claude setup-token` is run in a terminal, where a package's node_modules/.bin (this clone's test copy, on the PATH under npm run and npx) is not.
    runTool("claude", ["--version"], { ...version, skipDirectory: isPackageBin }),
  ]);

  const issues: string[] = [];
  const warnings: string[] = [];

  // Node.js and npm: a version the requirement admits.
  const versionCheck = (label: string, program: string, run: ToolRun, required: VersionRequirement, hint: string): Check => {
    const found = readVersion(program, ["--version"], run, version.timeoutMs);
    const meets = found.version !== null && required.admits(found.version);
    if (!found.installed) issues.push(`${label} is not installed (no \`${program}\` on PATH); ${required.range} is required`);
    else if (found.problem !== null) issues.push(`${label}: ${found.problem}`);
    else if (!meets) {
      const why = compareVersions(String(found.version), required.lowest) < 0 ? "is too old" : "is not a supported release";
      issues.push(`${label} ${String(found.version)} ${why}; ${required.range} is required`);
    }
    return {
      installed: found.installed,
      version: found.version,
      required_version: required.range,
      meets_requirement: meets,
      required: true,
      hint: meets ? null : hint,
    };
  };
  const node = versionCheck("Node.js", "node", nodeRun, NODE_REQUIREMENT, HINTS.node);
  const npm = versionCheck("npm", "npm", npmRun, NPM_REQUIREMENT, HINTS.npm);

  // Docker: installed, and its daemon answering. Needed only to build the image.
  const { stacks, withImage } = stacksWithPrebuiltImage(dir);
  const dockerRequired = !(stacks.length > 0 && withImage.length === stacks.length);
  const dockerVersion = readVersion("docker", ["--version"], dockerRun, version.timeoutMs);
  const daemonRunning = dockerInfo.found && dockerInfo.exitCode === 0;
  const dockerMeets = dockerVersion.version !== null && daemonRunning;
  let dockerProblem: string | null = null;
  let dockerHint: string | null = null;
  if (!dockerVersion.installed) {
    dockerProblem = "Docker is not installed (no `docker` on PATH)";
    dockerHint = HINTS.dockerInstall;
  } else if (dockerVersion.problem !== null) {
    dockerProblem = `Docker: ${dockerVersion.problem}`;
    dockerHint = HINTS.dockerInstall;
  } else if (!daemonRunning) {
    const detail = dockerInfo.timedOut
      ? `\`docker info\` did not answer within ${probe.timeoutMs / 1000} s`
      : firstLine(dockerInfo.stderr || dockerInfo.stdout) || dockerInfo.error || `\`docker info\` exited with code ${String(dockerInfo.exitCode)}`;
    dockerProblem = `Docker ${String(dockerVersion.version)} is installed but its daemon is not reachable (${detail})`;
    dockerHint = /permission denied/i.test(dockerInfo.stderr) ? HINTS.dockerPermission : HINTS.dockerDaemon;
  }
  if (dockerProblem !== null) {
    if (dockerRequired) issues.push(`${dockerProblem}; it is needed to build the sandbox image`);
    else warnings.push(`${dockerProblem}; not needed here, because every stack (${withImage.join(", ")}) sets a prebuilt sandboxImage`);
  }
  const docker: Check = {
    installed: dockerVersion.installed,
    version: dockerVersion.version,
    daemon_running: daemonRunning,
    meets_requirement: dockerMeets,
    required: dockerRequired,
    ...(dockerRequired ? {} : { not_required_because: `every stack (${withImage.join(", ")}) sets sandboxImage` }),
    hint: dockerHint,
  };

  // Pulumi CLI: installed and logged in to a backend.
  const pulumiVersion = readVersion("pulumi", ["version"], pulumiRun, version.timeoutMs);
  const loggedIn = pulumiWhoami.found && pulumiWhoami.exitCode === 0;
  const pulumiMeets = pulumiVersion.version !== null && loggedIn;
  let pulumiHint: string | null = null;
  if (!pulumiVersion.installed) {
    issues.push("The Pulumi CLI is not installed (no `pulumi` on PATH)");
    pulumiHint = HINTS.pulumiInstall;
  } else if (pulumiVersion.problem !== null) {
    issues.push(`Pulumi CLI: ${pulumiVersion.problem}`);
    pulumiHint = HINTS.pulumiInstall;
  } else if (!loggedIn) {
    const detail = pulumiWhoami.timedOut ? `did not answer within ${probe.timeoutMs / 1000} s` : firstLine(pulumiWhoami.stderr || pulumiWhoami.stdout);
    issues.push(`The Pulumi CLI ${String(pulumiVersion.version)} is not logged in to a backend (\`pulumi whoami\` failed${detail ? `: ${detail}` : ""})`);
    pulumiHint = HINTS.pulumiLogin;
  }
  const pulumi: Check = {
    installed: pulumiVersion.installed,
    version: pulumiVersion.version,
    logged_in: loggedIn,
    ...(loggedIn ? { user: firstLine(pulumiWhoami.stdout, 100) || null } : {}),
    meets_requirement: pulumiMeets,
    required: true,
    hint: pulumiHint,
  };

  // Claude Code: only for `claude setup-token`, so a warning at most.
  const claudeVersion = readVersion("claude", ["--version"], claudeRun, version.timeoutMs);
  const claudeMeets = claudeVersion.version !== null;
  if (!claudeVersion.installed) {
    const packageCopy = findOnPath("claude", env) !== null;
    warnings.push(
      packageCopy
        ? "Claude Code is not installed globally (the `claude` on PATH is a package's copy in node_modules/.bin, there only under npm run and npx); it is needed only to create a token with `claude setup-token`: install it, or run `npx claude setup-token` in this clone"
        : "Claude Code is not installed (no `claude` on PATH); it is needed only to create a token with `claude setup-token`",
    );
  } else if (claudeVersion.problem !== null) {
    warnings.push(`Claude Code: ${claudeVersion.problem}`);
  }
  const claude: Check = {
    installed: claudeVersion.installed,
    version: claudeVersion.version,
    meets_requirement: claudeMeets,
    required: false,
    hint: claudeMeets ? null : HINTS.claude,
  };

  const ok = issues.length === 0;
  const checks = { node, npm, docker, pulumi, claude };
  const report = { checks, issues, warnings };
  if (ok) return { output: { success: true, ...report }, ok };
  const unmet = Object.entries(checks).filter(([, check]) => check.required === true && check.meets_requirement !== true);
  const hints = [...new Set(unmet.flatMap(([, check]) => (typeof check.hint === "string" ? [check.hint] : [])))];
  const error = `${unmet.length} prerequisite${unmet.length === 1 ? "" : "s"} not met: ${unmet.map(([name]) => name).join(", ")} (\`issues\` says what is wrong with each)`;
  return { output: { ...failure({ code: "prerequisites_missing", error, hint: hints.join("; ") }), ...report }, ok };
}
