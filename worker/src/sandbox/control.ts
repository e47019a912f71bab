/**
 * The little of a sandbox that a task needs, behind our own interface so the
 * Sandbox SDK stays in this folder: start Claude Code as a background process,
 * read its log stream, ask whether it still runs, stop it, destroy the
 * container; and for repository tasks, run a short step, move a file in or
 * out, and open the git door. `openTaskSandbox` adapts the SDK's `getSandbox` stub to it; the
 * tests and `dev:stub` bind a stand-in Durable Object with the same methods.
 */
import { getSandbox, streamFile } from "@cloudflare/sandbox";
import type { GitAccessGrant } from "../egress/git-credentials.js";

/** A background process as the sandbox reports it. */
export interface SandboxProcessInfo {
  status: "starting" | "running" | "completed" | "failed" | "killed" | "error";
  exitCode: number | null;
}

/** What a short command printed, and how it ended. */
export interface ExecOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface TaskSandbox {
  /** Starts `command` in the background; resolves once it runs, with its process id. */
  startProcess(command: string, options: { env: Record<string, string>; cwd?: string }): Promise<{ id: string }>;
  /** Runs a short command to its end (a repository step). */
  exec(command: string, options: { env: Record<string, string>; timeoutMs: number }): Promise<ExecOutcome>;
  /** Writes a file in the container from a stream. */
  writeFile(path: string, content: ReadableStream<Uint8Array>): Promise<void>;
  /** Reads a file of the container as bytes. */
  readFile(path: string): Promise<ReadableStream<Uint8Array>>;
  /** Lets the container's git reach one repository through the git door. */
  grantRepository(grant: GitAccessGrant): Promise<void>;
  /** The process's log stream (Server-Sent Events; see events/process-log.ts). */
  streamProcessLogs(processId: string): Promise<ReadableStream<Uint8Array>>;
  /** The process, or null when the sandbox does not know it (a new container). */
  getProcess(processId: string): Promise<SandboxProcessInfo | null>;
  killProcess(processId: string): Promise<void>;
  /** Stops the container and frees its instance. */
  destroy(): Promise<void>;
}

/** The Sandbox Durable Object namespace, as bound to the Worker. */
export type SandboxNamespace = Parameters<typeof getSandbox>[0];

/**
 * Opens the sandbox of a task. The container is kept awake for `keepAliveMs`
 * without requests (the task timeout and its grace), so a quiet Claude Code is
 * never put to sleep mid-task.
 */
export function openTaskSandbox(namespace: SandboxNamespace, taskId: string, keepAliveMs: number): TaskSandbox {
  const sandbox = getSandbox(namespace, taskId, {
    enableDefaultSession: false,
    sleepAfter: Math.max(60, Math.ceil(keepAliveMs / 1000) + 60),
  });
  return {
    startProcess: async (command, options) =>
      ({ id: (await sandbox.startProcess(command, { env: options.env, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) })).id }),
    exec: async (command, options) => {
      const { exitCode, stdout, stderr } = await sandbox.exec(command, { env: options.env, timeout: options.timeoutMs });
      return { exitCode, stdout, stderr };
    },
    writeFile: async (path, content) => {
      await sandbox.writeFile(path, content);
    },
    readFile: async (path) => fileBytes(await sandbox.readFileStream(path)),
    // A method of our Sandbox class (sandbox.ts), reached through the stub.
    grantRepository: (grant) => (sandbox as unknown as Pick<TaskSandbox, "grantRepository">).grantRepository(grant),
    streamProcessLogs: (processId) => sandbox.streamProcessLogs(processId),
    getProcess: async (processId) => {
      const process = await sandbox.getProcess(processId);
      return process === null ? null : { status: process.status, exitCode: process.exitCode ?? null };
    },
    killProcess: (processId) => sandbox.killProcess(processId),
    destroy: () => sandbox.destroy(),
  };
}

/** The bytes of the SDK's file stream (Server-Sent Events of text or base64 chunks). */
function fileBytes(events: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const chunks = streamFile(events);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(typeof value === "string" ? encoder.encode(value) : value);
    },
    async cancel() {
      // Ends the generator, which releases the file's event stream.
      await chunks.return(undefined as never);
    },
  });
}

/**
 * Stops a process (when one is named) and destroys the container, waiting for
 * the destroy at most `timeoutMs`: `destroyed`, `timeout` (it may still
 * happen), or `failed` (the sandbox refused). Never throws.
 */
export async function destroySandbox(sandbox: TaskSandbox, processId: string | null, timeoutMs: number): Promise<"destroyed" | "timeout" | "failed"> {
  if (processId !== null) await sandbox.killProcess(processId).catch(() => undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    return await Promise.race([sandbox.destroy().then(() => "destroyed" as const), timeout]);
  } catch {
    return "failed";
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

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

/** Whether a sandbox failure means "no container right now, try again" rather than a broken run. */
export function isSandboxUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const { name, message, cause } = current instanceof Error ? current : { name: "", message: String(current), cause: undefined };
    if (UNAVAILABLE_ERROR_NAMES.has(name) || UNAVAILABLE_PATTERNS.some((pattern) => pattern.test(message))) return true;
    current = cause;
  }
  return false;
}
