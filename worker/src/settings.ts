/**
 * The Worker's settings, read from its plain-text vars. A malformed value is a
 * deployment mistake: `readSettings` throws a `SettingsError` that names the
 * variables (never their values), which the API answers as a 500
 * `settings_invalid`; it is never silently replaced by a default.
 */
import {
  ACCESS_AUDIENCE_PATTERN,
  ACCESS_TEAM_DOMAIN_PATTERN,
  ALLOWED_HOST_PATTERN,
  ANTHROPIC_API_HOST,
  CREDENTIAL_MODES,
  type CredentialMode,
  DEFAULT_ALLOWED_HOSTS,
  GITHUB_REPO_PATTERN,
  LIMITS,
  PERMISSION_MODES,
  type PermissionMode,
  SETTING_VARS,
  USD_AMOUNT_PATTERN,
} from "./contract.js";
import { GITHUB_API_URL, githubWebHost } from "./repositories/github.js";

export interface Settings {
  /** Hosts the container may reach; always includes the Anthropic API. */
  allowedHosts: string[];
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  permissionMode: PermissionMode;
  credentialMode: CredentialMode;
  deadlineGraceMs: number;
  /** Longest wait of a task for a container, in ms. */
  queueTimeoutMs: number;
  /** Most bytes of stdout and of stderr a result keeps. */
  maxOutputBytes: number;
  /** Largest `maxBudgetUsd` a task may ask for; null when the deployment sets no cap. */
  maxBudgetUsd: number | null;
  /** Whether `callbackUrl` may be plain http to localhost. */
  allowInsecureCallbacks: boolean;
  /** Days results, events and listing entries are kept. */
  resultRetentionDays: number;
  /** Whether the egress door lets Claude Code use Anthropic's server-side web search. */
  allowWebSearch: boolean;
  /** The GitHub App's id, when repository tasks use an App. */
  githubAppId: string | null;
  /** `owner/repo` (lower case) that tasks may push to; empty: any the credential can. */
  githubRepos: string[];
  /** The GitHub API's base URL, without a trailing slash. */
  githubApiUrl: string;
  /**
   * The host whose repositories are GitHub repositories, served by that API
   * (`githubWebHost`): only they are read as owner/repo, may be pushed and get
   * the GitHub credential.
   */
  githubHost: string;
  /**
   * Cloudflare Access in front of the deployment, when both settings are set:
   * `issuer` is the team's origin (`https://<team>.cloudflareaccess.com`),
   * `audience` the application's AUD tag. Null when Access is not used.
   */
  access: { issuer: string; audience: string } | null;
}

/** The bindings the settings are read from: the plain-text vars, any of them unset. */
export type SettingsSource = Partial<Record<(typeof SETTING_VARS)[keyof typeof SETTING_VARS], unknown>>;

/** The settings of this deployment are not valid: `variables` names the malformed ones. */
export class SettingsError extends Error {
  constructor(readonly variables: readonly string[]) {
    super(`Invalid settings: ${variables.join(", ")}`);
    this.name = "SettingsError";
  }
}

/** Reads one var: undefined when unset or empty, the parsed value, or `INVALID`. */
const INVALID = Symbol("invalid");
type Parsed<T> = T | undefined | typeof INVALID;

function text(value: unknown): string | undefined | typeof INVALID {
  if (value === undefined || value === null || value === "") return undefined;
  return typeof value === "string" ? value : INVALID;
}

function integer(value: unknown, min: number, max: number): Parsed<number> {
  const raw = text(value);
  if (raw === undefined || raw === INVALID) return raw;
  if (!/^\d{1,16}$/.test(raw)) return INVALID;
  const number = Number(raw);
  return number >= min && number <= max ? number : INVALID;
}

function choice<T extends string>(value: unknown, choices: readonly T[]): Parsed<T> {
  const raw = text(value);
  if (raw === undefined || raw === INVALID) return raw;
  return (choices as readonly string[]).includes(raw) ? (raw as T) : INVALID;
}

function usd(value: unknown): Parsed<number> {
  const raw = text(value);
  if (raw === undefined || raw === INVALID) return raw;
  if (!USD_AMOUNT_PATTERN.test(raw)) return INVALID;
  const number = Number(raw);
  return number <= LIMITS.ceilingBudgetUsd ? number : INVALID;
}

/** A comma-separated list, trimmed and lower-cased, empty entries dropped; every entry must match `pattern`. */
function commaList(value: unknown, pattern: RegExp): Parsed<string[]> {
  const raw = text(value);
  if (raw === undefined || raw === INVALID) return raw;
  const list = raw
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry.length > 0);
  return list.every((entry) => pattern.test(entry)) ? list : INVALID;
}

/** An https URL without credentials, query or fragment (plain http to loopback only in local development). */
function apiUrl(value: unknown, allowLoopbackHttp: boolean): Parsed<string> {
  const raw = text(value);
  if (raw === undefined || raw === INVALID) return raw;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return INVALID;
  }
  const loopback = url.protocol === "http:" && allowLoopbackHttp && ["127.0.0.1", "localhost"].includes(url.hostname);
  if ((url.protocol !== "https:" && !loopback) || url.username || url.password || url.search || url.hash) return INVALID;
  return url.href.replace(/\/$/, "");
}

/** An Access team domain, as its issuer's origin: `<team>.cloudflareaccess.com`, or, in local development only, a loopback `http://` origin. */
function accessIssuer(value: unknown, allowLoopbackHttp: boolean): Parsed<string> {
  const raw = text(value);
  if (raw === undefined || raw === INVALID) return raw;
  const host = raw.toLowerCase();
  if (ACCESS_TEAM_DOMAIN_PATTERN.test(host)) return `https://${host}`;
  const origin = apiUrl(raw, allowLoopbackHttp);
  return origin !== undefined && origin !== INVALID && origin.startsWith("http://") && new URL(origin).pathname === "/" ? origin : INVALID;
}

/** An Access application's audience (AUD) tag: 64 hex digits. */
function audienceTag(value: unknown): Parsed<string> {
  const raw = text(value);
  if (raw === undefined || raw === INVALID) return raw;
  const tag = raw.toLowerCase();
  return ACCESS_AUDIENCE_PATTERN.test(tag) ? tag : INVALID;
}

/** Reads and validates the settings; throws a `SettingsError` naming the bad variables (never their values). */
export function readSettings(env: SettingsSource): Settings {
  const known = READ.get(env);
  if (known instanceof SettingsError) throw known;
  if (known) return known;
  try {
    const settings = parseSettings(env);
    Object.freeze(settings.allowedHosts);
    Object.freeze(settings.githubRepos);
    READ.set(env, Object.freeze(settings));
    return settings;
  } catch (error) {
    if (error instanceof SettingsError) READ.set(env, error);
    throw error;
  }
}

/**
 * The settings read from each bindings object: a Worker's bindings do not
 * change while its isolate lives, so every request of an isolate shares one
 * reading (frozen, so no caller can change it for the others).
 */
const READ = new WeakMap<SettingsSource, Readonly<Settings> | SettingsError>();

function parseSettings(env: SettingsSource): Settings {
  const invalid: string[] = [];
  const read = <T>(name: string, parsed: Parsed<T>): T | undefined => {
    if (parsed !== INVALID) return parsed;
    invalid.push(name);
    return undefined;
  };
  const v = SETTING_VARS;
  const allowedHosts = read(v.allowedHosts, commaList(env[v.allowedHosts], ALLOWED_HOST_PATTERN));
  const defaultTimeout = read(v.defaultTimeoutMs, integer(env[v.defaultTimeoutMs], LIMITS.minTimeoutMs, LIMITS.ceilingTimeoutMs));
  const maxTimeout = read(v.maxTimeoutMs, integer(env[v.maxTimeoutMs], LIMITS.minTimeoutMs, LIMITS.ceilingTimeoutMs));
  const permissionMode = read(v.permissionMode, choice(env[v.permissionMode], PERMISSION_MODES));
  const credentialMode = read(v.credentialMode, choice(env[v.credentialMode], CREDENTIAL_MODES));
  const deadlineGraceMs = read(v.deadlineGraceMs, integer(env[v.deadlineGraceMs], 0, LIMITS.ceilingDeadlineGraceMs));
  const queueTimeoutMs = read(v.queueTimeoutMs, integer(env[v.queueTimeoutMs], 0, LIMITS.ceilingQueueTimeoutMs));
  const maxOutputBytes = read(v.maxOutputBytes, integer(env[v.maxOutputBytes], 1024, LIMITS.ceilingOutputBytes));
  const maxBudgetUsd = read(v.maxBudgetUsd, usd(env[v.maxBudgetUsd]));
  const allowInsecureCallbacks = read(v.allowInsecureCallbacks, choice(env[v.allowInsecureCallbacks], ["true", "false"] as const));
  const resultRetentionDays = read(v.resultRetentionDays, integer(env[v.resultRetentionDays], 1, LIMITS.ceilingResultRetentionDays));
  const allowWebSearch = read(v.allowWebSearch, choice(env[v.allowWebSearch], ["true", "false"] as const));
  const githubAppId = read(v.githubAppId, integer(env[v.githubAppId], 1, Number.MAX_SAFE_INTEGER));
  const githubRepos = read(v.githubRepos, commaList(env[v.githubRepos], GITHUB_REPO_PATTERN));
  const githubApiUrl = read(v.githubApiUrl, apiUrl(env[v.githubApiUrl], allowInsecureCallbacks === "true"));
  const accessIssuerOrigin = read(v.accessTeamDomain, accessIssuer(env[v.accessTeamDomain], allowInsecureCallbacks === "true"));
  const accessAudience = read(v.accessAudience, audienceTag(env[v.accessAudience]));
  if (invalid.length > 0) throw new SettingsError(invalid);
  // Access needs both: a team without an audience (or the reverse) would let in any application's users.
  if ((accessIssuerOrigin === undefined) !== (accessAudience === undefined)) throw new SettingsError([v.accessTeamDomain, v.accessAudience]);

  const maxTimeoutMs = maxTimeout ?? LIMITS.maxTimeoutMs;
  const defaultTimeoutMs = defaultTimeout ?? Math.min(LIMITS.defaultTimeoutMs, maxTimeoutMs);
  if (defaultTimeoutMs > maxTimeoutMs) {
    throw new SettingsError([v.defaultTimeoutMs, v.maxTimeoutMs]);
  }
  const list = allowedHosts ?? [...DEFAULT_ALLOWED_HOSTS];
  return {
    allowedHosts: list.includes(ANTHROPIC_API_HOST) ? list : [ANTHROPIC_API_HOST, ...list],
    defaultTimeoutMs,
    maxTimeoutMs,
    permissionMode: permissionMode ?? "bypassPermissions",
    credentialMode: credentialMode ?? "proxy",
    deadlineGraceMs: deadlineGraceMs ?? LIMITS.deadlineGraceMs,
    queueTimeoutMs: queueTimeoutMs ?? LIMITS.queueTimeoutMs,
    maxOutputBytes: maxOutputBytes ?? LIMITS.maxOutputBytes,
    // 0 means no cap, as an unset value does.
    maxBudgetUsd: maxBudgetUsd || null,
    allowInsecureCallbacks: allowInsecureCallbacks === "true",
    resultRetentionDays: resultRetentionDays ?? LIMITS.resultRetentionDays,
    allowWebSearch: allowWebSearch !== "false",
    githubAppId: githubAppId === undefined ? null : String(githubAppId),
    githubRepos: githubRepos ?? [],
    githubApiUrl: githubApiUrl ?? GITHUB_API_URL,
    githubHost: githubWebHost(githubApiUrl ?? GITHUB_API_URL),
    access: accessIssuerOrigin !== undefined && accessAudience !== undefined ? { issuer: accessIssuerOrigin, audience: accessAudience } : null,
  };
}
