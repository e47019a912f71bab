/**
 * Names and limits that the Worker, the Pulumi program (`infra/`), the CLI and
 * `worker/wrangler.jsonc` must agree on. This module is plain TypeScript with no
 * runtime imports so that Node code can import it too; a test checks
 * `worker/wrangler.jsonc` against it.
 */

/** Version reported by `GET /health`; kept equal to package.json by a test. */
export const SERVICE_VERSION = "0.1.0";

/** The Durable Object class that owns one sandbox container per task. */
export const SANDBOX_CLASS_NAME = "Sandbox";

/** The Worker binding of the Sandbox Durable Object namespace. */
export const SANDBOX_BINDING = "Sandbox";

/** The Durable Object class that owns one task's lifecycle, state and events. */
export const TASK_CLASS_NAME = "Task";

/** The Worker binding of the Task Durable Object namespace. */
export const TASK_BINDING = "TASKS";

/** The Durable Object class that lists tasks (`TASK_INDEX_SHARDS` instances, worker/src/tasks/object-stubs.ts). */
export const TASK_INDEX_CLASS_NAME = "TaskIndex";

/** The Worker binding of the TaskIndex Durable Object namespace. */
export const TASK_INDEX_BINDING = "TASK_INDEX";

/** The name of TaskIndex shard 0, the one instance of deployments before the index was sharded; shard n is `tasks/<n>`. */
export const TASK_INDEX_NAME = "tasks";

/**
 * How many TaskIndex instances list the tasks, each those whose id falls to
 * it. `GET /tasks` asks every one; each task's status goes to one. Fixed: a
 * different number would move tasks to shards that do not list them.
 */
export const TASK_INDEX_SHARDS = 16;

/** The Durable Object class that runs the tasks of one repository and branch one at a time. */
export const BRANCH_QUEUE_CLASS_NAME = "BranchQueue";

/** The Worker binding of the BranchQueue Durable Object namespace. */
export const BRANCH_QUEUE_BINDING = "BRANCH_QUEUES";

/** Every Durable Object binding: binding name → class name. */
export const DURABLE_OBJECT_BINDINGS: Readonly<Record<string, string>> = {
  [SANDBOX_BINDING]: SANDBOX_CLASS_NAME,
  [TASK_BINDING]: TASK_CLASS_NAME,
  [TASK_INDEX_BINDING]: TASK_INDEX_CLASS_NAME,
  [BRANCH_QUEUE_BINDING]: BRANCH_QUEUE_CLASS_NAME,
};

/** One Durable Object migration step (SQLite-backed classes only). */
export interface DurableObjectMigration {
  tag: string;
  newSqliteClasses: readonly string[];
}

/**
 * Every Durable Object migration, oldest first. A deployment applies the steps
 * after its current tag, in order; a step is never edited or removed once
 * released, only appended (docs/operations.md, "Migrations").
 */
export const DURABLE_OBJECT_MIGRATIONS: readonly DurableObjectMigration[] = [
  { tag: "v1", newSqliteClasses: [SANDBOX_CLASS_NAME] },
  { tag: "v2", newSqliteClasses: [TASK_CLASS_NAME, TASK_INDEX_CLASS_NAME] },
  { tag: "v3", newSqliteClasses: [BRANCH_QUEUE_CLASS_NAME] },
];

/** The tag of the newest migration: the one a deployment of this code has. */
export const LATEST_MIGRATION_TAG = DURABLE_OBJECT_MIGRATIONS.at(-1)!.tag;

/** The Workers Rate Limiting binding that limits task creation per token. */
export const RATE_LIMIT_BINDING = "TASK_RATE_LIMIT";

/** The Worker binding of the R2 bucket that keeps task results. */
export const RESULTS_BUCKET_BINDING = "RESULTS";

/** Workers compatibility date used by wrangler.jsonc and by infra's upload. */
export const COMPATIBILITY_DATE = "2026-11-03";

/** Workers compatibility flags used by wrangler.jsonc and by infra's upload. */
export const COMPATIBILITY_FLAGS: readonly string[] = ["nodejs_compat"];

/**
 * The web console's static assets (Workers static assets). `console/build.ts`
 * builds them into `directory` (relative to the project root), whose tree
 * mirrors the URL paths: the console lives under `consolePath`. Every other
 * path runs the Worker first (`runWorkerFirst`), so no asset ever shadows an
 * API route. wrangler.jsonc and the Pulumi program's upload both follow this.
 */
export const CONSOLE_ASSETS = {
  directory: "dist/assets",
  consolePath: "/console/",
  runWorkerFirst: ["/*", "!/console/*"],
} as const;

/** Secret bindings. Never plain-text vars, never in wrangler.jsonc. */
export const SECRET_BINDINGS = {
  /** The current API bearer token. */
  authToken: "SERVER_AUTH_TOKEN",
  /** The previous API bearer token, still accepted until the next rotation (may be unset). */
  previousAuthToken: "SERVER_AUTH_TOKEN_PREVIOUS",
  /** A Claude subscription token from `claude setup-token`. */
  claudeOauthToken: "CLAUDE_CODE_OAUTH_TOKEN",
  /** An Anthropic API key (used when no OAuth token is set). */
  anthropicApiKey: "ANTHROPIC_API_KEY",
  /** The webhook signing secret, `whsec_<base64>` (Standard Webhooks). */
  webhookSecret: "WEBHOOK_SECRET",
  /** A fine-grained GitHub token for repository tasks (the simpler alternative to a GitHub App). */
  githubToken: "GITHUB_TOKEN",
  /** The private key (PEM) of the GitHub App that repository tasks use. */
  githubAppPrivateKey: "GITHUB_APP_PRIVATE_KEY",
} as const;

/** Plain-text settings bound as vars. */
export const SETTING_VARS = {
  /** Comma-separated hosts the container may reach over HTTP(S). */
  allowedHosts: "ALLOWED_HOSTS",
  /** Task timeout used when a request gives none, in ms. */
  defaultTimeoutMs: "DEFAULT_TIMEOUT_MS",
  /** Largest task timeout a request may ask for, in ms. */
  maxTimeoutMs: "MAX_TIMEOUT_MS",
  /** Claude Code permission mode used when a request gives none. */
  permissionMode: "PERMISSION_MODE",
  /** `proxy` (credential added outside the container) or `env`. */
  credentialMode: "CREDENTIAL_MODE",
  /** Time the Worker waits beyond the task timeout before giving up on the sandbox, in ms. */
  deadlineGraceMs: "DEADLINE_GRACE_MS",
  /** Longest time a task waits `queued` for a container, in ms. */
  queueTimeoutMs: "QUEUE_TIMEOUT_MS",
  /** Most bytes of stdout and of stderr a result keeps (the last ones). */
  maxOutputBytes: "MAX_OUTPUT_BYTES",
  /** Largest `maxBudgetUsd` a task may ask for, in USD; unset means no cap. */
  maxBudgetUsd: "MAX_BUDGET_USD",
  /** `true` lets `callbackUrl` be plain http to localhost (dev:stub only). */
  allowInsecureCallbacks: "ALLOW_INSECURE_CALLBACKS",
  /** Days a task's result, events and listing entry are kept. */
  resultRetentionDays: "RESULT_RETENTION_DAYS",
  /** `false` refuses Anthropic's server-side web search in the egress door. */
  allowWebSearch: "ALLOW_WEB_SEARCH",
  /** The id of the GitHub App that repository tasks use (with GITHUB_APP_PRIVATE_KEY). */
  githubAppId: "GITHUB_APP_ID",
  /** Comma-separated `owner/repo` a task may push to and open pull requests on; empty: any the credential can. */
  githubRepos: "GITHUB_REPOS",
  /** The GitHub API's base URL; default https://api.github.com (set it for GitHub Enterprise Server). */
  githubApiUrl: "GITHUB_API_URL",
  /** The Cloudflare Access team domain (`<team>.cloudflareaccess.com`) whose signed requests are let in; unset: no Access. */
  accessTeamDomain: "ACCESS_TEAM_DOMAIN",
  /** The Application Audience (AUD) tag of the Access application in front of the Worker; set with ACCESS_TEAM_DOMAIN. */
  accessAudience: "ACCESS_AUDIENCE",
} as const;

/** A Cloudflare Access team domain, lower case: `<team>.cloudflareaccess.com`. */
export const ACCESS_TEAM_DOMAIN_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.cloudflareaccess\.com$/;

/** An Access application's Application Audience (AUD) tag: 64 hex digits, lower case. */
export const ACCESS_AUDIENCE_PATTERN = /^[0-9a-f]{64}$/;

/** Any UUID, in either case: what the API accepts as a task id (and Claude Code reports as a session id). */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID (any version, either case): task ids are UUIDv7, and the API accepts any UUID. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** Prefix of every object the Worker writes to the results bucket. */
export const RESULT_KEY_PREFIX = "tasks/";

/** The R2 key of a task's result. */
export function resultKey(taskId: string): string {
  return `${RESULT_KEY_PREFIX}${taskId}/result.json`;
}

/** The R2 key of a task's events, one JSON event per line. */
export function eventsKey(taskId: string): string {
  return `${RESULT_KEY_PREFIX}${taskId}/events.jsonl`;
}

/** The artifacts a repository task stores next to its result, by name. */
export const ARTIFACTS = {
  /** The task's changes, as `git diff --binary` of its commit; served as `text/x-patch`. */
  "changes.patch": "text/x-patch; charset=utf-8",
} as const;
export type ArtifactName = keyof typeof ARTIFACTS;

/** The R2 key of a task's artifact. */
export function artifactKey(taskId: string, name: ArtifactName): string {
  return `${RESULT_KEY_PREFIX}${taskId}/${name}`;
}

/** The R2 key of a repository task's workspace (working tree and Claude session), for follow-ups. */
export function workspaceKey(taskId: string): string {
  return `${RESULT_KEY_PREFIX}${taskId}/workspace.tar.gz`;
}

/** An allowed host: a host name, or `*.` and a domain, as the container egress filter matches them. */
export const ALLOWED_HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * `owner/repo` as GitHub names them, in lower case: an account of up to 39
 * letters, digits and single inner dashes, and a repository name of up to 100
 * letters, digits, `.`, `_` and `-` that is not `.` or `..` (`githubRepos`,
 * `GITHUB_REPOS`).
 */
export const GITHUB_REPO_PATTERN = /^[a-z0-9](?:-?[a-z0-9]){0,38}\/(?!\.\.?$)[a-z0-9._][a-z0-9._-]{0,99}$/;

/** Most decimals of an amount in USD in the settings: a millionth of a dollar. */
export const USD_DECIMALS = 6;

/**
 * An amount in USD as `MAX_BUDGET_USD` holds it: up to 7 digits, then
 * optionally a point and 1 to `USD_DECIMALS` decimals; no sign, no exponent.
 */
export const USD_AMOUNT_PATTERN = /^\d{1,7}(\.\d{1,6})?$/;

/**
 * The canonical text of an amount in USD (at most `LIMITS.ceilingBudgetUsd`,
 * at most `USD_DECIMALS` decimals), as `USD_AMOUNT_PATTERN` accepts it: no
 * exponent, no trailing zeros (`1e-6` → `0.000001`, `2.50` → `2.5`).
 */
export function usdText(amount: number): string {
  return amount.toFixed(USD_DECIMALS).replace(/0+$/, "").replace(/\.$/, "");
}

/** The host whose requests receive the Claude credential in `proxy` mode. */
export const ANTHROPIC_API_HOST = "api.anthropic.com";

/**
 * Hosts the container may reach when `ALLOWED_HOSTS` is not set: the Anthropic
 * API, GitHub for cloning, and the npm and Python package registries.
 */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = [
  ANTHROPIC_API_HOST,
  "github.com",
  "codeload.github.com",
  "registry.npmjs.org",
  "pypi.org",
  "files.pythonhosted.org",
];

/**
 * Claude Code permission modes a task may use. Each is a choice of
 * `claude --permission-mode` in the pinned Claude Code (checked by a test).
 */
export const PERMISSION_MODES = ["bypassPermissions", "acceptEdits", "auto", "dontAsk", "plan", "manual"] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];

/** How the Claude credential reaches Claude Code. */
export const CREDENTIAL_MODES = ["proxy", "env"] as const;
export type CredentialMode = (typeof CREDENTIAL_MODES)[number];

/** Model names and aliases: `sonnet`, `opus`, `claude-sonnet-4-5-20250929`, `claude-opus-4-1[1m]`. */
export const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@\-[\]]{0,99}$/;

/** Request and task limits of the HTTP API (documented in docs/api.md). */
export const LIMITS = {
  /** Largest accepted `POST /execute` body, in bytes. */
  maxBodyBytes: 256 * 1024,
  /** Longest accepted task, in UTF-16 code units (at most 96 000 UTF-8 bytes). */
  maxTaskLength: 32_000,
  /** Smallest accepted `timeout`, in ms. */
  minTimeoutMs: 1_000,
  /** Default `timeout` when neither the request nor the deployment sets one, in ms. */
  defaultTimeoutMs: 300_000,
  /** Default upper bound of `timeout`, in ms. */
  maxTimeoutMs: 900_000,
  /** Hard ceiling for the configured upper bound of `timeout`, in ms. */
  ceilingTimeoutMs: 3_600_000,
  /** Largest accepted `maxTurns`. */
  maxTurns: 500,
  /** Default time the Worker waits beyond the task timeout, in ms. */
  deadlineGraceMs: 30_000,
  /** Largest configurable `DEADLINE_GRACE_MS`, in ms. */
  ceilingDeadlineGraceMs: 600_000,
  /** Default longest wait for a container, in ms. */
  queueTimeoutMs: 600_000,
  /** Largest configurable `QUEUE_TIMEOUT_MS`, in ms. */
  ceilingQueueTimeoutMs: 24 * 3_600_000,
  /** Default bytes of stdout and of stderr a result keeps. */
  maxOutputBytes: 1024 * 1024,
  /** Largest configurable `MAX_OUTPUT_BYTES`. */
  ceilingOutputBytes: 8 * 1024 * 1024,
  /** Default days results, events and listing entries are kept. */
  resultRetentionDays: 30,
  /** Largest configurable `RESULT_RETENTION_DAYS` (`resultRetentionDays`): ten years. */
  ceilingResultRetentionDays: 3650,
  /** Longest `title` of a status document, in characters. */
  titleLength: 120,
  /** Tool inputs and tool results in events are cut to this many bytes. */
  eventToolBytes: 4096,
  /** Assistant texts in events are cut to this many bytes. */
  eventTextBytes: 64 * 1024,
  /** Most events a task keeps (its `result` and `end` events always fit). */
  maxEvents: 10_000,
  /** Default and largest page of `GET /tasks`. */
  listPage: { default: 20, max: 100 },
  /** Default and largest page of `GET /tasks/:id/events` as JSON. */
  eventsPage: { default: 100, max: 1000 },
  /** Longest `callbackUrl`, in characters. */
  maxCallbackUrlLength: 2048,
  /** Default task creations per token per minute. */
  rateLimitPerMinute: 60,
  /** Largest `maxBudgetUsd` a request may ask for when the deployment sets no cap, in USD. */
  maxBudgetUsd: 1000,
  /** Largest configurable cap `MAX_BUDGET_USD` (`maxBudgetUsd`), in USD. */
  ceilingBudgetUsd: 1_000_000,
  /** Largest patch a repository task stores (bigger ones are reported, not stored). */
  maxPatchBytes: 10 * 1024 * 1024,
  /** Seconds a repository step (checkout, commit and push, archive) may take. */
  repositoryStepSeconds: 600,
} as const;

/**
 * What a repository task's deadline adds to the grace: its steps before and
 * after Claude Code (checkout or restore; commit, push and archive), each
 * allowed `LIMITS.repositoryStepSeconds`.
 */
export const REPOSITORY_STEPS_GRACE_MS = 2 * LIMITS.repositoryStepSeconds * 1000;

// ---------------------------------------------------------------------------
// The documents of the HTTP API. Types only: the CLI imports them so that a
// changed shape fails its type-check instead of a user's script.
// ---------------------------------------------------------------------------

/** Every status a task can have, in lifecycle order. */
export const TASK_STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The statuses a task ends in; a terminal status never changes. */
export const TERMINAL_STATUSES = ["succeeded", "failed", "timed_out", "cancelled"] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** Why a task did not succeed (`error.code` of a result and a status document). */
export type TaskErrorCode =
  | "claude_error"
  | "claude_exit_nonzero"
  | "max_turns_reached"
  | "budget_exceeded"
  | "platform_interrupted"
  | "sandbox_unavailable"
  | "task_timeout"
  | "task_cancelled"
  | "repository_failed";

export interface TaskError {
  code: TaskErrorCode;
  message: string;
}

/** Token usage and cost of one model, as Claude Code reports it. */
export interface ModelUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadInputTokens: number | null;
  cacheCreationInputTokens: number | null;
  costUsd: number | null;
}

/** Token usage and cost of one task, from Claude Code's final `result` message. */
export interface TaskUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  cacheCreationInputTokens: number | null;
  cacheReadInputTokens: number | null;
  costUsd: number | null;
  numTurns: number | null;
  sessionId: string | null;
  /** Per model, where Claude Code reports it (`modelUsage`); null otherwise. */
  models: Record<string, ModelUsage> | null;
}

/** Delivery state of a task's webhook. */
export interface CallbackState {
  /** Deliveries tried so far. */
  attempts: number;
  /** Whether an attempt got a 2xx. */
  delivered: boolean;
  /** The HTTP status of the last attempt; null before the first and after a network error. */
  lastStatus: number | null;
}

/** What changed in a repository task's branch, as `git diff --numstat` counts it (a rename counts as a deletion and an addition). */
export interface DiffStat {
  filesChanged: number;
  insertions: number;
  deletions: number;
  /** The changed files, at most 1000 of them; a binary file counts no lines. */
  files: { path: string; insertions: number; deletions: number; binary: boolean }[];
  /** More files changed than are listed. */
  truncated: boolean;
}

/** A repository task: what it worked on and what it handed back. */
export interface RepositoryDocument {
  /** The clone URL. */
  url: string;
  /** The ref checked out; null: the repository's default branch. */
  ref: string | null;
  /** The work branch. */
  branch: string;
  /**
   * The repository's default branch, which a task never pushes: read by the
   * checkout, or kept from the task followed up; null while not known.
   */
  defaultBranch?: string | null;
  /** Whether the branch is (to be) pushed, and whether a pull request is (to be) opened. */
  push: boolean;
  pullRequestRequested: boolean;
  /** The commit the task started from, once checked out. */
  base: string | null;
  /** The task's commit, when it changed something. */
  head: string | null;
  diffStat: DiffStat | null;
  /** Whether the branch was pushed. */
  pushed: boolean;
  /** The pull request opened (or found already open) for the branch. */
  pullRequest: { url: string; number: number } | null;
  /** Links of the task's artifacts, such as `changes.patch`, once stored. */
  artifacts: Record<string, string>;
}

/** `GET /tasks/:taskId`, and each entry of `GET /tasks`. Times are ISO 8601, null until known. */
export interface TaskStatusDocument {
  taskId: string;
  /** The task's first non-blank line, at most `LIMITS.titleLength` characters (the deployment's secrets redacted); absent for tasks accepted before titles were kept. */
  title?: string;
  status: TaskStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  timeoutMs: number;
  eventCount: number;
  usage: TaskUsage | null;
  error: TaskError | null;
  /** Present when the task was submitted with a `callbackUrl`. */
  callback?: CallbackState;
  /** Present for a repository task. */
  repository?: RepositoryDocument;
  /** The task this one follows up, if any. */
  continuedFrom?: string;
  /** Who submitted it, when Cloudflare Access let them in (their email). */
  submittedBy?: string;
  /** While queued behind earlier tasks of the same repository and branch: how many run before it (absent when none). */
  queuePosition?: number;
  links: { self: string; events: string; result: string; cancel: string };
}

/** `GET /tasks`. */
export interface TaskListDocument {
  tasks: TaskStatusDocument[];
  /** Pass as `?cursor=` for the next (older) page; null on the last page. */
  cursor: string | null;
}

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The data of each event type. */
export interface TaskEventData {
  status: { status: TaskStatus };
  init: { sessionId: string | null; model: string | null; tools: string[] };
  text: { text: string; truncated?: true };
  /** `input` is the tool's input, or the text of its JSON cut to 4 KiB when `truncated`. */
  tool_use: { id: string; name: string; input: JsonValue; truncated?: true };
  tool_result: { toolUseId: string; isError: boolean; content: string; truncated?: true };
  result: { success: boolean; error: TaskError | null; usage: TaskUsage | null; repository?: RepositoryDocument };
  end: { status: TerminalStatus };
}
export type TaskEventType = keyof TaskEventData;

/** One event of a task: `seq` counts from 1 with no gaps. */
export type TaskEvent = {
  [Type in TaskEventType]: { seq: number; type: Type; at: string; data: TaskEventData[Type] };
}[TaskEventType];

/** `GET /tasks/:taskId/events` without `Accept: text/event-stream`. */
export interface TaskEventsPage {
  events: TaskEvent[];
  /** The last `seq` returned (`after` when the page is empty): pass it as `?after=` next. */
  next: number;
  /** Whether nothing follows: this page holds the `end` event, or the task ended and `after` is at or past it. */
  done: boolean;
}

/** A finished task's result: `POST /execute`, `GET /tasks/:taskId/result`, `tasks/<id>/result.json`. */
export interface TaskResult {
  taskId: string;
  status: TerminalStatus;
  success: boolean;
  /** Claude Code's exit code; null when it never ended by itself (deadline, cancel, lost container, never started). */
  exitCode: number | null;
  /** The last `MAX_OUTPUT_BYTES` of Claude Code's stdout (stream-json lines). */
  stdout: string;
  /** The last `MAX_OUTPUT_BYTES` of its stderr. */
  stderr: string;
  /** The text to show a person: `result` when there is one, else stderr. */
  output: string;
  /** Claude's final text. */
  result: string;
  usage: TaskUsage | null;
  timedOut: boolean;
  /** Whether stdout or stderr lost their beginning to the size bound. */
  truncated: boolean;
  error?: TaskError;
  /** When the task got its container; null when it never did. */
  startedAt: string | null;
  /** When the task finished. */
  timestamp: string;
  /** Time from start (or from acceptance, when it never started) to the end, in ms. */
  durationMs: number;
  /** Present for a repository task. */
  repository?: RepositoryDocument;
  /** The task this one follows up, if any. */
  continuedFrom?: string;
}
