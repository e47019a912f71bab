/**
 * The stack's configuration, read once into one typed object and validated up
 * front. Every key is described, with its default, in Pulumi.yaml and in
 * docs/configuration.md; a bad value fails with an error that names the key and
 * what it accepts.
 */
import * as pulumi from "@pulumi/pulumi";
import { createPrivateKey } from "node:crypto";
import {
  ACCESS_AUDIENCE_PATTERN,
  ACCESS_TEAM_DOMAIN_PATTERN,
  ALLOWED_HOST_PATTERN,
  CREDENTIAL_MODES,
  type CredentialMode,
  DEFAULT_ALLOWED_HOSTS,
  GITHUB_REPO_PATTERN,
  LIMITS,
  PERMISSION_MODES,
  type PermissionMode,
  USD_AMOUNT_PATTERN,
  USD_DECIMALS,
} from "../worker/src/contract.js";
import { INSTANCE_TYPES } from "./providers/container-application.js";

/** A Cloudflare Containers instance type. */
export type InstanceType = (typeof INSTANCE_TYPES)[number];

/** The Pulumi project name: the namespace of every config key below. */
export const PROJECT = "claude-sandbox";

/** Defaults of the optional keys (Pulumi.yaml declares the same; a test checks). */
export const CONFIG_DEFAULTS = {
  workerName: "",
  bucketName: "",
  resultRetentionDays: 30,
  instanceType: "standard-1",
  maxInstances: 5,
  sandboxImage: "",
  authTokenGeneration: 1,
  allowedHosts: [...DEFAULT_ALLOWED_HOSTS],
  defaultTimeoutMs: LIMITS.defaultTimeoutMs,
  maxTimeoutMs: LIMITS.maxTimeoutMs,
  permissionMode: "bypassPermissions",
  credentialMode: "proxy",
  queueTimeoutMs: LIMITS.queueTimeoutMs,
  maxOutputBytes: LIMITS.maxOutputBytes,
  maxBudgetUsd: "",
  rateLimitPerMinute: LIMITS.rateLimitPerMinute,
  allowWebSearch: true,
  githubAppId: 0,
  githubRepos: [] as string[],
  githubApiUrl: "",
  accessTeamDomain: "",
  accessAudience: "",
  adoptExistingWorker: false,
  protectWorker: true,
} as const;

/** Every key this program reads (besides the Cloudflare provider's own `cloudflare:*` keys). */
export const CONFIG_KEYS = [
  "accountId",
  "claudeOauthToken",
  "anthropicApiKey",
  "githubToken",
  "githubAppPrivateKey",
  ...(Object.keys(CONFIG_DEFAULTS) as (keyof typeof CONFIG_DEFAULTS)[]),
] as const;

/** Keys whose values must be set as secrets. */
export const SECRET_CONFIG_KEYS = ["claudeOauthToken", "anthropicApiKey", "githubToken", "githubAppPrivateKey"] as const;

/** The stack configuration, validated. */
export interface StackConfig {
  /** The stack name, used to derive default resource names. */
  stack: string;
  /** Cloudflare account id (32 hex characters). */
  accountId: string;
  /** The Claude credential, a secret: a `claude setup-token` OAuth token, or an Anthropic API key. */
  claudeCredential: { kind: "oauth" | "apiKey"; value: pulumi.Output<string> };
  /** Worker (script) name; also the container application and image repository name. */
  workerName: string;
  /** R2 bucket that keeps task results. */
  bucketName: string;
  /** Days a task result is kept before R2 deletes it. */
  resultRetentionDays: number;
  /** Container instance type of each sandbox. */
  instanceType: InstanceType;
  /** Most sandboxes (containers) running at once. */
  maxInstances: number;
  /** A prebuilt image reference; when set, no image is built. */
  sandboxImage: string | undefined;
  /** Which of the two auth-token slots is current; raise by one to rotate. */
  authTokenGeneration: number;
  /** Hosts the sandbox may reach. */
  allowedHosts: string[];
  /** Task timeout when a request sets none, in ms. */
  defaultTimeoutMs: number;
  /** Largest task timeout a request may set, in ms. */
  maxTimeoutMs: number;
  /** Claude Code permission mode when a request sets none. */
  permissionMode: PermissionMode;
  /** `proxy`: the credential is added outside the container; `env`: passed into it. */
  credentialMode: CredentialMode;
  /** Longest time a task waits `queued` for a container, in ms. */
  queueTimeoutMs: number;
  /** Most bytes of stdout and of stderr a result keeps. */
  maxOutputBytes: number;
  /** Largest `maxBudgetUsd` a task may ask for, in USD; undefined means no cap. */
  maxBudgetUsd: number | undefined;
  /** Task creations each API token may make per minute. */
  rateLimitPerMinute: number;
  /** Whether tasks may use Anthropic's server-side web search. */
  allowWebSearch: boolean;
  /**
   * The GitHub credential of repository tasks, a secret: a GitHub App's private key
   * (with `githubAppId`) or a fine-grained token. Undefined: public repositories
   * can be read, nothing can be pushed.
   */
  githubCredential: { kind: "app" | "token"; value: pulumi.Output<string> } | undefined;
  /** The GitHub App's id; set exactly when the credential is an App's key. */
  githubAppId: number | undefined;
  /** `owner/repo` (lower case) tasks may push to and open pull requests on; empty: any the credential can reach. */
  githubRepos: string[];
  /** The GitHub API's base URL (GitHub Enterprise Server); undefined: https://api.github.com. */
  githubApiUrl: string | undefined;
  /** Cloudflare Access in front of the Worker: its team domain and application audience; undefined: no Access. */
  access: { teamDomain: string; audience: string } | undefined;
  /** Whether the first `pulumi up` may take over a Worker of the same name that exists already (moving from `wrangler deploy`). */
  adoptExistingWorker: boolean;
  /** Whether the Worker, whose Durable Objects hold every task's state, is protected from deletion and replacement. */
  protectWorker: boolean;
}

/** Reads raw config values; `pulumi.Config` in a program, a plain object in tests. */
export interface ConfigSource {
  get(key: string): string | undefined;
  /** Whether the stack stores the key encrypted; undefined when that cannot be told. */
  isSecret?(key: string): boolean | undefined;
}

/** A configuration mistake, with the key and what it accepts. */
export class ConfigError extends Error {
  constructor(key: string, problem: string) {
    super(`Invalid config ${PROJECT}:${key}: ${problem}`);
    this.name = "ConfigError";
  }
}

/** Longest configurable wait for a container: one day, in ms. */
const MAX_QUEUE_TIMEOUT_MS = 86_400_000;
/** Smallest configurable output bound, in bytes. */
const MIN_OUTPUT_BYTES = 1024;
/** Largest configurable task creations per token per minute. */
const MAX_RATE_LIMIT_PER_MINUTE = 100_000;

const WORKER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const BUCKET_NAME = /^[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])$/;
/** A digest-pinned image reference: `<registry>/<repository>[:tag]@sha256:<64 hex>`. */
const IMAGE_REFERENCE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+(:[\w][\w.-]{0,127})?@sha256:[a-f0-9]{64}$/;

function text(source: ConfigSource, key: string): string | undefined {
  const value = source.get(key);
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function integer(source: ConfigSource, key: keyof typeof CONFIG_DEFAULTS, min: number, max: number): number {
  const raw = text(source, key);
  if (raw === undefined) return CONFIG_DEFAULTS[key] as number;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(key, `"${raw}" is not an integer from ${min} to ${max}`);
  }
  return value;
}

function oneOf<T extends string>(source: ConfigSource, key: keyof typeof CONFIG_DEFAULTS, allowed: readonly T[]): T {
  const value = text(source, key) ?? (CONFIG_DEFAULTS[key] as string);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(key, `"${value}" is not one of ${allowed.join(", ")}`);
  }
  return value as T;
}

/**
 * A decimal amount in USD, as the Worker reads `MAX_BUDGET_USD`: at most
 * `USD_DECIMALS` decimals and `LIMITS.ceilingBudgetUsd`; empty or 0 means no cap.
 */
function budget(source: ConfigSource): number | undefined {
  const raw = text(source, "maxBudgetUsd");
  if (raw === undefined) return undefined;
  const decimals = /^\d+\.(\d+)$/.exec(raw)?.[1]?.length ?? 0;
  if (decimals > USD_DECIMALS) {
    throw new ConfigError("maxBudgetUsd", `"${raw}" has ${decimals} decimals; at most ${USD_DECIMALS} are kept (0.000001 USD is the smallest step)`);
  }
  const value = Number(raw);
  if (!USD_AMOUNT_PATTERN.test(raw) || value > LIMITS.ceilingBudgetUsd) {
    throw new ConfigError("maxBudgetUsd", `"${raw}" is not an amount in USD from 0 to ${LIMITS.ceilingBudgetUsd}, such as 5 or 2.50 (0 or empty: no cap)`);
  }
  return value > 0 ? value : undefined;
}

function flag(source: ConfigSource, key: "allowWebSearch" | "adoptExistingWorker" | "protectWorker"): boolean {
  const raw = text(source, key);
  if (raw === undefined) return CONFIG_DEFAULTS[key];
  if (raw !== "true" && raw !== "false") throw new ConfigError(key, `"${raw}" is not true or false`);
  return raw === "true";
}

function hosts(source: ConfigSource): string[] {
  const raw = text(source, "allowedHosts");
  if (raw === undefined) return [...CONFIG_DEFAULTS.allowedHosts];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("allowedHosts", "must be a list of host names (YAML list, or a JSON array with --path)");
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigError("allowedHosts", "must be a non-empty list of host names");
  }
  return parsed.map((host) => {
    const name = typeof host === "string" ? host.trim().toLowerCase() : "";
    if (!ALLOWED_HOST_PATTERN.test(name)) throw new ConfigError("allowedHosts", `"${String(host)}" is not a host name or *.domain pattern`);
    return name;
  });
}

/** A secret key's value, refused when the stack stores it in plain text. */
function secretText(source: ConfigSource, key: (typeof SECRET_CONFIG_KEYS)[number]): string | undefined {
  const value = text(source, key);
  if (value !== undefined && source.isSecret?.(key) === false) {
    throw new ConfigError(key, `is stored in plain text: set it with \`pulumi config set --secret ${key} <value>\``);
  }
  return value;
}

function credential(source: ConfigSource): StackConfig["claudeCredential"] {
  for (const [key, kind] of [
    ["claudeOauthToken", "oauth"],
    ["anthropicApiKey", "apiKey"],
  ] as const) {
    const value = secretText(source, key);
    if (value === undefined) continue;
    if (/\s/.test(value)) throw new ConfigError(key, "must be a single token without spaces");
    return { kind, value: pulumi.secret(value) };
  }
  throw new ConfigError(
    "claudeOauthToken",
    "a Claude credential is required: `pulumi config set --secret anthropicApiKey <API key>` for a team, or `pulumi config set --secret claudeOauthToken <token from npx claude setup-token>` for your own use",
  );
}

/** A GitHub token: letters, digits and underscores, as GitHub issues them (`github_pat_…`). */
const GITHUB_TOKEN = /^[A-Za-z0-9_]+$/;

/** Whether `pem` holds an unencrypted RSA private key (PKCS#1 or PKCS#8; `\n` written out reads as a line break). */
function isRsaPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey({ key: pem.replaceAll("\\n", "\n"), format: "pem" }).asymmetricKeyType === "rsa";
  } catch {
    return false;
  }
}

/**
 * The GitHub credential and App id. Errors name the key and never hold the
 * secret: not even a part of it, nor the parser's own message about it.
 */
function github(source: ConfigSource): Pick<StackConfig, "githubCredential" | "githubAppId"> {
  const token = secretText(source, "githubToken");
  const privateKey = secretText(source, "githubAppPrivateKey");
  const rawAppId = text(source, "githubAppId");
  let appId: number | undefined;
  if (rawAppId !== undefined && rawAppId !== "0") {
    appId = Number(rawAppId);
    if (!/^\d{1,16}$/.test(rawAppId) || !Number.isSafeInteger(appId) || appId < 1) {
      throw new ConfigError("githubAppId", `"${rawAppId}" is not a GitHub App id (a positive integer, shown as "App ID" on the App's settings page)`);
    }
  }
  if (token !== undefined && (privateKey !== undefined || appId !== undefined)) {
    throw new ConfigError(
      "githubToken",
      "set either githubToken or a GitHub App (githubAppId and githubAppPrivateKey), not both: `pulumi config rm githubToken` to use the App",
    );
  }
  if (token !== undefined) {
    if (!GITHUB_TOKEN.test(token)) {
      throw new ConfigError("githubToken", "is not a GitHub token: one word of letters, digits and underscores, such as github_pat_…");
    }
    return { githubCredential: { kind: "token", value: pulumi.secret(token) }, githubAppId: undefined };
  }
  if (appId !== undefined && privateKey === undefined) {
    throw new ConfigError("githubAppId", "is set, but githubAppPrivateKey is not: `pulumi config set --secret githubAppPrivateKey < <app>.private-key.pem`");
  }
  if (privateKey !== undefined && appId === undefined) {
    throw new ConfigError("githubAppPrivateKey", "is set, but githubAppId is not: `pulumi config set --type int githubAppId <App ID>`");
  }
  if (privateKey !== undefined) {
    if (!isRsaPrivateKey(privateKey)) {
      throw new ConfigError(
        "githubAppPrivateKey",
        "is not an unencrypted RSA private key in PEM: set the whole .pem file GitHub gave for the App, `pulumi config set --secret githubAppPrivateKey < <app>.private-key.pem`",
      );
    }
    return { githubCredential: { kind: "app", value: pulumi.secret(privateKey) }, githubAppId: appId };
  }
  return { githubCredential: undefined, githubAppId: undefined };
}

function repositories(source: ConfigSource): string[] {
  const raw = text(source, "githubRepos");
  if (raw === undefined) return [...CONFIG_DEFAULTS.githubRepos];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("githubRepos", "must be a list of owner/repo names (YAML list, or a JSON array with --path)");
  }
  if (!Array.isArray(parsed)) throw new ConfigError("githubRepos", "must be a list of owner/repo names");
  const names = parsed.map((repo) => {
    const name = typeof repo === "string" ? repo.trim().toLowerCase() : "";
    // The Worker reads GITHUB_REPOS by the same pattern, so a name accepted here is never refused there.
    if (!GITHUB_REPO_PATTERN.test(name)) {
      throw new ConfigError("githubRepos", `"${String(repo)}" is not a GitHub repository as owner/repo, such as acme/website`);
    }
    return name;
  });
  return [...new Set(names)];
}

/** An https:// URL without credentials, query or fragment, kept without a trailing slash. */
function githubApiUrl(source: ConfigSource): string | undefined {
  const raw = text(source, "githubApiUrl");
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== "https:" || url.username || url.password || url.search || url.hash) {
    throw new ConfigError("githubApiUrl", "must be the https:// URL of a GitHub API, such as https://github.example.com/api/v3");
  }
  return url.href.replace(/\/$/, "");
}

/** The Cloudflare Access settings: both or neither. */
function access(source: ConfigSource): StackConfig["access"] {
  const teamDomain = text(source, "accessTeamDomain")?.toLowerCase();
  const audience = text(source, "accessAudience")?.toLowerCase();
  if (teamDomain !== undefined && !ACCESS_TEAM_DOMAIN_PATTERN.test(teamDomain)) {
    throw new ConfigError(
      "accessTeamDomain",
      `"${teamDomain}" is not a Cloudflare Access team domain: <team>.cloudflareaccess.com, as Zero Trust → Settings → Team name shows it`,
    );
  }
  if (audience !== undefined && !ACCESS_AUDIENCE_PATTERN.test(audience)) {
    throw new ConfigError(
      "accessAudience",
      `"${audience}" is not an Access Application Audience (AUD) tag: 64 hex characters, under the Access application's Overview`,
    );
  }
  if ((teamDomain === undefined) !== (audience === undefined)) {
    const [missing, set] = teamDomain === undefined ? ["accessTeamDomain", "accessAudience"] : ["accessAudience", "accessTeamDomain"];
    throw new ConfigError(missing, `is required with ${set}: set both to put the Worker behind Cloudflare Access, or neither`);
  }
  return teamDomain !== undefined && audience !== undefined ? { teamDomain, audience } : undefined;
}

/** Validates the configuration of `stack`. */
export function parseConfig(source: ConfigSource, stack: string): StackConfig {
  const accountId = text(source, "accountId");
  if (accountId === undefined || !/^[0-9a-f]{32}$/.test(accountId)) {
    throw new ConfigError(
      "accountId",
      accountId === undefined
        ? "is not set: `pulumi config set accountId <id>`, with the 32 hex characters of your Cloudflare account id (the dashboard shows it on Workers & Pages)"
        : `"${accountId}" is not a Cloudflare account id: it has 32 hex characters (the dashboard shows it on Workers & Pages)`,
    );
  }
  const slug = stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  const workerName = text(source, "workerName") ?? `claude-sandbox-${slug}`.slice(0, 63).replace(/-+$/, "");
  if (!WORKER_NAME.test(workerName)) {
    throw new ConfigError("workerName", `"${workerName}" must be 1-63 lowercase letters, digits or dashes, not starting or ending with a dash`);
  }
  const bucketName = text(source, "bucketName") ?? `claude-sandbox-results-${slug}`.slice(0, 63).replace(/-+$/, "");
  if (!BUCKET_NAME.test(bucketName)) {
    throw new ConfigError("bucketName", `"${bucketName}" must be 3-63 lowercase letters, digits or dashes, not starting or ending with a dash`);
  }
  const sandboxImage = text(source, "sandboxImage");
  if (sandboxImage !== undefined && !IMAGE_REFERENCE.test(sandboxImage)) {
    throw new ConfigError(
      "sandboxImage",
      `"${sandboxImage}" is not a digest-pinned image reference such as registry.cloudflare.com/<account>/<name>@sha256:<64 hex digest>`,
    );
  }
  const maxTimeoutMs = integer(source, "maxTimeoutMs", LIMITS.minTimeoutMs, LIMITS.ceilingTimeoutMs);
  const defaultTimeoutMs = integer(source, "defaultTimeoutMs", LIMITS.minTimeoutMs, LIMITS.ceilingTimeoutMs);
  if (defaultTimeoutMs > maxTimeoutMs) {
    throw new ConfigError("defaultTimeoutMs", `${defaultTimeoutMs} is above maxTimeoutMs (${maxTimeoutMs}); the default timeout must not exceed the maximum`);
  }
  return {
    stack,
    accountId,
    claudeCredential: credential(source),
    workerName,
    bucketName,
    resultRetentionDays: integer(source, "resultRetentionDays", 1, LIMITS.ceilingResultRetentionDays),
    instanceType: oneOf(source, "instanceType", INSTANCE_TYPES),
    maxInstances: integer(source, "maxInstances", 1, 1_000),
    sandboxImage,
    authTokenGeneration: integer(source, "authTokenGeneration", 1, 1_000_000),
    allowedHosts: hosts(source),
    defaultTimeoutMs,
    maxTimeoutMs,
    permissionMode: oneOf(source, "permissionMode", PERMISSION_MODES),
    credentialMode: oneOf(source, "credentialMode", CREDENTIAL_MODES),
    queueTimeoutMs: integer(source, "queueTimeoutMs", LIMITS.minTimeoutMs, MAX_QUEUE_TIMEOUT_MS),
    maxOutputBytes: integer(source, "maxOutputBytes", MIN_OUTPUT_BYTES, LIMITS.ceilingOutputBytes),
    maxBudgetUsd: budget(source),
    rateLimitPerMinute: integer(source, "rateLimitPerMinute", 1, MAX_RATE_LIMIT_PER_MINUTE),
    allowWebSearch: flag(source, "allowWebSearch"),
    ...github(source),
    githubRepos: repositories(source),
    githubApiUrl: githubApiUrl(source),
    access: access(source),
    adoptExistingWorker: flag(source, "adoptExistingWorker"),
    protectWorker: flag(source, "protectWorker"),
  };
}

/** The running program's config, with the SDK's knowledge of which keys are encrypted. */
export function programConfigSource(): ConfigSource {
  const config = new pulumi.Config(PROJECT);
  const runtime = pulumi.runtime as { isConfigSecret?: (key: string) => boolean };
  return {
    get: (key) => config.get(key),
    isSecret: (key) => runtime.isConfigSecret?.(`${PROJECT}:${key}`),
  };
}

/** Reads and validates the current stack's configuration. */
export function readConfig(): StackConfig {
  return parseConfig(programConfigSource(), pulumi.getStack());
}
