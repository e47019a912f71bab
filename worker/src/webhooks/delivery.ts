/**
 * Delivering a task's `task.finished` webhook: one signed POST per attempt,
 * retried after about 5 s, 30 s, 2 min, 10 min, 1 h and 6 h until a 2xx. Every
 * attempt of one delivery carries the same `webhook-id`. A redirect is a
 * failure (never followed), and an attempt gives up after 10 s.
 */
import type { CallbackState, TaskStatusDocument } from "../contract.js";
import { signWebhook } from "./signature.js";

/** Waits after the 1st, 2nd, … failed attempt; after the last one there is no retry. */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000];

/** Longest wait for one attempt's answer. */
export const WEBHOOK_ATTEMPT_TIMEOUT_MS = 10_000;

/** When the next attempt is due after `attempts` failed ones, or null when the delivery gives up. */
export function nextWebhookAttemptAt(attempts: number, lastAttemptAt: number): number | null {
  const delay = WEBHOOK_RETRY_DELAYS_MS[attempts - 1];
  return delay === undefined ? null : lastAttemptAt + delay;
}

/** The `webhook-id` of a task's `task.finished` delivery. */
export function webhookId(taskId: string): string {
  return `msg_${taskId.replaceAll("-", "")}`;
}

/** The body POSTed to `callbackUrl`. */
export function webhookBody(task: TaskStatusDocument): string {
  return JSON.stringify({ type: "task.finished", task });
}

/** Makes one attempt; returns the delivery state after it. */
export async function attemptWebhook(input: {
  url: string;
  key: Uint8Array;
  taskId: string;
  body: string;
  state: CallbackState;
  now: number;
  send?: (request: Request) => Promise<Response>;
}): Promise<CallbackState> {
  const headers = await signWebhook({ key: input.key, id: webhookId(input.taskId), timestampSeconds: input.now / 1000, body: input.body });
  const request = new Request(input.url, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json", "user-agent": "claude-sandbox-webhooks" },
    body: input.body,
    redirect: "manual",
    signal: AbortSignal.timeout(WEBHOOK_ATTEMPT_TIMEOUT_MS),
  });
  const attempts = input.state.attempts + 1;
  try {
    const response = await (input.send ?? fetch)(request);
    await response.body?.cancel();
    return { attempts, delivered: response.status >= 200 && response.status < 300, lastStatus: response.status };
  } catch {
    return { attempts, delivered: false, lastStatus: null };
  }
}

/** A delivery's state after an attempt, with when the next one is due (null once delivered or given up). */
export type Delivery = CallbackState & { nextAttemptAt: number | null };

/** Makes the next attempt of a task's webhook, with its status document as the body, and schedules the one after it. */
export async function deliverWebhook(input: { url: string; key: Uint8Array; document: TaskStatusDocument; state: CallbackState; now: number }): Promise<Delivery> {
  const { document, ...attempt } = input;
  const state = await attemptWebhook({ ...attempt, taskId: document.taskId, body: webhookBody(document) });
  return { ...state, nextAttemptAt: state.delivered ? null : nextWebhookAttemptAt(state.attempts, input.now) };
}
