/**
 * A small closed-loop load generator: `concurrency` clients, each sending its
 * next request as soon as the previous answer has been read in full, over
 * kept-alive connections, for a fixed time. Node's own `http` client keeps the
 * generator's CPU cost low next to the runtime it measures.
 */
import { Agent, request as httpRequest } from "node:http";

export interface LoadOptions {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  concurrency: number;
  durationMs: number;
  /** The status every answer must have; others count as errors. */
  expectStatus: number;
}

export interface LoadResult {
  /** Answers with the expected status. */
  requests: number;
  /** Answers with another status, or failed requests. */
  errors: number;
  /** Statuses seen, for error messages. */
  statuses: Record<string, number>;
  /** Latency of each expected answer, in ms, sorted. */
  latencies: number[];
  /** The `Location` header of each answer that had one (a created task's), in no particular order. */
  locations: string[];
}

/** The `q` quantile of sorted `values` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

function send(agent: Agent, options: LoadOptions, url: URL): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: options.method ?? "GET",
        headers: {
          ...options.headers,
          ...(options.body === undefined ? {} : { "Content-Length": String(Buffer.byteLength(options.body)) }),
        },
      },
      (response) => {
        response.on("data", () => undefined);
        response.on("end", () => resolve({ status: response.statusCode ?? 0, location: response.headers.location }));
        response.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

/** Runs the load; counts the answers and measures the latency of the expected ones. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const locations: string[] = [];
  let errors = 0;
  const until = performance.now() + options.durationMs;
  const client = async () => {
    while (performance.now() < until) {
      const sent = performance.now();
      let status: number;
      try {
        const answer = await send(agent, options, url);
        status = answer.status;
        if (answer.location !== undefined) locations.push(answer.location);
      } catch {
        errors += 1;
        statuses.network = (statuses.network ?? 0) + 1;
        continue;
      }
      statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
      if (status === options.expectStatus) latencies.push(performance.now() - sent);
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, statuses, latencies, locations };
}
