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

/** The tag of the migration that creates the Sandbox class (SQLite-backed). */
export const SANDBOX_MIGRATION_TAG = "v1";

/** The Worker binding of the R2 bucket that keeps task results. */
export const RESULTS_BUCKET_BINDING = "RESULTS";

/** Workers compatibility date used by wrangler.jsonc and by infra's upload. */
export const COMPATIBILITY_DATE = "2026-04-22";

/** Workers compatibility flags used by wrangler.jsonc and by infra's upload. */
export const COMPATIBILITY_FLAGS: readonly string[] = ["nodejs_compat"];

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
} as const;

/** Prefix of every object the Worker writes to the results bucket. */
export const RESULT_KEY_PREFIX = "tasks/";

/** The R2 key of a task's result. */
export function resultKey(taskId: string): string {
  return `${RESULT_KEY_PREFIX}${taskId}/result.json`;
}

/** An allowed host: a host name, or `*.` and a domain, as the container egress filter matches them. */
export const ALLOWED_HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

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
export const PERMISSION_MODES = ["bypassPermissions", "acceptEdits", "dontAsk", "plan", "default"] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];

/** How the Claude credential reaches Claude Code. */
export const CREDENTIAL_MODES = ["proxy", "env"] as const;
export type CredentialMode = (typeof CREDENTIAL_MODES)[number];

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
} as const;
