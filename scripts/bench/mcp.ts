/**
 * An MCP tool call against the same call over plain HTTP: `get_task` as one
 * `POST /mcp` (what a connected client sends: the server is stateless, so each
 * call is a fresh server answering one JSON-RPC request over SSE, whose tool
 * then calls the API in-process) and `GET /tasks/:id`, for the same finished
 * task, one client at a time, in alternating samples.
 */
import type { DevServer } from "./dev-server.js";
import { type Figure, ms, num } from "./figures.js";
import { type LoadOptions, quantile, runLoad } from "./load.js";
import { followEvents, submitTask } from "./streaming.js";
import { BENCH_TOKEN } from "./workers.js";

/** Length of a measured sample, samples per side, and the unmeasured warm-up before them. */
const SAMPLE_MS = 2_000;
const ROUNDS = 3;
const WARMUP_MS = 1_000;

const AUTH = { Authorization: `Bearer ${BENCH_TOKEN}` };

/** The JSON-RPC request of a `get_task` call. */
function getTaskCall(taskId: string): string {
  return JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get_task", arguments: { taskId } } });
}

/** Checks that the MCP call answers with the task's status document, so that the timing is of a real answer. */
async function checkAnswer(server: DevServer, mcp: LoadOptions, taskId: string): Promise<void> {
  const response = await fetch(mcp.url, { method: "POST", headers: mcp.headers!, body: mcp.body! });
  const data = (await response.text()).split("\n").find((line) => line.startsWith("data: "));
  const message = data === undefined ? null : (JSON.parse(data.slice("data: ".length)) as { result?: { structuredContent?: { taskId?: string } } });
  if (message?.result?.structuredContent?.taskId !== taskId) throw new Error(`POST /mcp get_task on ${server.name} answered ${response.status} without the task's status document`);
}

/** Measures `get_task` over MCP against `GET /tasks/:id` (p50 and p99 at 1 client). */
export async function measureMcp(server: DevServer): Promise<Figure[]> {
  const taskId = await submitTask(server, "@stub events=0");
  await followEvents(server, taskId);
  const http: LoadOptions = { url: `${server.url}/tasks/${taskId}`, method: "GET", headers: AUTH, concurrency: 1, durationMs: SAMPLE_MS, expectStatus: 200 };
  const mcp: LoadOptions = {
    url: `${server.url}/mcp`,
    method: "POST",
    headers: { ...AUTH, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: getTaskCall(taskId),
    concurrency: 1,
    durationMs: SAMPLE_MS,
    expectStatus: 200,
  };
  await checkAnswer(server, mcp, taskId);
  await runLoad({ ...mcp, durationMs: WARMUP_MS });
  await runLoad({ ...http, durationMs: WARMUP_MS });

  const latencies = { mcp: [] as number[], http: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    // The order flips each round, so drifting load falls on both alike.
    for (const side of round % 2 === 0 ? (["mcp", "http"] as const) : (["http", "mcp"] as const)) {
      const sample = await runLoad(side === "mcp" ? mcp : http);
      if (sample.errors > 0) throw new Error(`${side === "mcp" ? "POST /mcp get_task" : "GET /tasks/:id"} failed ${sample.errors} times: ${JSON.stringify(sample.statuses)}`);
      latencies[side].push(...sample.latencies);
    }
  }
  for (const values of Object.values(latencies)) values.sort((a, b) => a - b);
  const describe = (values: number[]) => `p50 ${ms(quantile(values, 0.5))} · p99 ${ms(quantile(values, 0.99))} (${values.length} calls)`;
  return [
    {
      figure: "MCP get_task (POST /mcp) against GET /tasks/:id, 1 client",
      measured: describe(latencies.mcp),
      reference: describe(latencies.http),
      ratio: `${num(quantile(latencies.mcp, 0.5) / quantile(latencies.http, 0.5))}× at p50`,
    },
  ];
}
