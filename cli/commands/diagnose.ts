/**
 * `diagnose [dir]`: everything worth attaching to a bug report, gathered
 * without revealing a secret: versions of the CLI, the platform and the tools
 * (check-prerequisites), the checkout's checks (validate-config), the current
 * Pulumi stack and the NAMES of its outputs (never their values; never
 * `--show-secrets`), the deployment's health, and which of the relevant
 * environment variables are set (never their values, except the URL). It
 * gathers every part whatever fails, and puts the verdict and the list of
 * problems at the top: `success` is false (exit 1) when any part found one.
 */
import { readFileSync, statSync } from "node:fs";
import { release } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { request, UnreachableError } from "../lib/http.js";
import { type CommandResult, failure, type Json, type JsonObject, UsageError, usageFailure } from "../lib/result.js";
import { looksLikeUrl, normaliseUrl, TOKEN_ENV, URL_ENV } from "../lib/target.js";
import { findOnPath, firstLine, runTool } from "../lib/tools.js";
import { checkPrerequisites } from "./check-prerequisites.js";
import { validateConfig } from "./validate-config/index.js";

export interface DiagnoseOptions {
  /** The checkout to check and to run `pulumi stack` in. */
  dir: string;
  /** The environment (PATH, CLAUDE_SANDBOX_URL, …); process.env by default. */
  env?: NodeJS.ProcessEnv;
}

/** Environment variables reported as set or not; their values are never printed. */
export const REPORTED_ENV = [URL_ENV, TOKEN_ENV, "CLOUDFLARE_API_TOKEN", "PULUMI_ACCESS_TOKEN"] as const;

/** Environment variables whose values must never appear in the output, should a tool echo one. */
const SECRET_ENV = [TOKEN_ENV, "CLOUDFLARE_API_TOKEN", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"];

const PULUMI_TIMEOUT_MS = 30_000;
const HEALTH_TIMEOUT_MS = 10_000;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function packageVersion(path: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(path, "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : null;
  } catch {
    return null;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

interface StackFacts {
  report: JsonObject;
  /** The `url` output, when the stack has a plain one. */
  url: string | null;
}

/** The current stack's name and output names, from the Pulumi CLI run in `dir`. */
async function stackFacts(dir: string, env: NodeJS.ProcessEnv): Promise<StackFacts> {
  if (findOnPath("pulumi", env) === null) {
    return { report: { pulumi_available: false, stack_name: null, output_names: [], error: "The Pulumi CLI is not on PATH" }, url: null };
  }
  if (!isDirectory(dir)) {
    return { report: { pulumi_available: true, stack_name: null, output_names: [], error: `No directory at ${dir}` }, url: null };
  }
  const options = { env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" }, cwd: dir, timeoutMs: PULUMI_TIMEOUT_MS };
  const [nameRun, outputRun] = await Promise.all([
    runTool("pulumi", ["stack", "--show-name"], options),
    // Without --show-secrets the CLI prints secret outputs as "[secret]"; only the names are kept anyway.
    runTool("pulumi", ["stack", "output", "--json"], options),
  ]);
  const errors: string[] = [];
  const failure = (command: string, run: typeof nameRun): string =>
    `\`pulumi ${command}\` ${run.timedOut ? `did not answer within ${PULUMI_TIMEOUT_MS / 1000} s` : `failed${firstLine(run.stderr || run.stdout) ? `: ${firstLine(run.stderr || run.stdout)}` : ` (exit ${String(run.exitCode)})`}`}`;

  let stackName: string | null = null;
  if (nameRun.exitCode === 0 && nameRun.stdout.trim() !== "") stackName = firstLine(nameRun.stdout, 200);
  else errors.push(failure("stack --show-name", nameRun));

  let outputNames: string[] = [];
  let url: string | null = null;
  if (outputRun.exitCode === 0) {
    try {
      const outputs = JSON.parse(outputRun.stdout) as unknown;
      if (typeof outputs !== "object" || outputs === null || Array.isArray(outputs)) throw new Error("not a JSON object");
      outputNames = Object.keys(outputs).sort();
      const value = (outputs as Record<string, unknown>).url;
      if (typeof value === "string" && /^https?:\/\//i.test(value)) url = value;
    } catch (error) {
      errors.push(`\`pulumi stack output --json\` printed no JSON object (${errorText(error)})`);
    }
  } else {
    errors.push(failure("stack output --json", outputRun));
  }
  return {
    report: { pulumi_available: true, stack_name: stackName, output_names: outputNames, ...(errors.length > 0 ? { error: errors.join("; ") } : {}) },
    url,
  };
}

/** `GET <url>/health`, or why it could not be asked. */
async function health(url: string): Promise<JsonObject> {
  let base: string;
  try {
    base = normaliseUrl(url);
  } catch (error) {
    return { error: errorText(error), ...(error instanceof UsageError ? { hint: error.hint } : {}) };
  }
  try {
    const response = await request(`${base}/health`, { timeoutMs: HEALTH_TIMEOUT_MS });
    return { status: response.status, body: response.body as Json, duration_ms: response.durationMs };
  } catch (error) {
    return { error: errorText(error), ...(error instanceof UnreachableError ? { hint: error.hint } : {}) };
  }
}

/** The problems each part found, one line each, for the top of the report. */
export function problemsOf(parts: { tools: JsonObject; config: JsonObject; stack: JsonObject; deployment: JsonObject }): string[] {
  const problems: string[] = [];
  const { tools, config, stack, deployment } = parts;
  if (Array.isArray(tools.issues)) problems.push(...tools.issues.map((issue) => `tools: ${String(issue)}`));
  else if (tools.success !== true) problems.push(`tools: ${String(tools.error)}`);
  if (Array.isArray(config.checks)) {
    for (const check of config.checks as JsonObject[]) if (check.ok === false) problems.push(`config: ${String(check.name)}: ${String(check.message)}`);
  } else if (config.success !== true) problems.push(`config: ${String(config.error)}`);
  // Without the Pulumi CLI, tools has said so already.
  if (stack.pulumi_available === true && typeof stack.error === "string") problems.push(`stack: ${stack.error}`);
  const health = (deployment.health ?? {}) as JsonObject;
  if (typeof health.error === "string") problems.push(`deployment: ${health.error}`);
  else if (health.status !== 200 || (health.body as JsonObject | null)?.status !== "healthy") problems.push(`deployment: ${String(deployment.url)}/health answered HTTP ${String(health.status)}, not healthy`);
  return problems;
}

export async function diagnose(options: DiagnoseOptions): Promise<CommandResult> {
  const env = options.env ?? process.env;
  const dir = options.dir;
  if (looksLikeUrl(dir)) {
    throw new UsageError("invalid_directory", "`diagnose` takes a checkout's directory, not a URL", `Give the deployment's URL in ${URL_ENV}: ${URL_ENV}=<url> claude-sandbox diagnose [dir]`);
  }
  const secrets: (string | undefined)[] = SECRET_ENV.map((name) => env[name]);

  const [tools, config, stack] = await Promise.all([
    checkPrerequisites({ env, ...(isDirectory(dir) ? { dir } : {}) }).then(
      (result) => result.output,
      (error: unknown) => failure({ code: "internal_error", error: errorText(error), hint: "Run `claude-sandbox check-prerequisites` alone to see its failure." }),
    ),
    validateConfig({ dir }).then(
      (result) => {
        secrets.push(...(result.secrets ?? []));
        return result.output;
      },
      (error: unknown) =>
        error instanceof UsageError
          ? { ...usageFailure(error), dir }
          : failure({ code: "internal_error", error: errorText(error), hint: "Run `claude-sandbox validate-config` alone to see its failure." }, { dir }),
    ),
    stackFacts(dir, env),
  ]);

  const envUrl = env[URL_ENV]?.trim() || null;
  const url = envUrl ?? stack.url;
  const deployment: JsonObject = {
    url_source: envUrl !== null ? URL_ENV : stack.url !== null ? "pulumi stack output url" : null,
    url,
    health: url === null ? { error: `No URL: set ${URL_ENV}, or deploy the stack (its \`url\` output)` } : await health(url),
  };

  const environment: JsonObject = {};
  for (const name of REPORTED_ENV) environment[`${name}_set`] = Boolean(env[name]);

  // Two levels up from cli/commands/ and from the built dist/cli/ alike.
  const cliVersion = packageVersion(fileURLToPath(new URL("../../package.json", import.meta.url)));
  const problems = problemsOf({ tools, config, stack: stack.report, deployment });
  const parts = [...new Set(problems.map((problem) => problem.slice(0, problem.indexOf(":"))))];
  const verdict =
    problems.length === 0
      ? { success: true }
      : failure({
          code: "problems_found",
          error: `${problems.length} problem${problems.length === 1 ? "" : "s"} found, in ${parts.join(", ")}`,
          hint: "Each part below has the details and a hint (tools.checks, config.checks); docs/workflows/troubleshoot.md goes by symptom.",
        });
  return {
    output: {
      ...verdict,
      problems,
      generated_at: new Date().toISOString(),
      cli_version: cliVersion,
      checkout: { dir: resolve(dir), version: packageVersion(join(dir, "package.json")) },
      platform: { os: process.platform, os_release: release(), arch: process.arch, node: process.version },
      tools,
      config,
      stack: stack.report,
      deployment,
      environment,
    },
    ok: problems.length === 0,
    secrets,
  };
}
