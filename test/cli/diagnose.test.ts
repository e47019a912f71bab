/**
 * `diagnose` with stand-in tools (a `pulumi` that answers the stack questions)
 * and a local /health server: what it gathers, that no secret value ever
 * reaches its output, that it gathers every part whatever fails, and that its
 * verdict and list of problems at the top say what failed (exit 1). Most runs
 * call the command function in this process; one runs the built CLI, whose
 * printing removes the secrets a tool echoes.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diagnose, problemsOf } from "../../cli/commands/diagnose.js";
import { renderJson } from "../../cli/lib/result.js";
import { copyRepo } from "./fixtures/repo-copy.js";
import { prints, removeTempDirs, REPO_ROOT, runCliProcess, standIns, tempDir } from "./fixtures/run-cli-process.js";

const CLAUDE_SANDBOX_TOKEN = "sandbox-token-VALUE-1f0c9e7d2b";
const CLOUDFLARE_API_TOKEN = "cloudflare-token-VALUE-8a41d0c3";
const PULUMI_ACCESS_TOKEN = "pul-access-token-VALUE-55e2a9";
const SECRETS = [CLAUDE_SANDBOX_TOKEN, CLOUDFLARE_API_TOKEN, PULUMI_ACCESS_TOKEN];
/** A plain stack output value: only output names may be printed. */
const WORKER_NAME_VALUE = "worker-name-output-value-7f3a";

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };

let server: Server;
let serverUrl: string;
const healthRequests: { url: string | undefined; authorization: string | undefined }[] = [];

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The other tools, all present and fine. */
const TOOLS = {
  node: prints("v24.22.3"),
  npm: prints("10.8.2"),
  docker: 'case "$1" in --version) echo "Docker version 27.3.1, build ce12230" ;; info) echo 27.3.1 ;; esac',
  claude: prints("2.1.332 (Claude Code)"),
};

/** A pulumi that logs its arguments and answers the questions diagnose asks about a deployed stack. */
function deployedPulumi(log: string, url: string): string {
  const outputs = JSON.stringify({ url, serverAuthToken: "[secret]", workerName: WORKER_NAME_VALUE });
  return `echo "$*" >> '${log}'
case "$*" in
  version) echo v3.150.0 ;;
  whoami) echo alice ;;
  "stack --show-name") echo dev ;;
  "stack output --json") echo '${outputs}' ;;
  *) echo "unexpected arguments: $*" >&2; exit 2 ;;
esac`;
}

/** A pulumi with no stack that, like a careless tool might, echoes the tokens in its environment. */
const leakyPulumi = `case "$1" in
  version) echo v3.150.0 ;;
  *) echo "error: no stack selected (token $CLOUDFLARE_API_TOKEN, $CLAUDE_SANDBOX_TOKEN, $PULUMI_ACCESS_TOKEN)" >&2; exit 255 ;;
esac`;

/** What each run printed (in process: as the entry point prints a result), and its exit code. */
const runs = new Map<string, { code: number | null; stdout: string; stderr: string; json: Record<string, unknown> }>();
let pulumiLog: string;
let unreachableUrl: string;
let completeCheckout: string;

interface Output {
  success: boolean;
  error?: string;
  code?: string;
  hint?: string;
  problems: string[];
  generated_at: string;
  cli_version: string | null;
  checkout: { dir: string; version: string | null };
  platform: Record<string, unknown>;
  tools: { success: boolean; issues: string[]; checks: Record<string, Record<string, unknown>> };
  config: { success: boolean; dir?: string; error?: string; checks: { name: string }[] };
  stack: { pulumi_available: boolean; stack_name: string | null; output_names: string[]; error?: string };
  deployment: Record<string, unknown>;
  environment: Record<string, boolean>;
}

function run(name: string): { code: number | null; stdout: string; stderr: string; output: Output } {
  const result = runs.get(name);
  if (!result) throw new Error(`${name} did not run`);
  return { code: result.code, stdout: result.stdout, stderr: result.stderr, output: result.json as unknown as Output };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    healthRequests.push({ url: request.url, authorization: request.headers.authorization });
    if (request.url === "/health") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "healthy", version: pkg.version, platform: "test" }));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  unreachableUrl = `http://127.0.0.1:${await closedPort()}`;
  pulumiLog = join(tempDir("pulumi-log"), "calls.log");
  const home = tempDir("home");
  const tokens = { CLAUDE_SANDBOX_TOKEN, CLOUDFLARE_API_TOKEN, PULUMI_ACCESS_TOKEN };
  // A checkout whose dev stack has what a deployment needs, so that its config passes.
  completeCheckout = copyRepo();
  appendFileSync(join(completeCheckout, "Pulumi.dev.yaml"), "  claude-sandbox:accountId: 0123456789abcdef0123456789abcdef\n  claude-sandbox:claudeOauthToken:\n    secure: v1:Y2lwaGVydGV4dA==\n");

  /** Runs the command in this process and prints its result as the entry point does (the token in the environment removed too). */
  const inProcess = async (env: NodeJS.ProcessEnv, dir: string) => {
    const result = await diagnose({ dir, env });
    const stdout = renderJson(result.output, [env.CLAUDE_SANDBOX_TOKEN, ...(result.secrets ?? [])]);
    return { code: result.ok ? 0 : 1, stdout, stderr: "", json: JSON.parse(stdout) as Record<string, unknown> };
  };
  await Promise.all([
    (async () => {
      const PATH = standIns({ ...TOOLS, pulumi: deployedPulumi(pulumiLog, serverUrl) });
      runs.set("deployed stack", await inProcess({ PATH, HOME: home, ...tokens }, completeCheckout));
    })(),
    (async () => {
      const PATH = standIns({ ...TOOLS, pulumi: leakyPulumi });
      runs.set("url from env", await runCliProcess(["diagnose", REPO_ROOT], { env: { PATH, HOME: home, ...tokens, CLAUDE_SANDBOX_URL: `${serverUrl}/` } }));
    })(),
    (async () => {
      const env = { PATH: standIns({}), HOME: home, ...tokens, CLAUDE_SANDBOX_URL: unreachableUrl };
      runs.set("nothing works", await inProcess(env, join(tempDir("gone"), "no-checkout")));
    })(),
  ]);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  removeTempDirs();
});

describe("diagnose", () => {
  it("never prints a secret: not the tokens in the environment, not stack output values", () => {
    for (const [name, result] of runs) {
      for (const secret of SECRETS) {
        expect(result.stdout, name).not.toContain(secret);
        expect(result.stderr, name).not.toContain(secret);
      }
      expect(result.stdout, name).not.toContain(WORKER_NAME_VALUE);
      expect(result.stdout, name).not.toContain("[secret]");
    }
  });

  it("reads the stack's name and output names from the Pulumi CLI, never with --show-secrets", () => {
    const { code, output } = run("deployed stack");
    expect(code).toBe(0);
    expect(output.success).toBe(true);
    expect(output.problems).toEqual([]);
    expect(output.stack).toEqual({ pulumi_available: true, stack_name: "dev", output_names: ["serverAuthToken", "url", "workerName"] });
    const calls = readFileSync(pulumiLog, "utf8").trim().split("\n").sort();
    expect(calls).toEqual(["stack --show-name", "stack output --json", "version", "whoami"]);
  });

  it("asks the stack's url for /health when CLAUDE_SANDBOX_URL is not set, without a token", () => {
    const { output } = run("deployed stack");
    expect(output.deployment).toEqual({
      url_source: "pulumi stack output url",
      url: serverUrl,
      health: { status: 200, body: { status: "healthy", version: pkg.version, platform: "test" }, duration_ms: expect.any(Number) },
    });
    expect(healthRequests.length).toBeGreaterThanOrEqual(2);
    for (const request of healthRequests) expect(request).toEqual({ url: "/health", authorization: undefined });
  });

  it("reports versions, the tools, the checkout's checks and which variables are set", () => {
    const { output } = run("deployed stack");
    expect(new Date(output.generated_at).toISOString()).toBe(output.generated_at);
    expect(output.cli_version).toBe(pkg.version);
    expect(output.checkout).toEqual({ dir: completeCheckout, version: pkg.version });
    expect(output.platform).toMatchObject({ os: process.platform, arch: process.arch, node: process.version });
    expect(output.tools.success).toBe(true);
    expect(output.tools.checks.pulumi).toMatchObject({ version: "3.150.0", logged_in: true });
    expect(output.tools.checks.node).toMatchObject({ version: "24.22.3" });
    expect(output.config.dir).toBe(completeCheckout);
    expect(output.config.checks.map((check) => check.name)).toEqual(["pulumi-yaml", "stack-dev", "dockerfile-base", "claude-code-pin", "worker-exports", "bindings"]);
    expect(output.environment).toEqual({
      CLAUDE_SANDBOX_URL_set: false,
      CLAUDE_SANDBOX_TOKEN_set: true,
      CLOUDFLARE_API_TOKEN_set: true,
      PULUMI_ACCESS_TOKEN_set: true,
    });
  });

  it("prefers CLAUDE_SANDBOX_URL, and redacts secrets a tool echoes in its errors (a real process)", () => {
    const { code, output, stdout } = run("url from env");
    // The committed dev stack lacks the account and the credential, and no stack is selected.
    expect(code).toBe(1);
    expect(output.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config: stack-dev: claude-sandbox:accountId is not set/),
        expect.stringMatching(/^stack: `pulumi stack --show-name` failed: error: no stack selected/),
      ]),
    );
    expect(output.problems.filter((problem) => !problem.startsWith("tools: ")).map((problem) => problem.slice(0, problem.indexOf(":")))).toEqual(["config", "stack"]);
    expect(output.deployment).toMatchObject({ url_source: "CLAUDE_SANDBOX_URL", url: `${serverUrl}/`, health: { status: 200 } });
    expect(output.environment).toMatchObject({ CLAUDE_SANDBOX_URL_set: true });
    expect(output.stack).toMatchObject({ pulumi_available: true, stack_name: null, output_names: [] });
    expect(output.stack.error).toMatch(/^`pulumi stack --show-name` failed: error: no stack selected/);
    expect(stdout).toContain("[redacted]");
    expect(output.tools.checks.pulumi).toMatchObject({ logged_in: false });
  });

  it("gathers every part when nothing works (no tools, no checkout, no server), and lists the problems at the top (exit 1)", () => {
    const { code, output, stderr } = run("nothing works");
    expect(code).toBe(1);
    expect(stderr).toBe("");
    expect(output).toMatchObject({ success: false, code: "problems_found", error: "6 problems found, in tools, config, deployment", hint: expect.stringContaining("troubleshoot.md") });
    expect(output.problems).toEqual([
      ...output.tools.issues.map((issue) => `tools: ${issue}`),
      expect.stringMatching(/^config: No directory at /),
      expect.stringMatching(/^deployment: Could not reach /),
    ]);
    expect(output.tools.success).toBe(false);
    expect(output.tools.issues).toHaveLength(4);
    expect(output.config).toMatchObject({ success: false, error: expect.stringMatching(/^No directory at /) });
    expect(output.stack).toEqual({ pulumi_available: false, stack_name: null, output_names: [], error: "The Pulumi CLI is not on PATH" });
    expect(output.deployment).toMatchObject({ url_source: "CLAUDE_SANDBOX_URL", url: unreachableUrl, health: { error: expect.stringMatching(/^Could not reach /) } });
    expect(output.checkout.version).toBeNull();
    expect(output.cli_version).toBe(pkg.version);
  });

  it("reports a CLAUDE_SANDBOX_URL that is not an http(s) URL instead of failing (in process)", async () => {
    const result = await diagnose({ dir: join(tempDir("gone"), "none"), env: { PATH: standIns({}), CLAUDE_SANDBOX_URL: "ftp://example.com" } });
    expect(result.ok).toBe(false);
    expect(result.output.problems).toContain('deployment: "ftp://example.com" is not an http(s) URL');
    expect(result.output.deployment).toEqual({
      url_source: "CLAUDE_SANDBOX_URL",
      url: "ftp://example.com",
      health: { error: '"ftp://example.com" is not an http(s) URL', hint: expect.stringContaining("with http:// or https://") },
    });
    expect(result.output.environment).toEqual({ CLAUDE_SANDBOX_URL_set: true, CLAUDE_SANDBOX_TOKEN_set: false, CLOUDFLARE_API_TOKEN_set: false, PULUMI_ACCESS_TOKEN_set: false });
  });

  it("refuses a URL where the checkout's directory goes, saying where the URL goes (in process)", async () => {
    const attempt = diagnose({ dir: "http://127.0.0.1:8787", env: { PATH: standIns({}) } });
    await expect(attempt).rejects.toMatchObject({ code: "invalid_directory", hint: expect.stringContaining("CLAUDE_SANDBOX_URL=<url>") });
  });
});

describe("the problems at the top of diagnose", () => {
  const fine = {
    tools: { success: true, issues: [], warnings: ["Claude Code is not installed"] },
    config: { success: true, checks: [{ name: "pulumi-yaml", ok: true, message: "fine" }] },
    stack: { pulumi_available: true, stack_name: "dev", output_names: ["url"] },
    deployment: { url: "https://x.example", health: { status: 200, body: { status: "healthy" } } },
  };

  it.each<[string, Partial<Parameters<typeof problemsOf>[0]>, string[]]>([
    ["nothing wrong (a warning is not a problem)", {}, []],
    ["a tool's issues, one line each", { tools: { success: false, issues: ["Docker is not installed", "The Pulumi CLI is not logged in"] } }, ["tools: Docker is not installed", "tools: The Pulumi CLI is not logged in"]],
    ["tools that could not be checked", { tools: { success: false, error: "spawn failed" } }, ["tools: spawn failed"]],
    [
      "each failing config check by name",
      { config: { success: false, checks: [{ name: "stack-dev", ok: false, message: "accountId is not set" }, { name: "bindings", ok: true, message: "fine" }] } },
      ["config: stack-dev: accountId is not set"],
    ],
    ["a checkout that is not there", { config: { success: false, error: "No directory at /x" } }, ["config: No directory at /x"]],
    ["a stack the Pulumi CLI cannot read", { stack: { pulumi_available: true, error: "no stack selected" } }, ["stack: no stack selected"]],
    ["no Pulumi CLI (tools says so already)", { stack: { pulumi_available: false, error: "The Pulumi CLI is not on PATH" } }, []],
    ["a deployment out of reach", { deployment: { url: "https://x.example", health: { error: "Could not reach https://x.example" } } }, ["deployment: Could not reach https://x.example"]],
    ["a deployment that is not healthy", { deployment: { url: "https://x.example", health: { status: 500, body: { error: "x" } } } }, ["deployment: https://x.example/health answered HTTP 500, not healthy"]],
  ])("%s", (_name, change, expected) => {
    expect(problemsOf({ ...fine, ...change })).toEqual(expected);
  });
});
