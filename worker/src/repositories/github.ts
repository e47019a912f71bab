/**
 * GitHub credentials that never enter the container, and the pull request the
 * Worker (not the container) opens.
 *
 * With a GitHub App (recommended) the Worker signs a JWT with the app's private
 * key (RS256 on WebCrypto; the tests verify it with `jose`), finds the app's installation on the
 * task's repository, and asks for an installation token scoped to that one
 * repository with only the permissions the task needs (`contents` to read or
 * push, `pull_requests` to open a pull request); the token lasts an hour. With a
 * fine-grained personal access token, that token is used as it is.
 *
 * Every request goes through an injectable `fetch`, never follows a redirect
 * (a moved repository is an error, so a credential never goes to another
 * address), and every failure is a `GitHubError` with a stable code and a fixed
 * message; what GitHub said is kept only as its status and a short message
 * from which every credential is removed.
 */
import { redactSecrets } from "../redaction.js";

/** The GitHub REST API. */
export const GITHUB_API_URL = "https://api.github.com";

/** The host of github.com's repositories. */
export const GITHUB_HOST = "github.com";

/** Hosts of a stand-in API on this machine (local development and tests only: plain http is allowed only to them). */
const LOOPBACK_HOSTS: readonly string[] = ["127.0.0.1", "localhost"];

/**
 * The host whose repositories the GitHub API at `apiUrl` serves (their
 * owner/repo, pushes and credentials): `https://api.github.com` → `github.com`;
 * `https://api.<name>.ghe.com` → `<name>.ghe.com` (GitHub Enterprise Cloud with
 * data residency); `https://<host>/api/v3` → `<host>` (GitHub Enterprise
 * Server). A stand-in API over plain http on loopback plays github.com's.
 */
export function githubWebHost(apiUrl: string): string {
  const url = new URL(apiUrl);
  const host = url.hostname.toLowerCase();
  if (url.protocol === "http:" && LOOPBACK_HOSTS.includes(host)) return GITHUB_HOST;
  if (host === new URL(GITHUB_API_URL).hostname) return GITHUB_HOST;
  const cloud = /^api\.([a-z0-9-]+\.ghe\.com)$/.exec(host);
  return cloud ? cloud[1]! : host;
}

/** The REST API version the requests ask for. */
export const GITHUB_API_VERSION = "2022-11-28";

/** How the deployment reaches GitHub. */
export type GitHubCredentials =
  | {
      kind: "app";
      /** The app's id (or client id): the JWT's issuer. */
      appId: string;
      /** The app's private key, PEM: PKCS#1 (`BEGIN RSA PRIVATE KEY`, as GitHub issues it) or PKCS#8. */
      privateKey: string;
    }
  | { kind: "token"; token: string };

/** What a task may do with its repository, which decides the token's permissions. */
export type RepositoryAccess = "read" | "push" | "pullRequest";

/** The installation token permissions for each access. */
export const ACCESS_PERMISSIONS: Readonly<Record<RepositoryAccess, Readonly<Record<string, "read" | "write">>>> = {
  read: { contents: "read" },
  push: { contents: "write" },
  pullRequest: { contents: "write", pull_requests: "write" },
};

/** A repository on GitHub. */
export interface GitHubRepository {
  owner: string;
  repo: string;
}

/** A token for one repository. */
export interface RepositoryToken {
  token: string;
  /** ISO time the token ends; null for a personal access token (its end is not known here). */
  expiresAt: string | null;
}

/** An opened (or already open) pull request. */
export interface PullRequest {
  number: number;
  url: string;
  /** True when a pull request from the branch was already open and is returned instead. */
  existing: boolean;
}

/** How the client talks to GitHub; tests point it at a local fake. */
export interface GitHubClientOptions {
  fetch?: (request: Request) => Promise<Response>;
  apiUrl?: string;
  /** The clock, in ms since the epoch. */
  now?: () => number;
}

/** Every GitHub failure: a stable code (what a task's error names) and a fixed message. */
export const GITHUB_ERRORS = {
  github_app_key_invalid: { message: "The GitHub App private key cannot be read" },
  github_auth_failed: { message: "GitHub refused the deployment's credentials" },
  github_app_not_installed: { message: "The GitHub App is not installed on this repository" },
  github_repository_not_found: { message: "The repository was not found, or the deployment's credentials cannot see it" },
  github_repository_moved: { message: "The repository has moved; use its new URL" },
  github_token_refused: { message: "GitHub refused a token for this repository; check the app's permissions and repository access" },
  github_permission_denied: { message: "The deployment's GitHub credentials lack a permission this needs" },
  github_rate_limited: { message: "GitHub's rate limit was reached; retry later" },
  github_unavailable: { message: "GitHub could not be reached or gave an unexpected answer" },
  pull_request_failed: { message: "GitHub did not open the pull request" },
} as const satisfies Record<string, { message: string }>;

export type GitHubErrorCode = keyof typeof GITHUB_ERRORS;

/** A failed GitHub step. Its message is fixed; `details` hold GitHub's status and a short, credential-free message. */
export class GitHubError extends Error {
  readonly code: GitHubErrorCode;
  readonly details: { githubStatus: number | null; githubMessage: string | null };

  constructor(code: GitHubErrorCode, details: { githubStatus?: number | null; githubMessage?: string | null } = {}) {
    super(GITHUB_ERRORS[code].message);
    this.name = "GitHubError";
    this.code = code;
    this.details = { githubStatus: details.githubStatus ?? null, githubMessage: details.githubMessage ?? null };
  }
}

/** Seconds the JWT's `iat` is set in the past, for clocks that run behind GitHub's. */
export const JWT_BACKDATE_SECONDS = 60;

/** Seconds from `iat` to `exp`; GitHub refuses more than 600. */
export const JWT_LIFETIME_SECONDS = 540 + JWT_BACKDATE_SECONDS;

/** The DER prefix that wraps a PKCS#1 RSA key as PKCS#8: the rsaEncryption algorithm identifier. */
const RSA_ALGORITHM_IDENTIFIER = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

/** A DER length. */
function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return [0x80 | bytes.length, ...bytes];
}

/** Reads the base64 body of a PEM block with the given label; null when there is none. */
function pemBody(pem: string, label: string): Uint8Array | null {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!match) return null;
  try {
    return Uint8Array.from(atob(match[1]!.replace(/\s+/g, "")), (character) => character.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * The app's key as PKCS#8 DER, which WebCrypto imports. A PKCS#1 key (as GitHub
 * issues it) is wrapped; literal `\n` (a key pasted on one line) is read as a
 * line break. Null when the text holds no RSA private key.
 */
export function pkcs8PrivateKey(pem: string): Uint8Array | null {
  const text = pem.replaceAll("\\n", "\n");
  const pkcs8 = pemBody(text, "PRIVATE KEY");
  if (pkcs8) return pkcs8;
  const pkcs1 = pemBody(text, "RSA PRIVATE KEY");
  if (!pkcs1) return null;
  const octets = [0x04, ...derLength(pkcs1.length)];
  const inner = [0x02, 0x01, 0x00, ...RSA_ALGORITHM_IDENTIFIER, ...octets];
  return new Uint8Array([0x30, ...derLength(inner.length + pkcs1.length), ...inner, ...pkcs1]);
}

/** base64url without padding, of bytes or of a string's UTF-8. */
function base64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The app's JWT: RS256 (RSASSA-PKCS1-v1_5 with SHA-256 on WebCrypto), `iss` the
 * app id, `iat` 60 s in the past, `exp` 9 minutes ahead (10 minutes after
 * `iat`, GitHub's most). Throws `github_app_key_invalid` when the key cannot be read.
 */
export async function createAppJwt(app: { appId: string; privateKey: string }, now: number = Date.now()): Promise<string> {
  const der = pkcs8PrivateKey(app.privateKey);
  let key: Awaited<ReturnType<typeof crypto.subtle.importKey>>;
  try {
    if (der === null) throw new Error("no key");
    key = await crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
  } catch {
    throw new GitHubError("github_app_key_invalid");
  }
  const issuedAt = Math.floor(now / 1000) - JWT_BACKDATE_SECONDS;
  const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const claims = base64url(JSON.stringify({ iss: app.appId, iat: issuedAt, exp: issuedAt + JWT_LIFETIME_SECONDS }));
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(`${header}.${claims}`));
  return `${header}.${claims}.${base64url(new Uint8Array(signature))}`;
}

/** Longest GitHub message kept in an error's details. */
const MAX_GITHUB_MESSAGE_LENGTH = 200;

/** GitHub's `message` of an error answer, shortened, with every secret removed. */
function githubMessage(body: unknown, secrets: readonly string[]): string | null {
  if (typeof body !== "object" || body === null) return null;
  const { message, errors } = body as { message?: unknown; errors?: unknown };
  const details = Array.isArray(errors)
    ? errors.map((entry) => (typeof entry === "object" && entry !== null ? (entry as { message?: unknown }).message : undefined)).filter((text) => typeof text === "string")
    : [];
  const text = [message, ...details].filter((part) => typeof part === "string" && part.length > 0).join(": ");
  if (text.length === 0) return null;
  return redactSecrets(text, secrets).replace(/[\u0000-\u001f\u007f]/g, " ").slice(0, MAX_GITHUB_MESSAGE_LENGTH);
}

/** The answer of one API call: status, parsed body (null when not JSON) and headers. */
interface ApiAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** Calls the API with `credential` as a Bearer token; throws `github_unavailable` when GitHub cannot be reached. */
async function call(
  options: GitHubClientOptions,
  credential: string,
  method: string,
  path: string,
  body?: Record<string, unknown>,
): Promise<ApiAnswer> {
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const headers = new Headers({
    accept: "application/vnd.github+json",
    authorization: `Bearer ${credential}`,
    "user-agent": "claude-sandbox",
    "x-github-api-version": GITHUB_API_VERSION,
  });
  if (body !== undefined) headers.set("content-type", "application/json");
  let response: Response;
  try {
    response = await send(
      new Request(`${options.apiUrl ?? GITHUB_API_URL}${path}`, {
        method,
        headers,
        redirect: "manual",
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  } catch {
    throw new GitHubError("github_unavailable");
  }
  let parsed: unknown = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** The error for an answer none of the caller's cases covered. */
function failure(answer: ApiAnswer, secrets: readonly string[], notFound: GitHubErrorCode = "github_repository_not_found"): GitHubError {
  const details = { githubStatus: answer.status, githubMessage: githubMessage(answer.body, secrets) };
  const { status, headers } = answer;
  if (status >= 300 && status < 400) return new GitHubError("github_repository_moved", details);
  if (status === 401) return new GitHubError("github_auth_failed", details);
  if (status === 429 || (status === 403 && (headers.get("x-ratelimit-remaining") === "0" || headers.has("retry-after")))) {
    return new GitHubError("github_rate_limited", details);
  }
  if (status === 403) return new GitHubError("github_permission_denied", details);
  if (status === 404) return new GitHubError(notFound, details);
  return new GitHubError("github_unavailable", details);
}

const segment = (value: string) => encodeURIComponent(value);

/**
 * A token for one repository. For an app: its installation on the repository,
 * then an installation token for that repository alone with the access's
 * permissions. For a personal access token: the token itself.
 */
export async function repositoryToken(
  credentials: GitHubCredentials,
  repository: GitHubRepository,
  access: RepositoryAccess,
  options: GitHubClientOptions = {},
): Promise<RepositoryToken> {
  if (credentials.kind === "token") return { token: credentials.token, expiresAt: null };
  const jwt = await createAppJwt(credentials, (options.now ?? Date.now)());
  const secrets = [jwt];

  const installation = await call(options, jwt, "GET", `/repos/${segment(repository.owner)}/${segment(repository.repo)}/installation`);
  if (installation.status !== 200) throw failure(installation, secrets, "github_app_not_installed");
  const id = (installation.body as { id?: unknown } | null)?.id;
  if (!Number.isSafeInteger(id)) throw new GitHubError("github_unavailable", { githubStatus: installation.status });

  const created = await call(options, jwt, "POST", `/app/installations/${id as number}/access_tokens`, {
    repositories: [repository.repo],
    permissions: ACCESS_PERMISSIONS[access],
  });
  if (created.status === 422) {
    throw new GitHubError("github_token_refused", { githubStatus: 422, githubMessage: githubMessage(created.body, secrets) });
  }
  if (created.status !== 201) throw failure(created, secrets, "github_app_not_installed");
  const { token, expires_at: expiresAt } = (created.body ?? {}) as { token?: unknown; expires_at?: unknown };
  if (typeof token !== "string" || token.length === 0 || typeof expiresAt !== "string") {
    throw new GitHubError("github_unavailable", { githubStatus: created.status });
  }
  return { token, expiresAt };
}

/** The repository's default branch (the base of a pull request when the task checked out none). */
export async function repositoryDefaultBranch(token: string, repository: GitHubRepository, options: GitHubClientOptions = {}): Promise<string> {
  const answer = await call(options, token, "GET", `/repos/${segment(repository.owner)}/${segment(repository.repo)}`);
  if (answer.status !== 200) throw failure(answer, [token]);
  const branch = (answer.body as { default_branch?: unknown } | null)?.default_branch;
  if (typeof branch !== "string" || branch.length === 0) throw new GitHubError("github_unavailable", { githubStatus: answer.status });
  return branch;
}

/** What a pull request is opened from and into, and what it says. */
export interface PullRequestInput extends GitHubRepository {
  /** The pushed work branch. */
  head: string;
  /** The branch it should merge into. */
  base: string;
  title: string;
  body: string;
  draft?: boolean;
}

/** Reads `{number, html_url}` of a pull request; null when the answer is not one. */
function pullRequestOf(body: unknown, existing: boolean): PullRequest | null {
  const { number, html_url: url } = (body ?? {}) as { number?: unknown; html_url?: unknown };
  if (!Number.isSafeInteger(number) || typeof url !== "string" || !url.startsWith("https://")) return null;
  return { number: number as number, url, existing };
}

/**
 * Opens a pull request from `head` into `base`. When one from that branch is
 * already open (a follow-up pushed to it again), that one is returned.
 */
export async function openPullRequest(token: string, input: PullRequestInput, options: GitHubClientOptions = {}): Promise<PullRequest> {
  const path = `/repos/${segment(input.owner)}/${segment(input.repo)}/pulls`;
  const created = await call(options, token, "POST", path, {
    title: input.title,
    head: input.head,
    base: input.base,
    body: input.body,
    draft: input.draft ?? false,
  });
  if (created.status === 201) {
    const pullRequest = pullRequestOf(created.body, false);
    if (pullRequest) return pullRequest;
    throw new GitHubError("github_unavailable", { githubStatus: 201 });
  }
  if (created.status !== 422) throw failure(created, [token]);
  const query = new URLSearchParams({ head: `${input.owner}:${input.head}`, base: input.base, state: "open", per_page: "1" });
  const open = await call(options, token, "GET", `${path}?${query}`);
  const existing = open.status === 200 && Array.isArray(open.body) ? pullRequestOf(open.body[0], true) : null;
  if (existing) return existing;
  throw new GitHubError("pull_request_failed", { githubStatus: 422, githubMessage: githubMessage(created.body, [token]) });
}
