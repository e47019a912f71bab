/**
 * Time to first event: what a client waits from sending `POST /tasks` to
 * receiving the task's first `init` event (Claude Code's first line, here the
 * stand-in's) over the task's event stream, as `claude-sandbox submit` then
 * `events --follow` does. Tasks run one after another, each once the runtime
 * is idle again: locally every object shares one thread, so work of another
 * task (or of this one past its `init`) would hold this one back, where
 * deployed each task's object runs on its own. Beside each task, one `GET /health` on the same Worker gives the
 * round trip of a request that does nothing: the floor of what the machine
 * allows at that moment.
 */
import { createParser } from "eventsource-parser";
import { type DevServer, waitUntilIdle } from "./dev-server.js";
import { type Budget, type Figure, ms } from "./figures.js";
import { quantile } from "./load.js";
import { submitTask } from "./streaming.js";
import { BENCH_TOKEN } from "./workers.js";

/** Largest p50 and p99, in ms. */
export const FIRST_EVENT_BUDGET = { p50: 50, p99: 150 } as const;

/** Tasks measured, after the untimed ones that warm the path up. */
const TASKS = 50;
const WARMUP_TASKS = 3;

/** The p50 and p99 budget of the time to first event. */
export function firstEventBudget(p50: number, p99: number): Budget {
  return {
    rule: `p50 ≤ ${FIRST_EVENT_BUDGET.p50} ms, p99 ≤ ${FIRST_EVENT_BUDGET.p99} ms`,
    met: p50 <= FIRST_EVENT_BUDGET.p50 && p99 <= FIRST_EVENT_BUDGET.p99,
  };
}

interface FirstEvent {
  /** From sending `POST /tasks` to its answer. */
  answeredMs: number;
  /** From sending `POST /tasks` to the arrival of the `init` event. */
  initMs: number;
}

/** Reads an event stream until its first `init` event; resolves with its arrival (epoch ms), then stops reading. */
async function untilInit(server: DevServer, taskId: string): Promise<number> {
  const response = await fetch(`${server.url}/tasks/${taskId}/events`, {
    headers: { Authorization: `Bearer ${BENCH_TOKEN}`, Accept: "text/event-stream" },
    signal: AbortSignal.timeout(60_000),
  });
  if (response.status !== 200 || !response.body) throw new Error(`GET /tasks/${taskId}/events answered ${response.status}`);
  let arrivedAt: number | null = null;
  const parser = createParser({
    onEvent: (message) => {
      if (arrivedAt === null && message.event === "init") arrivedAt = performance.timeOrigin + performance.now();
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (arrivedAt !== null) break;
  }
  if (arrivedAt === null) throw new Error(`the event stream of task ${taskId} closed before its init event`);
  return arrivedAt;
}

/**
 * One task from its submission to its first event. It hangs after `init`, so
 * nothing of it but what leads to `init` runs meanwhile; it is cancelled once
 * measured.
 */
async function firstEvent(server: DevServer): Promise<FirstEvent> {
  const sent = performance.now();
  const taskId = await submitTask(server, "@stub hang");
  const answeredMs = performance.now() - sent;
  const initMs = (await untilInit(server, taskId)) - (performance.timeOrigin + sent);
  const cancelled = await fetch(`${server.url}/tasks/${taskId}/cancel`, { method: "POST", headers: { Authorization: `Bearer ${BENCH_TOKEN}` } });
  await cancelled.arrayBuffer();
  if (cancelled.status !== 202) throw new Error(`POST /tasks/${taskId}/cancel answered ${cancelled.status}`);
  return { answeredMs, initMs };
}

async function healthMs(server: DevServer): Promise<number> {
  const sent = performance.now();
  const response = await fetch(`${server.url}/health`);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`GET /health answered ${response.status}`);
  return performance.now() - sent;
}

export async function measureFirstEvent(server: DevServer): Promise<Figure[]> {
  const tasks: FirstEvent[] = [];
  const health: number[] = [];
  for (let index = -WARMUP_TASKS; index < TASKS; index++) {
    await waitUntilIdle([server]);
    const task = await firstEvent(server);
    await waitUntilIdle([server]);
    const floor = await healthMs(server);
    if (index < 0) continue;
    tasks.push(task);
    health.push(floor);
  }
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const init = sorted(tasks.map((task) => task.initMs));
  const answered = sorted(tasks.map((task) => task.answeredMs));
  const floor = sorted(health);
  const [p50, p99] = [quantile(init, 0.5), quantile(init, 0.99)];
  return [
    {
      figure: `Time to first event: \`POST /tasks\` → its \`init\` over SSE (${TASKS} tasks)`,
      measured: `p50 ${ms(p50)} · p99 ${ms(p99)} (202 answered: p50 ${ms(quantile(answered, 0.5))})`,
      reference: `\`GET /health\`, same Worker: p50 ${ms(quantile(floor, 0.5))} · p99 ${ms(quantile(floor, 0.99))}`,
      ratio: "",
      budget: firstEventBudget(p50, p99),
    },
  ];
}
