/**
 * Waiting for a task within one tool call: the task's status, then its live
 * events (the API's own Server-Sent Events, so nothing spins) until its `end`
 * event or the time is up, then its status again and, once it ended, its
 * result. Each new event can be reported as progress.
 */
import type { TaskResult, TaskStatusDocument } from "../contract.js";
import { isTerminal } from "../tasks/lifecycle.js";
import type { TaskApi } from "./api.js";
import { type AgentResult, describeEvent, describeStatus, oneLine } from "./text.js";

/** The longest a tool call waits for a task, in seconds: clients give up on a call after about a minute. */
export const MAX_WAIT_SECONDS = 50;

/** How long to pause when an event stream closed before the task's end, so that a reconnect never spins. */
const RECONNECT_PAUSE_MS = 1_000;

/** A task after a wait: its status, and its result when it ended. */
export interface WaitOutcome {
  task: TaskStatusDocument;
  result: AgentResult | null;
}

/** Reports progress: `progress` is the number of the task's last event, and grows with every call. */
export type ProgressReporter = (progress: number, message: string) => Promise<void>;

/** The result as the tools give it: without stdout, which is Claude Code's raw stream-json (its events say the same). */
export function agentResult({ stdout: _stdout, ...result }: TaskResult): AgentResult {
  return result;
}

/** The status and result of a task that has ended. */
async function ended(api: TaskApi, task: TaskStatusDocument): Promise<WaitOutcome> {
  return { task, result: agentResult(await api.result(task.taskId)) };
}

/**
 * Waits up to `timeoutMs` for task `taskId` to end; `report` (when given) hears
 * of each new event. Errors of the API (an unknown task, an invalid id) are thrown.
 */
export async function waitForTask(api: TaskApi, taskId: string, timeoutMs: number, report?: ProgressReporter): Promise<WaitOutcome> {
  const until = Date.now() + timeoutMs;
  let reported = -1;
  const progress = async (seq: number, message: string) => {
    if (seq <= reported) return;
    reported = seq;
    await report?.(seq, oneLine(message, 200));
  };
  for (;;) {
    const task = await api.status(taskId);
    if (isTerminal(task.status)) return ended(api, task);
    await progress(task.eventCount, describeStatus(task));
    if (Date.now() >= until) return { task, result: null };
    const reachedEnd = await api.follow(task.taskId, Math.max(reported, task.eventCount), until, (event) => progress(event.seq, describeEvent(event)));
    if (!reachedEnd && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.min(RECONNECT_PAUSE_MS, until - Date.now())));
  }
}
