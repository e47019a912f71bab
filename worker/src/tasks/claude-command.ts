/**
 * The shell command that runs Claude Code in the sandbox, as a pure function.
 *
 * Claude Code runs with `--output-format stream-json --verbose`: one JSON
 * message per line as it works, read incrementally by the task's Durable
 * Object. `timeout(1)` ends it at the task timeout (exit 124; the Durable
 * Object's alarm is the second, independent deadline), and stdin is
 * `/dev/null` so it never waits for input.
 *
 * The sandbox runs commands with `bash -c`. The task text never appears in the
 * command string: it travels in the environment variable `CLAUDE_SANDBOX_PROMPT`
 * and reaches `claude` as `"$CLAUDE_SANDBOX_PROMPT"` after `--`, so bash passes it
 * byte for byte as one argument (no splitting, globbing or substitution) and
 * `claude` reads it as the prompt even when it starts with `-`. `env -u` drops
 * the variable before `claude` starts. Because the command holds no task text,
 * sandbox logs of the command never show it either.
 */
import type { PermissionMode } from "../contract.js";
import type { ClaudeCredential } from "../egress/anthropic-door.js";
import { sessionArguments } from "../repositories/workspace.js";
import { shellQuote } from "../shell-quote.js";
import type { TaskSubmission } from "./submission.js";

/** Name of the environment variable that carries the task text into bash. */
export const PROMPT_ENV_VAR = "CLAUDE_SANDBOX_PROMPT";

/** Value given to the credential variable in `proxy` mode: the real secret is added outside the container. */
export const CREDENTIAL_PLACEHOLDER = "injected-by-claude-sandbox-proxy";

export interface ClaudeInvocationInput {
  task: string;
  permissionMode: PermissionMode;
  model?: string;
  maxTurns?: number;
  /** Passed as `--max-budget-usd`. */
  maxBudgetUsd?: number;
  /** The task timeout; `timeout(1)` stops Claude Code after it. */
  timeoutMs: number;
  /** Session flags (`sessionArguments` of repositories/workspace.ts), before the prompt. */
  sessionArgs?: readonly string[];
  credential: ClaudeCredential;
  /** `proxy`: the container gets a placeholder; `env`: it gets the real credential. */
  credentialMode: "proxy" | "env";
}

export interface ClaudeInvocation {
  command: string;
  env: Record<string, string>;
}

/** Every flag passed to `claude`; a test checks each against `claude --help` of the pinned version. */
export const CLAUDE_FLAGS = [
  "--print",
  "--output-format",
  "--verbose",
  "--permission-mode",
  "--model",
  "--max-budget-usd",
  "--session-id",
  "--resume",
  "--fork-session",
] as const;

/** Seconds `timeout(1)` waits after its TERM before it sends KILL. */
export const KILL_AFTER_SECONDS = 10;

/** Environment variable that selects each credential kind in Claude Code. */
export function credentialVariable(credential: ClaudeCredential): "CLAUDE_CODE_OAUTH_TOKEN" | "ANTHROPIC_API_KEY" {
  return credential.kind === "oauth" ? "CLAUDE_CODE_OAUTH_TOKEN" : "ANTHROPIC_API_KEY";
}

/** Builds the command and environment for one task. */
export function buildClaudeInvocation(input: ClaudeInvocationInput): ClaudeInvocation {
  const args = ["--print", "--output-format", "stream-json", "--verbose", "--permission-mode", input.permissionMode];
  if (input.model !== undefined) args.push("--model", input.model);
  if (input.maxBudgetUsd !== undefined) args.push("--max-budget-usd", String(input.maxBudgetUsd));
  if (input.sessionArgs !== undefined) args.push(...input.sessionArgs);
  const seconds = Math.max(1, Math.ceil(input.timeoutMs / 1000));
  const command =
    `exec timeout --kill-after=${KILL_AFTER_SECONDS}s ${seconds}s env -u ${PROMPT_ENV_VAR} ` +
    `claude ${args.map(shellQuote).join(" ")} -- "$${PROMPT_ENV_VAR}" < /dev/null`;

  const secret = input.credential.kind === "oauth" ? input.credential.token : input.credential.key;
  const env: Record<string, string> = {
    [PROMPT_ENV_VAR]: input.task,
    // Lets Claude Code run as root with bypassPermissions inside the isolated container.
    IS_SANDBOX: "1",
    // No telemetry, error reporting or update checks: those hosts are not allowed anyway.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    [credentialVariable(input.credential)]: input.credentialMode === "env" ? secret : CREDENTIAL_PLACEHOLDER,
  };
  if (input.maxTurns !== undefined) env.CLAUDE_CODE_MAX_TURNS = String(input.maxTurns);
  return { command, env };
}

/** The command that runs Claude Code for an accepted task (a repository task with its session flags). */
export function invocationFor(submission: TaskSubmission, credential: ClaudeCredential): ClaudeInvocation {
  const { request, repository, taskId } = submission;
  return buildClaudeInvocation({
    task: request.task,
    permissionMode: request.permissionMode,
    timeoutMs: request.timeoutMs,
    credential,
    credentialMode: submission.credentialMode,
    ...(request.model === undefined ? {} : { model: request.model }),
    ...(request.maxTurns === undefined ? {} : { maxTurns: request.maxTurns }),
    ...(request.maxBudgetUsd === undefined ? {} : { maxBudgetUsd: request.maxBudgetUsd }),
    ...(repository ? { sessionArgs: sessionArguments({ taskId, resumeSessionId: repository.continuedFrom }) } : {}),
  });
}
