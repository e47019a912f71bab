/**
 * The repository fields of a task request, as pure functions: `repo: {url, ref?}`,
 * `branch`, `push`, `pullRequest` and `continueFrom`, read from an already
 * parsed JSON body.
 *
 * Every value that later reaches git (the URL, the ref, the branch) is held to
 * git's own rules (ref-format.ts) and, on top of them, to a small character set
 * with no leading `-` or `+`, so it can never be read as an option, a refspec
 * modifier or shell syntax. The scripts (script.ts) pass these values to git
 * only through environment variables, after `--` or inside `refs/heads/...`.
 * Pull request titles and bodies go only to the GitHub API as JSON, never to
 * git or a shell, so they may hold any text except control characters.
 */
import { ALLOWED_HOST_PATTERN, ANTHROPIC_API_HOST, isUuid } from "../contract.js";
import { GITHUB_HOST } from "./github.js";
import { isValidBranchName, isValidRefName } from "./ref-format.js";

/** The fields of a task body this module reads; the body validator must accept them. */
export const REPOSITORY_FIELDS = ["repo", "branch", "push", "pullRequest", "continueFrom"] as const;

/**
 * github.com. Its repositories are GitHub ones unless the deployment's GitHub
 * API is another (`Settings.githubHost`, passed to the parsers below).
 */
export { GITHUB_HOST };

/**
 * Hosts the sandbox reaches through a door of their own (the Anthropic API):
 * a repository there would put the git door in its place for the task's sandbox.
 */
const HOSTS_WITH_DOORS: readonly string[] = [ANTHROPIC_API_HOST];

/** Branches a task never pushes to, whatever the repository's default branch is. */
export const PROTECTED_BRANCHES: readonly string[] = ["main", "master"];

/** Prefix of the default work branch, followed by the task id. */
export const DEFAULT_BRANCH_PREFIX = "claude/";

/** Length limits of the repository fields, in UTF-16 code units. */
export const REPOSITORY_LIMITS = {
  maxUrlLength: 512,
  maxRefLength: 256,
  maxBranchLength: 200,
  /** GitHub refuses longer pull request titles. */
  maxTitleLength: 256,
  /** GitHub refuses longer pull request bodies. */
  maxBodyLength: 65_536,
  /** Most path segments of a repository URL on a host other than GitHub. */
  maxPathSegments: 8,
} as const;

/**
 * Every error of the repository fields: a stable code, its status and a fixed
 * message (never an echo of the value), shaped like `API_ERRORS`.
 */
export const REPOSITORY_REQUEST_ERRORS = {
  invalid_repo: { status: 400, message: "repo must be an object with a url and an optional ref" },
  invalid_repo_url: {
    status: 400,
    message: "repo.url must be an https:// URL of a repository (https://<host>/<owner>/<repo> on GitHub), without credentials, port, query or fragment",
  },
  repo_host_not_allowed: { status: 400, message: "repo.url's host is not one of the hosts the sandbox may reach" },
  repo_host_has_door: { status: 400, message: "repo.url's host is the Anthropic API, which the sandbox reaches through a door of its own; it holds no repositories" },
  invalid_ref: { status: 400, message: "repo.ref must be a branch, tag, full ref name or commit id valid for git" },
  invalid_branch: { status: 400, message: "branch must be a branch name valid for git, without a leading '-' or 'refs/'" },
  protected_branch: { status: 400, message: "A task never pushes to main, master or the branch it checked out; choose another branch" },
  branch_is_default: { status: 400, message: "The earlier task's branch is the repository's default branch, which a task never pushes" },
  invalid_push: { status: 400, message: "push must be a boolean" },
  invalid_pull_request: { status: 400, message: "pullRequest must be a boolean or an object with an optional title and body" },
  pull_request_needs_push: { status: 400, message: "pullRequest needs the branch pushed; leave push out or set it to true" },
  repository_required: { status: 400, message: "branch, push and pullRequest need a repository (repo or continueFrom)" },
  invalid_continue_from: { status: 400, message: "continueFrom must be a task id" },
  follow_up_fields: { status: 400, message: "A follow-up works on the earlier task's repository and branch; leave out repo and branch" },
  follow_up_without_repository: { status: 400, message: "The earlier task has no repository, so there is nothing to push" },
} as const satisfies Record<string, { status: number; message: string }>;

export type RepositoryRequestErrorCode = keyof typeof REPOSITORY_REQUEST_ERRORS;

/** A refused repository field: its stable code (answered as the API error of that code) and fixed message. */
export class RepositoryRequestError extends Error {
  readonly code: RepositoryRequestErrorCode;

  constructor(code: RepositoryRequestErrorCode) {
    super(REPOSITORY_REQUEST_ERRORS[code].message);
    this.name = "RepositoryRequestError";
    this.code = code;
  }
}

/** The repository a task checks out. */
export interface RepositorySource {
  /** The canonical clone URL: `https://<host><path>` with the `.git` the caller gave, if any. */
  url: string;
  /** The host, lower case. */
  host: string;
  /** The repository's path without a trailing `.git`, e.g. `/owner/repo`. */
  path: string;
  /**
   * Owner and name, for a repository on the deployment's GitHub host (whose
   * paths are not case-sensitive, and which alone may be pushed); null elsewhere.
   */
  github: { owner: string; repo: string } | null;
  /** The branch, tag, full ref name or commit to check out; null: the repository's default branch. */
  ref: string | null;
}

/** What a pull request should say; null fields get a default from the task. */
export interface PullRequestRequest {
  title: string | null;
  body: string | null;
}

/** The validated repository fields of one task. */
export interface RepositoryRequest {
  /** The repository to check out; null on a follow-up, which works on the earlier task's. */
  repo: RepositorySource | null;
  /** The work branch; null on a follow-up, which keeps the earlier task's. */
  branch: string | null;
  /** Whether the work branch is pushed when Claude is done (true whenever a pull request is asked for). */
  push: boolean;
  /** The pull request to open from the work branch, or null. */
  pullRequest: PullRequestRequest | null;
  /** The task this one follows up (lower-case UUID), or null. */
  continueFrom: string | null;
}

/** What the parser needs to know about the task and the deployment. */
export interface RepositoryRequestContext {
  /** The id of the task being created (it names the default branch). */
  taskId: string;
  /** The hosts the container may reach, as the Worker's settings hold them (`*.` patterns included). */
  allowedHosts: readonly string[];
  /** The host of the deployment's GitHub (`Settings.githubHost`): its repositories are read as owner/repo. */
  githubHost: string;
}

/**
 * Characters a ref or branch may hold here: a subset of what git allows, with
 * nothing a shell, a refspec or a terminal reads specially.
 */
const SAFE_REF_PATTERN = /^[A-Za-z0-9._\/@+-]+$/;

/** A GitHub owner: letters, digits and single inner hyphens, at most 39 characters. */
const GITHUB_OWNER_PATTERN = /^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$/;

/** A GitHub repository name: letters, digits, `.`, `_`, `-`, at most 100 characters, not starting with `-`. */
const GITHUB_REPO_PATTERN = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,99}$/;

/** One path segment of a repository on another host. */
const PATH_SEGMENT_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;

/**
 * Whether `host` is allowed by one of `patterns`, matched as the container's
 * egress filter matches them: exactly, or for a `*.domain` pattern, any host
 * ending in `.domain` with at least one more label (not `domain` itself).
 */
export function isHostAllowed(host: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (!pattern.startsWith("*.")) return pattern === host;
    const suffix = pattern.slice(1);
    return host.length > suffix.length && host.endsWith(suffix);
  });
}

/** Whether a ref or branch value is free of anything option-, refspec- or shell-like. */
function isSafeRefText(value: string, maxLength: number): boolean {
  return (
    value.length > 0 &&
    value.length <= maxLength &&
    SAFE_REF_PATTERN.test(value) &&
    !value.startsWith("-") &&
    !value.startsWith("+") &&
    value !== "@"
  );
}

/** Whether `ref` may be checked out: safe text, valid for git as a one-level or full name (a commit id is one too). */
export function isAcceptableRef(ref: string): boolean {
  return isSafeRefText(ref, REPOSITORY_LIMITS.maxRefLength) && isValidRefName(ref, { allowOneLevel: true });
}

/** Whether `branch` may be the work branch: safe text, valid for git as a branch, not a full ref name. */
export function isAcceptableBranch(branch: string): boolean {
  return isSafeRefText(branch, REPOSITORY_LIMITS.maxBranchLength) && isValidBranchName(branch) && !branch.startsWith("refs/");
}

/**
 * The default work branch of a task: `claude/<its id>`. The whole id, since a
 * UUIDv7's first characters are its time: two tasks accepted close together
 * must never share a branch (they would wait for each other, and push to one).
 */
export function defaultBranch(taskId: string): string {
  return `${DEFAULT_BRANCH_PREFIX}${taskId.toLowerCase()}`;
}

/**
 * Parses `repo.url`; throws `invalid_repo_url`, `repo_host_has_door` or `repo_host_not_allowed`. A
 * repository on `githubHost` (the deployment's GitHub, `Settings.githubHost`)
 * must be `/<owner>/<repo>` and gets `github`.
 */
export function parseRepositoryUrl(raw: unknown, allowedHosts: readonly string[], githubHost: string = GITHUB_HOST): Omit<RepositorySource, "ref"> {
  const fail = (): never => {
    throw new RepositoryRequestError("invalid_repo_url");
  };
  if (typeof raw !== "string" || raw.length > REPOSITORY_LIMITS.maxUrlLength) return fail();
  // The raw text, not only the parsed URL: `new URL` drops an empty `?` or `#` and decodes some escapes.
  if (!raw.startsWith("https://") || /[^\x21-\x7e]|[?#%@\\]/.test(raw)) return fail();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail();
  }
  if (url.protocol !== "https:" || url.username !== "" || url.password !== "" || url.port !== "" || url.search !== "" || url.hash !== "") {
    return fail();
  }
  const host = url.hostname;
  if (host.startsWith("*") || !ALLOWED_HOST_PATTERN.test(host)) return fail();
  // The path exactly as written: no `.` or `..` segments for URL parsing to fold away.
  const path = raw.slice(`https://${host}`.length);
  if (raw.slice(0, `https://${host}`.length).toLowerCase() !== `https://${host}` || path !== url.pathname) return fail();
  const segments = path.split("/").slice(1);
  const last = segments.length - 1;
  const bare = segments.map((segment, index) => (index === last && segment.endsWith(".git") ? segment.slice(0, -4) : segment));

  let github: RepositorySource["github"] = null;
  if (host === githubHost) {
    const [owner, repo] = bare;
    if (bare.length !== 2 || !GITHUB_OWNER_PATTERN.test(owner!) || !GITHUB_REPO_PATTERN.test(repo!) || repo === "." || repo === "..") {
      return fail();
    }
    github = { owner: owner!, repo: repo! };
  } else if (bare.length < 1 || bare.length > REPOSITORY_LIMITS.maxPathSegments || !bare.every((segment) => PATH_SEGMENT_PATTERN.test(segment))) {
    return fail();
  }
  if (HOSTS_WITH_DOORS.includes(host)) throw new RepositoryRequestError("repo_host_has_door");
  if (!isHostAllowed(host, allowedHosts)) throw new RepositoryRequestError("repo_host_not_allowed");
  return { url: `https://${host}${path}`, host, path: `/${bare.join("/")}`, github };
}

/** Parses `repo`; throws `invalid_repo`, `invalid_repo_url`, `repo_host_has_door`, `repo_host_not_allowed` or `invalid_ref`. */
function parseRepo(raw: unknown, context: RepositoryRequestContext): RepositorySource {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new RepositoryRequestError("invalid_repo");
  const fields = raw as Record<string, unknown>;
  if (!Object.keys(fields).every((key) => key === "url" || key === "ref")) throw new RepositoryRequestError("invalid_repo");
  const source = parseRepositoryUrl(fields.url, context.allowedHosts, context.githubHost);
  const ref = fields.ref;
  if (ref !== undefined && ref !== null && (typeof ref !== "string" || !isAcceptableRef(ref))) throw new RepositoryRequestError("invalid_ref");
  return { ...source, ref: typeof ref === "string" ? ref : null };
}

/** Whether `text` holds no control characters (`multiline` allows tab, LF and CR) and is valid Unicode. */
function isPlainText(text: string, multiline: boolean): boolean {
  const control = multiline ? /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/;
  return text.isWellFormed() && !control.test(text);
}

/** Parses `pullRequest`; throws `invalid_pull_request`. */
function parsePullRequest(raw: unknown): PullRequestRequest | null {
  if (raw === false) return null;
  if (raw === true) return { title: null, body: null };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new RepositoryRequestError("invalid_pull_request");
  const fields = raw as Record<string, unknown>;
  if (!Object.keys(fields).every((key) => key === "title" || key === "body")) throw new RepositoryRequestError("invalid_pull_request");
  const { title, body } = fields;
  const titleOk =
    title === undefined ||
    (typeof title === "string" && title.trim().length > 0 && title.length <= REPOSITORY_LIMITS.maxTitleLength && isPlainText(title, false));
  const bodyOk = body === undefined || (typeof body === "string" && body.length <= REPOSITORY_LIMITS.maxBodyLength && isPlainText(body, true));
  if (!titleOk || !bodyOk) throw new RepositoryRequestError("invalid_pull_request");
  return { title: typeof title === "string" ? title.trim() : null, body: typeof body === "string" ? body : null };
}

/** Whether pushing `branch` of `repo` is refused: main, master, or the branch the task checks out. */
function isProtectedBranch(branch: string, repo: RepositorySource | null): boolean {
  const lower = branch.toLowerCase();
  if (PROTECTED_BRANCHES.includes(lower)) return true;
  const ref = repo?.ref?.toLowerCase();
  return ref !== undefined && (ref === lower || ref === `refs/heads/${lower}`);
}

/**
 * Parses and validates the repository fields of a task body. Returns null when
 * the body names neither a repository nor a task to continue; otherwise the validated fields, with the default
 * branch `claude/<task id>` and `push` implied by `pullRequest`.
 * Throws `RepositoryRequestError` with the first refused field's code.
 */
export function parseRepositoryRequest(body: Readonly<Record<string, unknown>>, context: RepositoryRequestContext): RepositoryRequest | null {
  const present = (field: (typeof REPOSITORY_FIELDS)[number]) => body[field] !== undefined && body[field] !== null;
  if (!REPOSITORY_FIELDS.some(present)) return null;

  let continueFrom: string | null = null;
  if (present("continueFrom")) {
    const raw = body.continueFrom;
    if (typeof raw !== "string" || !isUuid(raw) || raw.toLowerCase() === context.taskId.toLowerCase()) {
      throw new RepositoryRequestError("invalid_continue_from");
    }
    continueFrom = raw.toLowerCase();
  }
  if (continueFrom !== null && (present("repo") || present("branch"))) throw new RepositoryRequestError("follow_up_fields");

  const repo = present("repo") ? parseRepo(body.repo, context) : null;

  let branch: string | null = null;
  if (present("branch")) {
    const raw = body.branch;
    if (typeof raw !== "string" || !isAcceptableBranch(raw)) throw new RepositoryRequestError("invalid_branch");
    branch = raw;
  }

  if (present("push") && typeof body.push !== "boolean") throw new RepositoryRequestError("invalid_push");
  const pullRequest = present("pullRequest") ? parsePullRequest(body.pullRequest) : null;
  if (pullRequest !== null && body.push === false) throw new RepositoryRequestError("pull_request_needs_push");
  const push = body.push === true || pullRequest !== null;

  if (repo === null && continueFrom === null && (branch !== null || push)) throw new RepositoryRequestError("repository_required");
  if (repo !== null) branch ??= defaultBranch(context.taskId);
  if (push && branch !== null && isProtectedBranch(branch, repo)) throw new RepositoryRequestError("protected_branch");
  // `push: false` or `pullRequest: false` alone ask for nothing.
  if (repo === null && continueFrom === null) return null;
  return { repo, branch, push, pullRequest, continueFrom };
}

/** What a follow-up inherits from the task it continues. */
export interface EarlierRepository {
  repo: RepositorySource | null;
  branch: string | null;
  /** The repository's default branch, when the earlier task knows it. */
  defaultBranch: string | null;
}

/**
 * The repository fields of a follow-up once the earlier task is known: its
 * repository and branch, with the follow-up's own push and pull request.
 * Throws `follow_up_without_repository` when the follow-up asks to push but
 * the earlier task had no repository, `protected_branch` when the earlier
 * branch may not be pushed, and `branch_is_default` when it is the
 * repository's default branch (in any letter case) as the earlier task knows it.
 */
export function resolveFollowUp(request: RepositoryRequest, earlier: EarlierRepository): RepositoryRequest {
  if (request.continueFrom === null) return request;
  if (earlier.repo === null || earlier.branch === null) {
    if (request.push) throw new RepositoryRequestError("follow_up_without_repository");
    return { ...request, repo: null, branch: null };
  }
  if (request.push && isProtectedBranch(earlier.branch, earlier.repo)) throw new RepositoryRequestError("protected_branch");
  if (request.push && earlier.defaultBranch?.toLowerCase() === earlier.branch.toLowerCase()) throw new RepositoryRequestError("branch_is_default");
  return { ...request, repo: earlier.repo, branch: earlier.branch };
}
