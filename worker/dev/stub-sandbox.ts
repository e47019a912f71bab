/**
 * A stand-in for the Sandbox Durable Object that starts no container, for
 * `npm run dev:stub` and the Worker tests. It plays Claude Code's stream-json
 * output for each task (stub-script.ts) as a background process, with the
 * methods the task object uses (sandbox/control.ts) and the container's log
 * stream format (Server-Sent Events with `stdout`, `stderr` and `exit` frames,
 * earlier output replayed first). Like the container, it ends a process at the
 * time its `timeout(1)` wrapper gives (exit 124), and it names on its stderr
 * (dev:stub's output) every `@stub` directive it could not take as written.
 * Clients and the CLI can follow a live task with no Docker and no Claude credential.
 * It is never part of the deployed bundle (the deployed entry is src/index.ts).
 */
import { DurableObject } from "cloudflare:workers";
import type { GitAccessGrant } from "../src/egress/git-credentials.js";
import type { ExecOutcome, SandboxProcessInfo } from "../src/sandbox/control.js";
import { PROMPT_ENV_VAR } from "../src/tasks/claude-command.js";
import type { WorkerEnv } from "../src/env.js";
import { failingChecks, stubDiagnosticAnswer } from "./stub-diagnostics.js";
import { runStubStep, stepOf } from "./stub-repository.js";
import { problemLine, type StubRun, stubRun, wrapperTimeoutMs } from "./stub-script.js";

/** The process options the task object sends (a subset of the SDK's ProcessOptions). */
export interface StubProcessOptions {
  env?: Record<string, string | undefined>;
  sessionId?: string;
}

const encoder = new TextEncoder();

/** What `timeout(1)` exits with when it stopped the command at its timeout. */
const TIMEOUT_EXIT_CODE = 124;

/** 64 KiB of filler lines: what `@stub bytes=N` prints, chunk by chunk. */
const FILLER_CHUNK = `${"x".repeat(1023)}\n`.repeat(64);

function frame(payload: Record<string, unknown>): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify({ ...payload, timestamp: new Date().toISOString() })}\n\n`);
}

interface Listener {
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** Resolves when the reader wants more. */
  demand(): Promise<void>;
}

/** One played run: it goes on whether or not anyone reads its logs, as a real process does. */
export class StubProcess {
  readonly id = crypto.randomUUID();
  status: SandboxProcessInfo["status"] = "running";
  exitCode: number | null = null;
  /** What a new log stream replays (filler excluded, to keep the stand-in small). */
  #stdout = "";
  #stderr = "";
  #listeners = new Set<Listener>();
  #timeout: ReturnType<typeof setTimeout> | null = null;

  /** `timeoutMs`: when the command's `timeout(1)` wrapper ends it (null: never). */
  constructor(
    readonly command: string,
    run: StubRun,
    timeoutMs: number | null,
  ) {
    if (timeoutMs !== null) this.#timeout = setTimeout(() => this.end("completed", TIMEOUT_EXIT_CODE), timeoutMs);
    void this.#play(run);
  }

  get ended(): boolean {
    return this.status !== "running";
  }

  async #play(run: StubRun): Promise<void> {
    for (const step of run.steps) {
      if (step.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
      if (this.ended) return;
      if (step.kind === "stdout") {
        this.#stdout += step.text;
        this.#emit({ type: "stdout", data: step.text });
      } else if (step.kind === "stderr") {
        this.#stderr += step.text;
        this.#emit({ type: "stderr", data: step.text });
      } else {
        // Filler is not kept for replay, so it waits for a reader, as a full pipe would.
        while (this.#listeners.size === 0 && !this.ended) await new Promise((resolve) => setTimeout(resolve, 10));
        for (let sent = 0; sent < step.bytes && !this.ended; sent += FILLER_CHUNK.length) {
          const rest = step.bytes - sent;
          // The last chunk still ends its line, so the next message starts on a line of its own.
          const chunk = rest >= FILLER_CHUNK.length ? FILLER_CHUNK : `${FILLER_CHUNK.slice(0, rest - 1)}\n`;
          await Promise.all([...this.#listeners].map((listener) => (listener.controller.desiredSize ?? 1) > 0 || listener.demand()));
          this.#emit({ type: "stdout", data: chunk });
        }
      }
    }
    if (run.exitCode !== null && !this.ended) this.end("completed", run.exitCode);
  }

  /** Ends the process: `completed` with an exit code, or `killed`. */
  end(status: "completed" | "killed", exitCode: number | null): void {
    if (this.ended) return;
    clearTimeout(this.#timeout);
    this.status = status;
    this.exitCode = exitCode;
    this.#emit({ type: "exit", exitCode, data: `Process ${status} with exit code ${exitCode}` });
    for (const listener of this.#listeners) listener.controller.close();
    this.#listeners.clear();
  }

  #emit(payload: Record<string, unknown>): void {
    const bytes = frame({ ...payload, processId: this.id });
    for (const listener of this.#listeners) {
      try {
        listener.controller.enqueue(bytes);
      } catch {
        this.#listeners.delete(listener);
      }
    }
  }

  /** The log stream: `process_info`, the output so far, then live frames until `exit`. */
  logs(): ReadableStream<Uint8Array> {
    let listener: Listener | undefined;
    let wake: (() => void) | undefined;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          controller.enqueue(frame({ type: "process_info", processId: this.id, command: this.command, status: this.status }));
          if (this.#stdout) controller.enqueue(frame({ type: "stdout", data: this.#stdout, processId: this.id }));
          if (this.#stderr) controller.enqueue(frame({ type: "stderr", data: this.#stderr, processId: this.id }));
          if (this.ended) {
            controller.enqueue(frame({ type: "exit", exitCode: this.exitCode, processId: this.id }));
            controller.close();
            return;
          }
          listener = { controller, demand: () => new Promise<void>((resolve) => (wake = resolve)) };
          this.#listeners.add(listener);
        },
        pull: () => {
          wake?.();
        },
        cancel: () => {
          if (listener) this.#listeners.delete(listener);
          wake?.();
        },
      },
      { highWaterMark: 4 },
    );
  }
}

export class StubSandbox extends DurableObject {
  #processes = new Map<string, StubProcess>();
  /** The container's files the repository steps write and read. */
  #files = new Map<string, Uint8Array>();
  /** The git door grants, newest last. */
  protected grants: GitAccessGrant[] = [];

  /** Starts under way (`@stub start=MS`), each with what ends it when the container is destroyed first. */
  #starting = new Set<() => void>();

  /** Called by `getSandbox()` with the sandbox name and options. */
  async configure(_configuration: unknown): Promise<void> {}

  async startProcess(command: string, options?: StubProcessOptions & { cwd?: string }): Promise<{ id: string; command: string; status: string }> {
    const run = this.runFor(options?.env?.[PROMPT_ENV_VAR] ?? "");
    for (const problem of run.problems ?? []) console.error(problemLine(problem).trimEnd());
    if (run.startMs) await this.#coldStart(run.startMs);
    const process = new StubProcess(command, run, this.timeoutFor(command));
    this.#processes.set(process.id, process);
    return { id: process.id, command, status: process.status };
  }

  /** Waits `ms` as a container's cold start does; a destroy meanwhile fails the start. */
  #coldStart(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const destroyed = () => {
        clearTimeout(timer);
        reject(new Error("The container was destroyed before it started"));
      };
      const timer = setTimeout(() => {
        this.#starting.delete(destroyed);
        resolve();
      }, ms);
      this.#starting.add(destroyed);
    });
  }

  /**
   * Runs a repository step (see stub-repository.ts) or a first-deploy check
   * (stub-diagnostics.ts); any other command prints nothing and succeeds. With
   * `container_start` in `STUB_DIAGNOSTICS_FAIL`, no container can be had.
   */
  async exec(command: string, options?: StubProcessOptions): Promise<ExecOutcome> {
    const failing = this.diagnosticsToFail();
    if (command === "true" && failing.includes("container_start")) throw new Error("There is no Container instance available at this time.");
    const check = await stubDiagnosticAnswer(command, options?.env ?? {}, this.env as WorkerEnv, failing);
    if (check !== null) return check;
    const step = stepOf(command);
    return step === null ? { exitCode: 0, stdout: "", stderr: "" } : runStubStep(step, options?.env ?? {}, this.#files);
  }

  /** What `getSandbox(..., { enableDefaultSession: false })` calls for `exec`. */
  async execWithSessionToken(command: string, _sessionToken: string, options?: StubProcessOptions): Promise<ExecOutcome> {
    return this.exec(command, options);
  }

  async writeFile(path: string, content: ReadableStream<Uint8Array>, _options?: unknown): Promise<void> {
    this.#files.set(path, new Uint8Array(await new Response(content).arrayBuffer()));
  }

  /** The file as the SDK streams it: Server-Sent Events with metadata, one base64 chunk, and completion. */
  async readFileStream(path: string, _options?: unknown): Promise<ReadableStream<Uint8Array>> {
    const bytes = this.#files.get(path);
    const event = (value: Record<string, unknown>) => `data: ${JSON.stringify(value)}\n\n`;
    const text = bytes
      ? event({ type: "metadata", mimeType: "application/octet-stream", size: bytes.byteLength, isBinary: true, encoding: "base64" }) +
        event({ type: "chunk", data: btoa(String.fromCharCode(...bytes)) }) +
        event({ type: "complete", bytesRead: bytes.byteLength })
      : event({ type: "error", error: `File not found: ${path}` });
    return new Response(text).body!;
  }

  async grantRepository(grant: GitAccessGrant): Promise<void> {
    this.grants.push(grant);
  }

  async streamProcessLogs(processId: string): Promise<ReadableStream<Uint8Array>> {
    const process = this.#processes.get(processId);
    if (!process) throw new Error(`Process not found: ${processId}`);
    return process.logs();
  }

  async getProcess(processId: string, _sessionId?: string): Promise<SandboxProcessInfo | null> {
    const process = this.#processes.get(processId);
    return process ? { status: process.status, exitCode: process.exitCode } : null;
  }

  async killProcess(processId: string): Promise<void> {
    this.#processes.get(processId)?.end("killed", null);
  }

  /** Ends the starts under way, stops every process and forgets them and the files, as destroying the container does. */
  async destroy(): Promise<void> {
    for (const destroyed of this.#starting) destroyed();
    this.#starting.clear();
    for (const process of this.#processes.values()) process.end("killed", null);
    this.#processes.clear();
    this.#files.clear();
  }

  /** The first-deploy checks this stand-in fails (`STUB_DIAGNOSTICS_FAIL`; the test harness scripts its own). */
  protected diagnosticsToFail(): string[] {
    return failingChecks(this.env as { STUB_DIAGNOSTICS_FAIL?: string });
  }

  /** When the container would end a process that runs `command` (the test harness can play one that never answers). */
  protected timeoutFor(command: string): number | null {
    return wrapperTimeoutMs(command);
  }

  /** What the process of `task` prints (the test harness plays other runs). */
  protected runFor(task: string): StubRun {
    return stubRun(task, crypto.randomUUID());
  }

  /** The processes of this sandbox, for the test harness. */
  protected get processes(): Map<string, StubProcess> {
    return this.#processes;
  }
}
