/**
 * Where a submission's runtime CPU goes. While tasks are submitted one after
 * another, it reads the CPU time of each process of the local runtime (wrangler
 * and its proxy, which a deployment does not have, and the workerd that runs
 * the Worker, its Durable Objects and the local R2) and records a V8 CPU
 * profile of the Worker's isolate through wrangler's inspector. Each sample of
 * the profile is put to the object whose code the runtime entered (the fetch
 * handler, or a Durable Object's method or alarm), read through the bundle's
 * source map; time under our R2 calls is R2's, the R2 service's own work runs
 * in workerd outside the isolate.
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { cpuTicks, type DevServer, waitUntilIdle } from "./dev-server.js";
import { type Figure, ms } from "./figures.js";
import { type LoadOptions, type LoadResult, runLoad } from "./load.js";

/** Where a sample's time goes: the first of these whose sources match a frame of its stack, from the outermost. */
const OBJECTS: readonly { object: string; sources: RegExp }[] = [
  { object: "task index", sources: /^worker\/src\/tasks\/task-(index|listing)\.ts$/ },
  { object: "stand-in sandbox", sources: /^worker\/dev\/stub-(sandbox|script|repository)\.ts$/ },
  { object: "Task object", sources: /^worker\/src\/(tasks|storage|events|sandbox|webhooks|repositories)\// },
  { object: "Worker", sources: /^worker\/(src\/(http\/|index\.ts)|dev\/stub-entry\.ts)/ },
];
/** A frame in our R2 calls puts the sample to R2, whichever object made the call. */
const R2_SOURCES = /^worker\/src\/storage\/results\.ts$/;

/** A node of a V8 CPU profile (Chrome DevTools protocol `Profiler.Profile`). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Shares of the isolate's busy time by where it goes, in the order of OBJECTS, then R2 and the runtime (GC, native code, no frame of ours). */
export function attribute(profile: CpuProfile, bundleUrl: string, map: Pick<SourceMap, "findEntry">): Map<string, number> {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const sourceOf = (node: ProfileNode): string | null => {
    const { url, lineNumber, columnNumber } = node.callFrame;
    if (url !== bundleUrl || lineNumber < 0) return null;
    const entry = map.findEntry(lineNumber, columnNumber);
    return "originalSource" in entry ? entry.originalSource.replace(/^(\.\.\/)+/, "") : null;
  };
  const labels = new Map<number, string | null>();
  const labelOf = (id: number): string | null => {
    if (labels.has(id)) return labels.get(id)!;
    const stack: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const source = sourceOf(nodes.get(at)!);
      if (source !== null) stack.unshift(source);
    }
    const name = nodes.get(id)!.callFrame.functionName;
    const label =
      name === "(idle)" || name === "(root)"
        ? null
        : stack.some((source) => R2_SOURCES.test(source))
          ? "R2 calls"
          : (stack.map((source) => OBJECTS.find((entry) => entry.sources.test(source))?.object).find((object) => object !== undefined) ?? "runtime");
    labels.set(id, label);
    return label;
  };
  const time = new Map<string, number>([...OBJECTS.map(({ object }) => [object, 0] as const), ["R2 calls", 0], ["runtime", 0]]);
  profile.samples.forEach((id, index) => {
    const label = labelOf(id);
    if (label !== null) time.set(label, time.get(label)! + (profile.timeDeltas[index] ?? 0));
  });
  const busy = [...time.values()].reduce((sum, value) => sum + value, 0);
  return new Map([...time].map(([label, value]) => [label, busy === 0 ? 0 : value / busy]));
}

/** A small client of the Chrome DevTools protocol over the inspector's WebSocket. */
async function inspector(server: DevServer): Promise<{ send(method: string, params?: object): Promise<unknown>; close(): void }> {
  const targets = (await (await fetch(`${server.inspectorUrl}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  if (!targets[0]) throw new Error("wrangler's inspector lists no Worker");
  // The inspector takes only local origins.
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl, { headers: { Origin: "http://127.0.0.1" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error("could not connect to wrangler's inspector"));
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  socket.onmessage = (message) => {
    const reply = JSON.parse(String(message.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = reply.id === undefined ? undefined : pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id!);
    if (reply.error) waiter.reject(new Error(`inspector: ${reply.error.message}`));
    else waiter.resolve(reply.result);
  };
  let next = 0;
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        next += 1;
        pending.set(next, { resolve, reject });
        socket.send(JSON.stringify({ id: next, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** The runtime's CPU by process, in clock ticks: wrangler's (node, and its proxy's workerd) and the Worker's workerd (the one with the inspector). */
function processTicks(server: DevServer): { worker: number; proxy: number } {
  let worker = 0;
  let proxy = 0;
  for (const pid of server.processIds()) {
    let command = "";
    try {
      command = readCommand(pid);
    } catch {
      continue;
    }
    if (command.includes("workerd") && command.includes("--inspector-addr")) worker += cpuTicks([pid]);
    else proxy += cpuTicks([pid]);
  }
  return { worker, proxy };
}

function readCommand(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
}

/** Clock ticks per second of /proc/<pid>/stat. */
const TICKS_PER_SECOND = 100;
const SAMPLE_MS = 4_000;

/** A kind of request the overhead measures and this profiles. */
export interface Submission {
  name: string;
  load: Pick<LoadOptions, "method" | "headers" | "body" | "expectStatus"> & { path: string };
  /** Undoes what the load left behind, after the measurement. */
  cleanUp?: (server: DevServer, result: LoadResult) => Promise<void>;
}

/**
 * Measures `submission` at 1 client twice: first its runtime CPU per request
 * by process, then, with the profiler on (which slows the isolate), how the
 * Worker's isolate spends its time by object.
 */
export async function profileSubmission(server: DevServer, submission: Submission): Promise<Figure> {
  const { path, ...load } = submission.load;
  const sample = async (durationMs: number, during?: () => Promise<void>): Promise<LoadResult> => {
    const result = await runLoad({ ...load, url: `${server.url}${path}`, concurrency: 1, durationMs });
    await waitUntilIdle([server]);
    await during?.();
    await submission.cleanUp?.(server, result);
    await waitUntilIdle([server]);
    return result;
  };
  await sample(1_000);
  const before = processTicks(server);
  let after = before;
  const measured = await sample(SAMPLE_MS, async () => {
    after = processTicks(server);
  });
  const perRequest = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND / (measured.requests + measured.errors);
  const worker = perRequest(after.worker - before.worker);
  const proxy = perRequest(after.proxy - before.proxy);

  const client = await inspector(server);
  let profile: CpuProfile;
  try {
    await client.send("Profiler.enable");
    await client.send("Profiler.setSamplingInterval", { interval: 250 });
    await client.send("Profiler.start");
    let stopped: { profile: CpuProfile } | undefined;
    await sample(SAMPLE_MS, async () => {
      stopped = (await client.send("Profiler.stop")) as { profile: CpuProfile };
    });
    profile = stopped!.profile;
  } finally {
    client.close();
  }
  const bundleUrl = profile.nodes.map((node) => node.callFrame.url).find((url) => url.endsWith("worker.js")) ?? "";
  const shares = attribute(profile, bundleUrl, new SourceMap(JSON.parse(server.sourceMap) as ConstructorParameters<typeof SourceMap>[0]));
  const split = [...shares].map(([label, share]) => `${label} ${Math.round(share * 100)}%`).join(" · ");
  return {
    figure: `Where the runtime CPU of ${submission.name} goes (1 client)`,
    measured: `${ms(worker + proxy)}/req: the Worker's workerd ${ms(worker)}, wrangler and its proxy ${ms(proxy)}`,
    reference: `the Worker's isolate, by V8 profile: ${split}`,
    ratio: "",
  };
}
