/**
 * The Worker under test: the real entry point, the real Task and TaskIndex
 * Durable Objects, Miniflare's real R2, and a scripted stand-in for the
 * Sandbox Durable Object (the container boundary is the only stand-in). Tests
 * script what the next sandboxes do and read back what happened; the stand-in
 * runs in the same isolate as the tests, so both see this module's state.
 */
import worker, { Task as RealTask, TaskIndex as RealTaskIndex } from "../../worker/src/index.js";
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import type { WorkerEnv } from "../../worker/src/env.js";
import { StubSandbox, type StubProcessOptions } from "../../worker/dev/stub-sandbox.js";
import { DEFAULT_DIRECTIVES, type StubRun, stubRun } from "../../worker/dev/stub-script.js";
import { PROMPT_ENV_VAR } from "../../worker/src/tasks/claude-command.js";
import { stepOf } from "../../worker/dev/stub-repository.js";
import type { GitAccessGrant } from "../../worker/src/egress/git-credentials.js";
import type { StepName } from "../../worker/src/repositories/script.js";

export default worker;
export { BranchQueue } from "../../worker/src/index.js";

/** Faults injected into the real R2 bucket as the task objects see it, and where their GitHub API is. */
export const storageScript = {
  /** The next this-many `put`s of the task objects fail like an R2 outage. */
  failPuts: 0,
  /** GITHUB_API_URL of the task objects (the local receiver's `/github`, set by the tests that need it). */
  githubApiUrl: undefined as string | undefined,
  /** The next this-many status documents sent to the task index fail as an unreachable object would. */
  failIndexRecords: 0,
};

/** What the Task objects did, for the tests. */
export const taskEvents = {
  /** Durable Object ids (hex) of the Task objects whose alarm fired, once per alarm. */
  alarms: [] as string[],
  /** Every status document recorded in the task index, in order. */
  indexed: [] as TaskStatusDocument[],
  /** Calls of `events()` on the Task objects: each one reads the object's storage. */
  eventReads: 0,
};

/** The real task index, with what it is told recorded, and refusals when `storageScript.failIndexRecords` says so. */
export class TaskIndex extends RealTaskIndex {
  override async record(document: TaskStatusDocument, takeUnknown?: boolean): Promise<boolean> {
    if (storageScript.failIndexRecords > 0) {
      storageScript.failIndexRecords--;
      throw new Error("Durable Object reset because its code was updated.");
    }
    taskEvents.indexed.push(document);
    return super.record(document, takeUnknown);
  }
}

/** The real Task object, with R2 writes that fail while `storageScript.failPuts` says so, and its alarms counted. */
export class Task extends RealTask {
  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    const bucket = env.RESULTS;
    const RESULTS = new Proxy(bucket, {
      get(target, property) {
        if (property === "put" && storageScript.failPuts > 0) {
          return async () => {
            storageScript.failPuts--;
            throw new Error("We encountered an internal error. Please try again. (10001)");
          };
        }
        const value = Reflect.get(target, property) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    super(ctx, { ...env, RESULTS, ...(storageScript.githubApiUrl ? { GITHUB_API_URL: storageScript.githubApiUrl } : {}) });
  }

  override async alarm(): Promise<void> {
    taskEvents.alarms.push(this.ctx.id.toString());
    return super.alarm();
  }

  override async events(...args: Parameters<RealTask["events"]>): ReturnType<RealTask["events"]> {
    taskEvents.eventReads++;
    return super.events(...args);
  }
}

/** What the next sandboxes do. Reset before each test (see helpers.ts). */
export const sandboxScript = {
  /** Errors thrown by the next `startProcess` calls, one per call. */
  startErrors: [] as string[],
  /** How long each `startProcess` takes before it answers (a cold start). */
  startDelayMs: 0,
  /** Runs played by the next processes instead of the task's `@stub` run, one per process. */
  runs: [] as StubRun[],
  /** The container of the next process is lost after it printed this many log frames. */
  loseContainerAfterFrames: null as number | null,
  /** The next log stream ends after this many frames while the process keeps running (once). */
  endStreamAfterFrames: null as number | null,
  /** Results of the next repository steps, by step, instead of the stand-in's success (raw stdout). */
  stepOutputs: {} as Partial<Record<StepName, string>>,
  /** The first-deploy checks the next sandboxes fail (see worker/dev/stub-diagnostics.ts). */
  diagnosticsFail: [] as string[],
  /** How long the next command of each kind takes before it runs: a repository step, or the empty command (`probe`) that takes a container. */
  execDelaysMs: {} as Partial<Record<"probe" | StepName, number>>,
  destroy: "ok" as "ok" | "throw" | "hang",
  /** Whether processes end at their `timeout(1)` wrapper's time (exit 124), as in a container; false plays a container that no longer answers. */
  wrapperTimeout: true,
};

export interface RecordedStart {
  sandboxId: string;
  /** The task id the sandbox was opened for (its name). */
  taskId: string | undefined;
  command: string;
  env: Record<string, string | undefined>;
}

/** What the stand-in saw. */
export const sandboxEvents = {
  starts: [] as RecordedStart[],
  /** Process ids killed. */
  kills: [] as string[],
  /** Durable Object ids (hex) of destroyed sandboxes. */
  destroyed: [] as string[],
  /** Log streams opened. */
  streams: 0,
  /** Repository steps run, with their environment. */
  steps: [] as { sandboxId: string; step: string; env: Record<string, string | undefined> }[],
  /** Files written into containers. */
  written: [] as { sandboxId: string; path: string; bytes: number }[],
  /** Git door grants. */
  grants: [] as { sandboxId: string; grant: unknown }[],
  /** `cwd` of each started process. */
  cwds: [] as (string | undefined)[],
  /** What happened to each sandbox, in order: `grant:<push branch or read>`, `step:<name>`, `claude` (a started process). */
  timeline: [] as { sandboxId: string; what: string }[],
};

export function resetSandboxScript(): void {
  storageScript.failPuts = 0;
  storageScript.githubApiUrl = undefined;
  storageScript.failIndexRecords = 0;
  sandboxScript.startErrors = [];
  sandboxScript.startDelayMs = 0;
  taskEvents.alarms = [];
  taskEvents.indexed = [];
  taskEvents.eventReads = 0;
  sandboxScript.runs = [];
  sandboxScript.loseContainerAfterFrames = null;
  sandboxScript.endStreamAfterFrames = null;
  sandboxScript.destroy = "ok";
  sandboxScript.wrapperTimeout = true;
  sandboxEvents.starts = [];
  sandboxEvents.kills = [];
  sandboxEvents.destroyed = [];
  sandboxEvents.streams = 0;
  sandboxEvents.steps = [];
  sandboxEvents.written = [];
  sandboxEvents.grants = [];
  sandboxEvents.cwds = [];
  sandboxEvents.timeline = [];
  sandboxScript.stepOutputs = {};
  sandboxScript.execDelaysMs = {};
  sandboxScript.diagnosticsFail = [];
}

/** Cuts a stream after `frames` chunks: with an error (a lost container) or a clean end. */
function cut(stream: ReadableStream<Uint8Array>, frames: number, how: "error" | "end", onCut: () => void): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (seen >= frames) {
        onCut();
        await reader.cancel();
        if (how === "error") controller.error(new Error("Network connection lost."));
        else controller.close();
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else {
        seen++;
        controller.enqueue(value);
      }
    },
    cancel: () => reader.cancel(),
  });
}

export class Sandbox extends StubSandbox {
  #lost = false;
  #name: string | undefined;

  override async configure(configuration: unknown): Promise<void> {
    this.#name = (configuration as { sandboxName?: { name?: string } }).sandboxName?.name ?? this.#name;
  }

  protected override timeoutFor(command: string): number | null {
    return sandboxScript.wrapperTimeout ? super.timeoutFor(command) : null;
  }

  protected override runFor(task: string): StubRun {
    // Tests run without the pauses of dev:stub unless the task asks for them.
    return sandboxScript.runs.shift() ?? stubRun(task, crypto.randomUUID(), { ...DEFAULT_DIRECTIVES, delayMs: 0 });
  }

  override async startProcess(command: string, options?: StubProcessOptions & { cwd?: string }) {
    sandboxEvents.starts.push({ sandboxId: this.ctx.id.toString(), taskId: this.#name, command, env: { ...options?.env } });
    sandboxEvents.timeline.push({ sandboxId: this.ctx.id.toString(), what: "claude" });
    sandboxEvents.cwds.push(options?.cwd);
    if (sandboxScript.startDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, sandboxScript.startDelayMs));
    const error = sandboxScript.startErrors.shift();
    if (error !== undefined) throw new Error(error);
    this.#lost = false;
    return super.startProcess(command, options);
  }

  override async streamProcessLogs(processId: string): Promise<ReadableStream<Uint8Array>> {
    if (this.#lost) throw new Error("Network connection lost.");
    sandboxEvents.streams++;
    const stream = await super.streamProcessLogs(processId);
    const lose = sandboxScript.loseContainerAfterFrames;
    if (lose !== null) {
      sandboxScript.loseContainerAfterFrames = null;
      return cut(stream, lose, "error", () => {
        // The container is gone: its processes with it.
        this.#lost = true;
        this.processes.clear();
      });
    }
    const end = sandboxScript.endStreamAfterFrames;
    if (end !== null) {
      sandboxScript.endStreamAfterFrames = null;
      return cut(stream, end, "end", () => undefined);
    }
    return stream;
  }

  override async exec(command: string, options?: StubProcessOptions) {
    const step = stepOf(command);
    const startError = sandboxScript.startErrors.shift();
    if (startError !== undefined) throw new Error(startError);
    if (step !== null) {
      sandboxEvents.steps.push({ sandboxId: this.ctx.id.toString(), step, env: { ...options?.env } });
      sandboxEvents.timeline.push({ sandboxId: this.ctx.id.toString(), what: `step:${step}` });
    }
    const kind = step ?? (command === "true" ? "probe" : null);
    const delay = kind === null ? undefined : sandboxScript.execDelaysMs[kind];
    if (kind !== null && delay !== undefined) {
      delete sandboxScript.execDelaysMs[kind];
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    if (step !== null) {
      const scripted = sandboxScript.stepOutputs[step];
      if (scripted !== undefined) {
        delete sandboxScript.stepOutputs[step];
        return { exitCode: 1, stdout: scripted, stderr: "" };
      }
    }
    return super.exec(command, options);
  }

  override async writeFile(path: string, content: ReadableStream<Uint8Array>, options?: unknown): Promise<void> {
    const bytes = new Uint8Array(await new Response(content).arrayBuffer());
    sandboxEvents.written.push({ sandboxId: this.ctx.id.toString(), path, bytes: bytes.byteLength });
    return super.writeFile(path, new Response(bytes).body!, options);
  }

  override async grantRepository(grant: GitAccessGrant): Promise<void> {
    sandboxEvents.grants.push({ sandboxId: this.ctx.id.toString(), grant });
    sandboxEvents.timeline.push({ sandboxId: this.ctx.id.toString(), what: `grant:${grant.pushBranch ?? "read"}` });
    return super.grantRepository(grant);
  }

  protected override diagnosticsToFail(): string[] {
    return sandboxScript.diagnosticsFail;
  }

  override async getProcess(processId: string) {
    if (this.#lost) return null;
    return super.getProcess(processId);
  }

  override async killProcess(processId: string): Promise<void> {
    sandboxEvents.kills.push(processId);
    return super.killProcess(processId);
  }

  override async destroy(): Promise<void> {
    sandboxEvents.destroyed.push(this.ctx.id.toString());
    await super.destroy();
    if (sandboxScript.destroy === "throw") throw new Error("destroy failed: control plane unreachable");
    if (sandboxScript.destroy === "hang") await new Promise(() => undefined);
  }
}

/** The task text a recorded start carried. */
export function taskOf(start: RecordedStart): string | undefined {
  return start.env[PROMPT_ENV_VAR];
}
