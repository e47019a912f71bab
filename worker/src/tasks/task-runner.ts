/**
 * Running one task in its own sandbox: build the command, run it with the exec
 * timeout and a Worker-side deadline, turn Claude Code's output into a result,
 * and destroy the sandbox whatever happened.
 *
 * A task that ran and failed or timed out is a result with `success: false`.
 * A sandbox that could not run it is an `ApiError` (503 when the platform is at
 * capacity, 500 otherwise) that carries the task id.
 */
import { buildClaudeInvocation, type ClaudeCredential } from "./claude-command.js";
import { parseClaudeOutput, type TaskUsage } from "../events/claude-output.js";
import { ApiError } from "../http/errors.js";
import type { TaskRequest } from "../http/validation.js";

/** The part of a sandbox the runner uses; the Sandbox Durable Object stub satisfies it. */
export interface TaskSandbox {
  exec(command: string, options: { timeout: number; env: Record<string, string> }): Promise<{
    exitCode: number;
    stdout: string;
    stderr: string;
  }>;
  destroy(): Promise<void>;
}

/** Why a task that ran did not succeed. */
export type TaskErrorCode = "task_timeout" | "max_turns_reached" | "claude_error" | "claude_exit_nonzero";

/** The result of a task: returned by `POST /execute` and stored at `tasks/<taskId>/result.json`. */
export interface TaskResult {
  taskId: string;
  success: boolean;
  /** Claude Code's exit code; null when the Worker's deadline ended the task. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The text to show a person: `result` when there is one, else stderr. */
  output: string;
  /** Claude's final text, or the raw stdout when it was not Claude's JSON. */
  result: string;
  usage: TaskUsage | null;
  timedOut: boolean;
  error?: { code: TaskErrorCode; message: string };
  startedAt: string;
  /** When the task finished. */
  timestamp: string;
  durationMs: number;
}

export interface RunTaskInput {
  taskId: string;
  request: TaskRequest;
  credential: ClaudeCredential;
  credentialMode: "proxy" | "env";
  sandbox: TaskSandbox;
  /** Extra time the Worker waits beyond the exec timeout before giving up. */
  deadlineGraceMs: number;
  /** Values that must never appear in a result (credentials, auth tokens). */
  secrets: readonly string[];
  /** Called with a warning code, for the request's log line. */
  warn: (code: string) => void;
}

/** The sandbox's own timeout: exit code 124 with this line appended to stderr. */
const SANDBOX_TIMEOUT_EXIT_CODE = 124;
const SANDBOX_TIMEOUT_MARKER = "Command timed out after";

/** Longest wait for the sandbox to be destroyed before the answer is sent anyway. */
const DESTROY_TIMEOUT_MS = 15_000;

/** Messages of the platform when it cannot give a task a container (capacity, limits, restarts). */
const UNAVAILABLE_PATTERNS = [
  /no container instance/i,
  /maximum number of running container instances/i,
  /container(s)? (is |are )?(temporarily )?unavailable/i,
  /durable object is overloaded/i,
  /network connection lost/i,
  /reset because its code was updated/i,
  /this script has been upgraded/i,
];
const UNAVAILABLE_ERROR_NAMES = new Set(["ContainerUnavailableError", "RPCTransportError", "OperationInterruptedError"]);

/** Whether a sandbox failure means "no capacity right now" (503) rather than a broken task run (500). */
export function isSandboxUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const { name, message, cause } = current instanceof Error ? current : { name: "", message: String(current), cause: undefined };
    if (UNAVAILABLE_ERROR_NAMES.has(name) || UNAVAILABLE_PATTERNS.some((pattern) => pattern.test(message))) return true;
    current = cause;
  }
  return false;
}

/** Replaces every configured secret in `text`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) {
    if (secret.length >= 8) redacted = redacted.replaceAll(secret, "[redacted]");
  }
  return redacted;
}

const DEADLINE = Symbol("deadline");

function waitFor<T>(promise: Promise<T>, ms: number): Promise<T | typeof DEADLINE> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<typeof DEADLINE>((resolve) => {
    timer = setTimeout(() => resolve(DEADLINE), ms);
  });
  return Promise.race([promise, deadline]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

async function destroyQuietly(sandbox: TaskSandbox, warn: (code: string) => void): Promise<void> {
  try {
    const outcome = await waitFor(sandbox.destroy(), DESTROY_TIMEOUT_MS);
    if (outcome === DEADLINE) warn("sandbox_destroy_timeout");
  } catch {
    warn("sandbox_destroy_failed");
  }
}

function failure(exitCode: number | null, timedOut: boolean, timeoutMs: number, isError: boolean, subtype: string | null) {
  if (timedOut) return { code: "task_timeout" as const, message: `The task did not finish within ${timeoutMs} ms` };
  if (subtype === "error_max_turns") {
    return { code: "max_turns_reached" as const, message: "Claude Code stopped at the maxTurns limit" };
  }
  if (isError) {
    return { code: "claude_error" as const, message: `Claude Code reported an error (${subtype ?? "unknown"})` };
  }
  if (exitCode !== 0) {
    return { code: "claude_exit_nonzero" as const, message: `Claude Code exited with code ${exitCode}` };
  }
  return undefined;
}

/** Runs one task to a result, or throws an `ApiError` carrying the task id when the sandbox failed. */
export async function runTask(input: RunTaskInput): Promise<TaskResult> {
  const { taskId, request, sandbox } = input;
  const invocation = buildClaudeInvocation({
    task: request.task,
    permissionMode: request.permissionMode,
    credential: input.credential,
    credentialMode: input.credentialMode,
    ...(request.model === undefined ? {} : { model: request.model }),
    ...(request.maxTurns === undefined ? {} : { maxTurns: request.maxTurns }),
  });
  const started = Date.now();
  let exitCode: number | null = null;
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  try {
    const execution = sandbox.exec(invocation.command, { timeout: request.timeoutMs, env: invocation.env });
    // If the deadline wins, a late rejection of the exec must not go unhandled.
    execution.catch(() => undefined);
    const outcome = await waitFor(execution, request.timeoutMs + input.deadlineGraceMs);
    if (outcome === DEADLINE) {
      timedOut = true;
    } else {
      exitCode = outcome.exitCode;
      stdout = outcome.stdout;
      stderr = outcome.stderr;
      timedOut = exitCode === SANDBOX_TIMEOUT_EXIT_CODE && stderr.includes(SANDBOX_TIMEOUT_MARKER);
    }
  } catch (error) {
    throw new ApiError(isSandboxUnavailable(error) ? "sandbox_unavailable" : "task_execution_failed", {
      extra: { taskId },
    });
  } finally {
    await destroyQuietly(sandbox, input.warn);
  }

  const finished = Date.now();
  stdout = redactSecrets(stdout, input.secrets);
  stderr = redactSecrets(stderr, input.secrets);
  const claude = parseClaudeOutput(stdout);
  const error = failure(exitCode, timedOut, request.timeoutMs, claude.isError, claude.subtype);
  const output = claude.result.trim().length > 0 ? claude.result : stderr;
  return {
    taskId,
    success: error === undefined,
    exitCode,
    stdout,
    stderr,
    output,
    result: claude.result,
    usage: claude.usage,
    timedOut,
    ...(error === undefined ? {} : { error }),
    startedAt: new Date(started).toISOString(),
    timestamp: new Date(finished).toISOString(),
    durationMs: finished - started,
  };
}
