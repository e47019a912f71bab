/**
 * The little of a sandbox that a task needs, behind our own interface so the
 * Sandbox SDK stays in this folder: start Claude Code as a background process,
 * read its log stream, ask whether it still runs, stop it, destroy the
 * container. `openTaskSandbox` adapts the SDK's `getSandbox` stub to it; the
 * tests and `dev:stub` bind a stand-in Durable Object with the same methods.
 */
import { getSandbox } from "@cloudflare/sandbox";

/** A background process as the sandbox reports it. */
export interface SandboxProcessInfo {
  status: "starting" | "running" | "completed" | "failed" | "killed" | "error";
  exitCode: number | null;
}

export interface TaskSandbox {
  /** Starts `command` in the background; resolves once it runs, with its process id. */
  startProcess(command: string, options: { env: Record<string, string> }): Promise<{ id: string }>;
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
    startProcess: async (command, options) => ({ id: (await sandbox.startProcess(command, { env: options.env })).id }),
    streamProcessLogs: (processId) => sandbox.streamProcessLogs(processId),
    getProcess: async (processId) => {
      const process = await sandbox.getProcess(processId);
      return process === null ? null : { status: process.status, exitCode: process.exitCode ?? null };
    },
    killProcess: (processId) => sandbox.killProcess(processId),
    destroy: () => sandbox.destroy(),
  };
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
