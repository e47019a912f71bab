/**
 * The Task Durable Object: one instance per task id owns the task from
 * acceptance to its stored result, whoever is connected. It asks the task's
 * sandbox for a container (retrying while none is free), starts Claude Code as
 * a background process, reads its stream-json output as it comes, persists the
 * task's state and events as they happen, and ends the task exactly once. Its
 * alarm fires at least every 30 s while the task runs and at each deadline, so
 * the task ends within timeout + grace (+ queue timeout) even when the Worker is
 * redeployed, the object is evicted or the container dies. At the end it
 * destroys the container, writes the result and events to R2, delivers the
 * webhook, and clears its storage.
 *
 * Decisions are pure functions (lifecycle.ts, events/, webhooks/); this class
 * applies them. State lives in the object's SQLite storage: the task record
 * under one key, events in a table.
 */
import { DurableObject } from "cloudflare:workers";
import {
  type CallbackState,
  LIMITS,
  TASK_INDEX_NAME,
  type TaskError,
  type TaskResult,
  type TaskStatus,
  type RepositoryDocument,
  type TaskStatusDocument,
  type TerminalStatus,
} from "../contract.js";
import type { WorkerEnv } from "../env.js";
import { deploymentSecrets } from "../secrets.js";
import { LineSplitter } from "../events/lines.js";
import { ProcessLogParser } from "../events/process-log.js";
import { type ClaudeResultMessage, type EventDraft, parseStreamJsonLine } from "../events/stream-json.js";
import { claudeCredential } from "../egress/outbound.js";
import { redactSecrets } from "../redaction.js";
import { isSandboxUnavailable, openTaskSandbox, type TaskSandbox } from "../sandbox/control.js";
import { type EventPages, storeEvents, storeResult } from "../storage/results.js";
import { attemptWebhook, nextWebhookAttemptAt, webhookBody } from "../webhooks/delivery.js";
import { webhookKey } from "../webhooks/signature.js";
import type { TaskRequest } from "../http/validation.js";
import { branchHoldMs, branchQueueName } from "../repositories/branch-queue.js";
import { REPOSITORY_PATHS } from "../repositories/script.js";
import { sessionArguments } from "../repositories/workspace.js";
import { buildClaudeInvocation } from "./claude-command.js";
import {
  isTerminal,
  type LifecycleTrigger,
  nextAlarmAt,
  queueBackoffMs,
  queueDeadline,
  runDeadline,
  runOutcome,
  type RunOutcome,
  type TaskClock,
  taskGraceMs,
  transition,
} from "./lifecycle.js";
import { finishRepository, initialRepositoryDocument, prepareRepository, type RepositoryPlan } from "./repository-run.js";
import { OutputTail } from "./output-tail.js";

/** Everything a task needs, fixed when it is accepted. */
export interface TaskSubmission {
  taskId: string;
  /** Epoch ms. */
  createdAt: number;
  request: TaskRequest;
  graceMs: number;
  queueTimeoutMs: number;
  maxOutputBytes: number;
  credentialMode: "proxy" | "env";
  /** What a repository task works on; null for a task without a repository. */
  repository: RepositoryPlan | null;
}

/** The persisted state of a task. */
interface TaskRecord {
  submission: TaskSubmission;
  status: TaskStatus;
  startedAt: number | null;
  finishedAt: number | null;
  error: TaskError | null;
  /** Failed requests for a container so far. */
  queueAttempts: number;
  /** Failed starts that were not about capacity. */
  startFailures: number;
  nextAttemptAt: number | null;
  processId: string | null;
  /** Streams that ended without the process's exit, in a row. */
  lostStreams: number;
  /** `uuid` of the last stream-json message turned into events: where a reattached stream resumes. */
  lastLineUuid: string | null;
  eventCount: number;
  exitCode: number | null;
  /** Claude Code's final `result` message, once seen. */
  final: ClaudeResultMessage | null;
  /** Whether the result and events are in R2. */
  archived: boolean;
  /** Whether the ended task's container was stopped and destroyed (or given up on). */
  containerReleased?: boolean;
  /** Failed attempts to store them. */
  storeFailures: number;
  /** Webhook delivery, when the task has a `callbackUrl`. */
  callback: (CallbackState & { nextAttemptAt: number | null }) | null;
  /** A repository task's part: where it is, and what it produced so far. */
  repository: {
    /** `prepare` (checkout or restore), `claude`, `finish` (commit, push, pull request, workspace). */
    phase: "waiting" | "prepare" | "claude" | "finish";
    /** Tasks ahead of it on the same repository and branch (0: it may run). */
    position: number;
    /** When it reached the head of its branch's queue (its queue timeout counts from then). */
    headAt: number | null;
    defaultBranch: string | null;
    /** Claude Code's outcome, kept while the finish step runs. */
    claudeOutcome: RunOutcome | null;
    document: RepositoryDocument;
    /** Whether the branch's queue was told this task ended. */
    released?: boolean;
  } | null;
}

/** `awaitResult`: the task's result once it is stored, or why not yet. */
export type ResultWait =
  | { state: "pending"; status: TaskStatus }
  /** Stored in R2; `result` is null when this object no longer holds it (read R2). */
  | { state: "stored"; result: TaskResult | null }
  /** The task ended but R2 refused the result: it is retried; here it is meanwhile. */
  | { state: "store_failed"; result: TaskResult };

/** A page of events as stored: each event is its JSON text, passed through to clients unparsed. */
export interface StoredEventsPage {
  /** The events' JSON, in `seq` order. */
  events: string[];
  /** The last `seq` returned (`after` when none). */
  next: number;
  /** Whether the page holds the `end` event. */
  done: boolean;
}

/** `start`: the task's first status document, or why it was not accepted. */
export type StartOutcome = TaskStatusDocument | { refused: "branch_queue_full" };

/** `cancel`: whether the task was cancelled now or had already ended. */
export type CancelOutcome = { outcome: "cancelled" | "finished"; document: TaskStatusDocument };

/** Longest wait for the container to be destroyed before the task is wrapped up anyway (at most the grace, at least 1 s). */
const DESTROY_TIMEOUT_MS = 15_000;
/** Waits before storing the result again after R2 refused it: 5 s, then every 30 s. */
const ARCHIVE_RETRY_MS = [5_000, 30_000] as const;
/** Wait before reattaching to a process whose log stream ended early. */
const REATTACH_DELAY_MS = 1_000;
/** Log streams that may end early in a row before the container counts as lost. */
const MAX_LOST_STREAMS = 5;
/** When the alarm asks for a container if the first request, made at once, was lost with this object. */
const FIRST_ATTEMPT_SAFETY_MS = 5_000;
/** How often a task waiting for its branch asks its queue again (it is also woken when its turn comes). */
const BRANCH_POLL_MS = 5_000;
/** Failed starts (other than capacity) before the task fails. */
const MAX_START_FAILURES = 3;
/**
 * How long one start of a container may take (a cold start takes up to about
 * two minutes): while it runs, the task's next attempt is leased this far
 * ahead, so the alarm sleeps instead of asking again, and asks again only if
 * the start was lost with this object.
 */
export const START_LEASE_MS = 120_000;
/** How long the empty command that takes a repository task's container may run once the container is up. */
const CONTAINER_PROBE_TIMEOUT_MS = 60_000;

const RECORD_KEY = "record";

/** The Durable Object of a task. */
export function taskObject(env: Pick<WorkerEnv, "TASKS">, taskId: string) {
  return env.TASKS.get(env.TASKS.idFromName(taskId));
}

/** The deployment's task index. */
export function taskIndex(env: Pick<WorkerEnv, "TASK_INDEX">) {
  return env.TASK_INDEX.get(env.TASK_INDEX.idFromName(TASK_INDEX_NAME));
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Whether the task ended and R2 refused its result (it is retried meanwhile). */
function storeFailed(record: TaskRecord): boolean {
  return isTerminal(record.status) && !record.archived && record.storeFailures > 0;
}

export class Task extends DurableObject<WorkerEnv> {
  /** The running log reader, when this instance has one. */
  #following: Promise<void> | null = null;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #acquiring = false;
  #finishing: Promise<void> | null = null;
  #wrappingUp: Promise<void> | null = null;
  #stdout: OutputTail | null = null;
  #stderr: OutputTail | null = null;
  /** The result, kept in memory for waiters once the storage is cleared. */
  #result: TaskResult | null = null;
  #waiters = new Set<() => void>();
  /** `/execute` waits only for the result, not for every event. */
  #resultWaiters = new Set<() => void>();
  #sandbox: TaskSandbox | null = null;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, json TEXT NOT NULL)");
  }

  // ---------------------------------------------------------------------------
  // RPC methods, called by the Worker's routes.
  // ---------------------------------------------------------------------------

  /**
   * Accepts a task (idempotent: a second call returns the task as it is).
   * Refused, with nothing stored, when its branch has as many tasks waiting as it takes.
   */
  async start(submission: TaskSubmission): Promise<StartOutcome> {
    const existing = this.#load();
    if (existing) return this.#document(existing);
    const record: TaskRecord = {
      submission,
      status: "queued",
      startedAt: null,
      finishedAt: null,
      error: null,
      queueAttempts: 0,
      startFailures: 0,
      nextAttemptAt: Date.now(),
      processId: null,
      lostStreams: 0,
      lastLineUuid: null,
      eventCount: 0,
      exitCode: null,
      final: null,
      archived: false,
      storeFailures: 0,
      callback: null,
      repository: submission.repository
        ? {
            phase: "waiting",
            position: 0,
            headAt: null,
            defaultBranch: null,
            claudeOutcome: null,
            document: initialRepositoryDocument(submission.repository, submission.taskId),
          }
        : null,
    };
    if (record.repository) {
      // One task at a time per repository and branch, in the order they were accepted.
      const queued = await this.#branchQueue(submission.repository!).enqueue(submission.taskId, this.#branchHoldMs(submission));
      if ("refused" in queued) return queued;
      record.repository.position = queued.position;
      if (record.repository.position === 0) record.repository.headAt = Date.now();
    }
    this.#append(record, { type: "status", data: { status: "queued" } });
    this.#save(record);
    // The first request for a container is made now; the alarm is the safety net if this object goes away meanwhile.
    await this.ctx.storage.setAlarm(Date.now() + FIRST_ATTEMPT_SAFETY_MS);
    await this.#index(record);
    this.ctx.waitUntil(this.#advance());
    return this.#document(record);
  }

  /** The status document, or null when this object holds no task (never accepted, or finished and cleared). */
  async status(): Promise<TaskStatusDocument | null> {
    const record = this.#load();
    return record ? this.#document(record) : null;
  }

  /**
   * Events after `after`, at most `limit`; when there are none yet and the
   * task has not ended, waits up to `waitMs` for the next one. Null when this
   * object holds no task.
   */
  async events(after: number, limit: number, waitMs: number): Promise<StoredEventsPage | null> {
    let record = this.#load();
    if (!record) return null;
    let rows = this.#readEvents(after, limit);
    if (rows.length === 0 && waitMs > 0 && record.eventCount <= after && !isTerminal(record.status)) {
      await this.#changed(waitMs);
      record = this.#load();
      if (!record) return null;
      rows = this.#readEvents(after, limit);
    }
    const last = rows.at(-1);
    return {
      events: rows.map((row) => row.json),
      next: last?.seq ?? after,
      done: last !== undefined && last.seq === record.eventCount && isTerminal(record.status),
    };
  }

  /** Waits up to `waitMs` for the task's result to be stored. Null when this object holds no task. */
  async awaitResult(waitMs: number): Promise<ResultWait | null> {
    if (this.#result) return { state: "stored", result: this.#result };
    let record = this.#load();
    if (!record) return null;
    if (!record.archived && !storeFailed(record)) {
      await this.#changed(waitMs, this.#resultWaiters);
      if (this.#result) return { state: "stored", result: this.#result };
      record = this.#load();
      if (!record) return null;
    }
    if (record.archived) return { state: "stored", result: this.#result };
    if (storeFailed(record)) return { state: "store_failed", result: this.#buildResult(record) };
    return { state: "pending", status: record.status };
  }

  /** Asks the task to look at its state now (the task ahead of it on its branch ended). */
  async wake(): Promise<void> {
    const record = this.#load();
    if (record?.status === "queued") this.ctx.waitUntil(this.#advance());
  }

  /** Cancels the task: Claude Code is stopped, the container destroyed, what it printed so far stored. */
  async cancel(): Promise<CancelOutcome | null> {
    const record = this.#load();
    if (!record) return null;
    if (isTerminal(record.status)) return { outcome: "finished", document: this.#document(record) };
    const ended = this.#apply(record, { kind: "cancel" });
    return { outcome: "cancelled", document: this.#document(ended ?? record) };
  }

  // ---------------------------------------------------------------------------
  // The alarm: queue retries, the watchdog, deadlines, archive and webhook retries.
  // ---------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    await this.#advance();
  }

  /** Does what the task's status calls for now, then sets the alarm for the next time. */
  async #advance(): Promise<void> {
    const record = this.#load();
    if (!record) return;
    try {
      await this.#step(record);
    } finally {
      const current = this.#load();
      if (current) await this.#schedule(current);
    }
  }

  async #step(record: TaskRecord): Promise<void> {
    const now = Date.now();
    switch (record.status) {
      case "queued": {
        if (record.repository && record.repository.position > 0 && !(await this.#reachedHead(record))) return;
        // Read again: waiting for the branch (or a cancel meanwhile) changed it.
        const current = this.#load();
        if (!current || current.status !== "queued") return;
        const deadline = queueDeadline(this.#clock(current));
        if (deadline !== null && Date.now() >= deadline) {
          this.#apply(current, { kind: "queue_timeout", queueTimeoutMs: current.submission.queueTimeoutMs });
        } else if ((current.nextAttemptAt ?? now) <= Date.now()) {
          await this.#acquire();
        }
        return;
      }
      case "running": {
        const deadline = runDeadline(this.#clock(record));
        if (deadline !== null && now >= deadline) {
          this.#apply(record, { kind: "deadline_passed", timeoutMs: record.submission.request.timeoutMs });
        } else if (record.repository?.phase === "finish") {
          this.#finishRepositoryPhase();
        } else if (record.repository?.phase !== "prepare") {
          this.#follow();
        }
        return;
      }
      default:
        // Terminal: finish what the end left undone (a refused R2 write, a webhook retry).
        this.#wrapUp();
        await this.#wrappingUp;
    }
  }

  // ---------------------------------------------------------------------------
  // Getting a container and starting Claude Code.
  // ---------------------------------------------------------------------------

  async #acquire(): Promise<void> {
    if (this.#acquiring) return;
    this.#acquiring = true;
    try {
      let record = this.#load();
      if (!record || record.status !== "queued") return;
      const credential = claudeCredential(this.env);
      if (!credential) {
        this.#endWith(record, "failed", { code: "platform_interrupted", message: "No Claude credential is configured" });
        return;
      }
      const { request } = record.submission;
      const invocation = buildClaudeInvocation({
        task: request.task,
        permissionMode: request.permissionMode,
        timeoutMs: request.timeoutMs,
        credential,
        credentialMode: record.submission.credentialMode,
        ...(request.model === undefined ? {} : { model: request.model }),
        ...(request.maxTurns === undefined ? {} : { maxTurns: request.maxTurns }),
        ...(request.maxBudgetUsd === undefined ? {} : { maxBudgetUsd: request.maxBudgetUsd }),
        ...(record.submission.repository
          ? { sessionArgs: sessionArguments({ taskId: record.submission.taskId, resumeSessionId: record.submission.repository.continuedFrom }) }
          : {}),
      });
      // The start may take a couple of minutes: the next attempt is leased meanwhile, so the alarm sleeps.
      record.nextAttemptAt = Date.now() + START_LEASE_MS;
      this.#save(record);
      await this.#schedule(record);
      const sandbox = this.#openSandbox(record);
      const plan = record.submission.repository;
      if (plan) {
        // A repository task takes its container with an empty command while still queued: without one,
        // it waits and asks again like any task, and its repository steps run in a container it has.
        try {
          await sandbox.exec("true", { env: {}, timeoutMs: CONTAINER_PROBE_TIMEOUT_MS });
        } catch (error) {
          this.#startFailed(error);
          return;
        }
        const queued = this.#load();
        const preparing =
          queued?.status === "queued"
            ? this.#apply(queued, { kind: "container_acquired" }, (next) => {
                next.startedAt = Date.now();
                next.nextAttemptAt = null;
                next.repository!.phase = "prepare";
              })
            : null;
        if (!preparing) {
          // Cancelled while the container started: it must not keep running.
          await this.#release(null);
          return;
        }
        await this.#index(preparing);
        let prepared: Awaited<ReturnType<typeof prepareRepository>>;
        try {
          prepared = await prepareRepository(sandbox, this.env.RESULTS, plan);
        } catch {
          const current = this.#load();
          if (current?.status === "running") this.#apply(current, { kind: "container_lost" });
          return;
        }
        const current = this.#load();
        if (!current || current.status !== "running") return;
        if ("error" in prepared) {
          this.#endWith(current, "failed", prepared.error);
          return;
        }
        current.repository!.document.base = prepared.base;
        current.repository!.defaultBranch = prepared.defaultBranch;
        current.repository!.phase = "claude";
        this.#save(current);
        record = current;
      }
      let processId: string;
      try {
        const options = { env: invocation.env, ...(plan ? { cwd: REPOSITORY_PATHS.workDir } : {}) };
        processId = (await sandbox.startProcess(invocation.command, options)).id;
      } catch (error) {
        if (plan) {
          const current = this.#load();
          if (current?.status === "running") this.#apply(current, { kind: "container_lost" });
          return;
        }
        this.#startFailed(error);
        return;
      }
      const current = this.#load();
      if (!current || current.status !== (plan ? "running" : "queued")) {
        // Cancelled while the container started: it must not keep running.
        await this.#release(processId);
        return;
      }
      if (plan) {
        current.processId = processId;
        this.#save(current);
        this.#follow();
        return;
      }
      const started = this.#apply(current, { kind: "container_acquired" }, (next) => {
        next.startedAt = Date.now();
        next.processId = processId;
        next.nextAttemptAt = null;
      });
      if (started) {
        await this.#index(started);
        this.#follow();
      }
    } finally {
      this.#acquiring = false;
    }
  }

  #startFailed(error: unknown): void {
    const record = this.#load();
    if (!record || record.status !== "queued") return;
    const capacity = isSandboxUnavailable(error);
    if (!capacity && record.startFailures + 1 >= MAX_START_FAILURES) {
      this.#endWith(record, "failed", { code: "platform_interrupted", message: "The sandbox could not start Claude Code" });
      return;
    }
    this.#apply(record, { kind: "container_unavailable" }, (next) => {
      next.queueAttempts += 1;
      if (!capacity) next.startFailures += 1;
      next.nextAttemptAt = Date.now() + queueBackoffMs(next.queueAttempts, Math.random());
    });
  }

  // ---------------------------------------------------------------------------
  // Reading Claude Code's output as it comes.
  // ---------------------------------------------------------------------------

  /** Starts the log reader unless one runs (after an eviction, the watchdog alarm calls this again). */
  #follow(): void {
    if (this.#following) return;
    const reading = this.#readLogs().finally(() => {
      this.#following = null;
    });
    this.#following = reading;
    this.ctx.waitUntil(reading);
  }

  async #readLogs(): Promise<void> {
    let record = this.#load();
    if (!record || record.status !== "running" || record.processId === null) return;
    const processId = record.processId;
    const sandbox = this.#openSandbox(record);
    const secrets = deploymentSecrets(this.env);
    const maxOutputBytes = record.submission.maxOutputBytes;
    // A (re)attached stream replays the output from the start: the tails are rebuilt from it.
    this.#stdout = new OutputTail(maxOutputBytes);
    this.#stderr = new OutputTail(maxOutputBytes);

    let stream: ReadableStream<Uint8Array>;
    try {
      stream = await sandbox.streamProcessLogs(processId);
    } catch {
      await this.#streamEnded(processId);
      return;
    }
    const frames = new ProcessLogParser();
    const lines = new LineSplitter();
    // Only the first stdout frame replays earlier output; its lines up to the last one seen are skipped.
    let replayFrame = true;
    let skipUntil = record.lastLineUuid;
    let exit: { exitCode: number | null } | null = null;

    const consume = (text: string[]): void => {
      const current = this.#load();
      if (!current || current.status !== "running") return;
      for (const line of text) {
        const parsed = parseStreamJsonLine(line);
        if (skipUntil !== null) {
          if (parsed.uuid === skipUntil) skipUntil = null;
          continue;
        }
        for (const draft of parsed.events) this.#append(current, draft, secrets);
        if (parsed.final) current.final = { ...parsed.final, result: redactSecrets(parsed.final.result, secrets), errors: parsed.final.errors.map((error) => redactSecrets(error, secrets)) };
        if (parsed.uuid !== null) current.lastLineUuid = parsed.uuid;
      }
      current.lostStreams = 0;
      this.#save(current);
    };

    const reader = stream.getReader();
    this.#reader = reader;
    try {
      while (exit === null) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const frame of frames.push(value)) {
          switch (frame.type) {
            case "stdout":
              this.#stdout.push(frame.data);
              consume(lines.push(frame.data));
              if (replayFrame) {
                // Lines after the replay are new even when the last one seen was not found in it.
                skipUntil = null;
                replayFrame = false;
              }
              break;
            case "stderr":
              this.#stderr.push(frame.data);
              break;
            case "gap":
              lines.gap();
              this.#stdout.truncated = true;
              replayFrame = false;
              skipUntil = null;
              break;
            case "exit":
              exit = { exitCode: frame.exitCode };
              break;
          }
        }
        record = this.#load();
        if (!record || record.status !== "running") return;
      }
    } catch {
      // The stream broke: decided below, as for a stream that ended early.
    } finally {
      this.#reader = null;
      reader.cancel().catch(() => undefined);
    }
    consume(lines.end());
    if (exit) {
      this.#claudeEnded(exit.exitCode);
    } else {
      await this.#streamEnded(processId);
    }
  }

  /** The log stream ended without the exit: ask the sandbox what became of the process. */
  async #streamEnded(processId: string): Promise<void> {
    const record = this.#load();
    if (!record || record.status !== "running") return;
    let info;
    try {
      info = await this.#openSandbox(record).getProcess(processId);
    } catch {
      info = undefined;
    }
    const current = this.#load();
    if (!current || current.status !== "running") return;
    if (info === null) {
      this.#apply(current, { kind: "container_lost" });
    } else if (info && info.status !== "running" && info.status !== "starting") {
      this.#claudeEnded(info.exitCode);
    } else if (current.lostStreams + 1 >= MAX_LOST_STREAMS) {
      this.#apply(current, { kind: "container_lost" });
    } else {
      current.lostStreams += 1;
      this.#save(current);
      // The process still runs (or the sandbox did not answer): reattach shortly.
      await this.ctx.storage.setAlarm(Date.now() + REATTACH_DELAY_MS);
    }
  }

  #claudeEnded(exitCode: number | null): void {
    const record = this.#load();
    if (!record || record.status !== "running") return;
    const outcome = runOutcome({
      final: record.final,
      exitCode,
      elapsedMs: Date.now() - (record.startedAt ?? record.submission.createdAt),
      timeoutMs: record.submission.request.timeoutMs,
    });
    if (record.repository) {
      // Commit, patch, push and pull request before the task ends, whatever Claude Code's outcome.
      record.exitCode = exitCode;
      record.repository.phase = "finish";
      record.repository.claudeOutcome = outcome;
      this.#save(record);
      this.#finishRepositoryPhase();
      return;
    }
    this.#apply(record, { kind: "claude_ended", outcome }, (next) => {
      next.exitCode = exitCode;
    });
  }

  /** Runs the repository's finish step unless it runs already (after an eviction, the watchdog calls this again). */
  #finishRepositoryPhase(): void {
    if (this.#finishing) return;
    const work = this.#finishRepository().finally(() => {
      this.#finishing = null;
    });
    this.#finishing = work;
    this.ctx.waitUntil(work);
  }

  async #finishRepository(): Promise<void> {
    const record = this.#load();
    const plan = record?.submission.repository;
    if (!record || record.status !== "running" || !record.repository || !plan) return;
    let finished: Awaited<ReturnType<typeof finishRepository>>;
    try {
      finished = await finishRepository({
        sandbox: this.#openSandbox(record),
        env: this.env,
        plan,
        taskId: record.submission.taskId,
        task: record.submission.request.task,
        document: record.repository.document,
        defaultBranch: record.repository.defaultBranch,
      });
    } catch {
      const current = this.#load();
      if (current?.status === "running") this.#apply(current, { kind: "container_lost" });
      return;
    }
    const current = this.#load();
    if (!current || current.status !== "running" || !current.repository) return;
    current.repository.document = finished.document;
    const claude = current.repository.claudeOutcome ?? { status: "failed" as const, error: { code: "claude_error" as const, message: "Claude Code ended without a result" } };
    // Claude Code's own failure comes first; a repository step's failure fails an otherwise successful task.
    const outcome = claude.status === "succeeded" && finished.error ? { status: "failed" as const, error: finished.error } : claude;
    this.#apply(current, { kind: "claude_ended", outcome });
  }

  /** Whether a repository task waiting for its branch may run now; updates its position otherwise. */
  async #reachedHead(record: TaskRecord): Promise<boolean> {
    const { submission } = record;
    const queue = this.#branchQueue(submission.repository!);
    const holdMs = this.#branchHoldMs(submission);
    let position: number | null;
    try {
      // The call that tells the task its turn came also claims the turn (see `claimTurn`).
      position = await queue.position(submission.taskId, holdMs);
      if (position === null) {
        // Dropped from its queue (its turn went unclaimed too long): it takes its place again at the end.
        const queued = await queue.enqueue(submission.taskId, holdMs);
        if ("refused" in queued) throw new Error(queued.refused);
        position = queued.position;
      }
    } catch {
      // Read again: a cancel may have come during the call, and must not be overwritten.
      const current = this.#load();
      if (!current || current.status !== "queued") return false;
      current.nextAttemptAt = Date.now() + BRANCH_POLL_MS;
      this.#save(current);
      return false;
    }
    const current = this.#load();
    if (!current || current.status !== "queued" || !current.repository) return false;
    const moved = current.repository.position !== position;
    current.repository.position = position;
    if (position === 0) {
      current.repository.headAt = Date.now();
      current.nextAttemptAt = Date.now();
    } else {
      current.nextAttemptAt = Date.now() + BRANCH_POLL_MS;
    }
    this.#save(current);
    if (moved) await this.#index(current);
    return position === 0;
  }

  /** Lets the next task of the same repository and branch run, now that this one ended; false when its queue could not be told (retried). */
  async #releaseBranch(record: TaskRecord): Promise<boolean> {
    const plan = record.submission.repository;
    if (!plan) return true;
    let next: string | null;
    try {
      next = await this.#branchQueue(plan).release(record.submission.taskId);
    } catch {
      this.#warn("branch_release_failed");
      return false;
    }
    // The next task asks its queue again on its own (every few seconds) if this does not reach it.
    if (next !== null) await taskObject(this.env, next).wake().catch(() => undefined);
    return true;
  }

  /** The longest this task may hold its branch from its turn (its own deadlines), as it tells its queue when its turn comes. */
  #branchHoldMs(submission: TaskSubmission): number {
    return branchHoldMs({ queueTimeoutMs: submission.queueTimeoutMs, timeoutMs: submission.request.timeoutMs, graceMs: taskGraceMs(submission) });
  }

  #branchQueue(plan: RepositoryPlan) {
    return this.env.BRANCH_QUEUES.get(this.env.BRANCH_QUEUES.idFromName(branchQueueName(plan.repo, plan.branch)));
  }

  /** The task's timing, as the lifecycle's rules read it. */
  #clock(record: TaskRecord): TaskClock {
    const { submission, repository } = record;
    return {
      status: record.status,
      // A repository task's wait for a container counts from its turn on the branch; none runs while others are ahead.
      queueStartedAt: repository ? (repository.position > 0 ? null : (repository.headAt ?? submission.createdAt)) : submission.createdAt,
      startedAt: record.startedAt,
      timeoutMs: submission.request.timeoutMs,
      graceMs: taskGraceMs(submission),
      queueTimeoutMs: submission.queueTimeoutMs,
      nextAttemptAt: record.nextAttemptAt,
    };
  }

  // ---------------------------------------------------------------------------
  // Transitions and the end of a task.
  // ---------------------------------------------------------------------------

  /**
   * Applies a trigger through the lifecycle; `update` adjusts the record of a
   * non-terminal move. Returns the record as saved, or null when the trigger
   * meant nothing. An end is recorded at once and wrapped up in the background.
   */
  #apply(record: TaskRecord, trigger: LifecycleTrigger, update?: (next: TaskRecord) => void): TaskRecord | null {
    const next = transition(record.status, trigger);
    if (next.kind === "ignored") return null;
    if (next.kind === "end") {
      update?.(record);
      return this.#endWith(record, next.status, next.error);
    }
    const moved = next.status !== record.status;
    record.status = next.status;
    update?.(record);
    if (moved) this.#append(record, { type: "status", data: { status: next.status } });
    this.#save(record);
    this.#notify();
    return record;
  }

  /** Records the terminal status with its `result` and `end` events, then wraps the task up. */
  #endWith(record: TaskRecord, status: TerminalStatus, error: TaskError | null): TaskRecord {
    record.status = status;
    record.error = error;
    record.finishedAt = Date.now();
    this.#append(record, {
      type: "result",
      data: {
        success: status === "succeeded",
        error,
        usage: record.final?.usage ?? null,
        ...(record.repository ? { repository: record.repository.document } : {}),
      },
    });
    this.#append(record, { type: "end", data: { status } });
    this.#save(record);
    this.#notify();
    this.#wrapUp();
    return record;
  }

  /** Releases the container, stores the result and events, delivers the webhook, then clears the storage. */
  #wrapUp(): void {
    if (this.#wrappingUp) return;
    const work = this.#finish().finally(() => {
      this.#wrappingUp = null;
    });
    this.#wrappingUp = work;
    this.ctx.waitUntil(work);
  }

  /**
   * Wraps an ended task up: its result and events to R2 first (its output is
   * in memory, and readers wait for the result), then the container released
   * (which may take up to `DESTROY_TIMEOUT_MS`), then the branch let go, then
   * the webhook; the storage is cleared once nothing is left to do. Whatever
   * failed is retried by the alarm.
   */
  async #finish(): Promise<void> {
    let record = this.#load();
    if (!record || !isTerminal(record.status)) return;
    if (!record.archived) {
      const result = this.#buildResult(record);
      let stored = true;
      try {
        await storeResult(this.env.RESULTS, result);
        await storeEvents(this.env.RESULTS, record.submission.taskId, this.#eventPages());
      } catch {
        stored = false;
      }
      // The index learns the end before the record says archived, so a retry after an eviction indexes it again.
      await this.#index(record);
      record = this.#load();
      if (!record) return;
      if (stored) {
        this.#result = result;
        record.archived = true;
        if (record.submission.request.callbackUrl !== undefined) {
          record.callback = { attempts: 0, delivered: false, lastStatus: null, nextAttemptAt: Date.now() };
        }
      } else {
        record.storeFailures += 1;
        this.#warn("result_store_failed");
      }
      this.#save(record);
      this.#notify(this.#resultWaiters);
    }
    if (!record.containerReleased) {
      await this.#release(record.processId);
      // The stream ends by itself when the process is killed; a stream that outlived the container is dropped.
      this.#reader?.cancel().catch(() => undefined);
      record = this.#load();
      if (!record) return;
      record.containerReleased = true;
      this.#save(record);
    }
    // The container is gone: the next task on the branch may run.
    if (record.repository && !record.repository.released && (await this.#releaseBranch(record))) {
      record.repository.released = true;
      this.#save(record);
    }
    if (!record.archived || (record.repository && !record.repository.released)) {
      await this.#schedule(record);
      return;
    }
    if (record.callback && !record.callback.delivered && record.callback.nextAttemptAt !== null && record.callback.nextAttemptAt <= Date.now()) {
      await this.#deliverWebhook(record);
      // The status document shows the delivery.
      await this.#index(record);
    }
    const pending = record.callback !== null && !record.callback.delivered && record.callback.nextAttemptAt !== null;
    if (pending) {
      await this.#schedule(record);
    } else {
      await this.#clear();
    }
  }

  async #deliverWebhook(record: TaskRecord): Promise<void> {
    const url = record.submission.request.callbackUrl;
    const key = webhookKey(this.env.WEBHOOK_SECRET ?? "");
    if (url === undefined || !record.callback) return;
    if (!key) {
      this.#warn("webhook_secret_invalid");
      record.callback = { ...record.callback, nextAttemptAt: null };
      this.#save(record);
      return;
    }
    const now = Date.now();
    const state = await attemptWebhook({
      url,
      key,
      taskId: record.submission.taskId,
      body: webhookBody(this.#document(record)),
      state: record.callback,
      now,
    });
    if (!state.delivered) this.#warn(`webhook_failed_${state.lastStatus ?? "network"}`);
    record.callback = { ...state, nextAttemptAt: state.delivered ? null : nextWebhookAttemptAt(state.attempts, now) };
    this.#save(record);
  }

  /** Stops Claude Code and destroys the container; failures are logged, never fatal. */
  async #release(processId: string | null): Promise<void> {
    const record = this.#load();
    if (!record) return;
    const sandbox = this.#openSandbox(record);
    if (processId !== null) await sandbox.killProcess(processId).catch(() => undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.min(DESTROY_TIMEOUT_MS, Math.max(1_000, record.submission.graceMs)));
    });
    try {
      const outcome = await Promise.race([sandbox.destroy().then(() => "destroyed" as const), timeout]);
      if (outcome === "timeout") this.#warn("sandbox_destroy_timeout");
    } catch {
      this.#warn("sandbox_destroy_failed");
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Deletes everything this object stores: its task now lives in R2 and the index. */
  async #clear(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#notify();
    this.#notify(this.#resultWaiters);
  }

  // ---------------------------------------------------------------------------
  // Documents.
  // ---------------------------------------------------------------------------

  #buildResult(record: TaskRecord): TaskResult {
    const secrets = deploymentSecrets(this.env);
    const status = record.status as TerminalStatus;
    const stdout = redactSecrets(this.#stdout?.text() ?? "", secrets);
    const stderr = redactSecrets(this.#stderr?.text() ?? "", secrets);
    const result = record.final?.result ?? "";
    const finished = record.finishedAt ?? Date.now();
    // After an eviction without a replay, nothing of the output is known here any more.
    const outputLost = record.startedAt !== null && this.#stdout === null;
    return {
      taskId: record.submission.taskId,
      status,
      success: status === "succeeded",
      exitCode: record.exitCode,
      stdout,
      stderr,
      output: result.trim().length > 0 ? result : stderr,
      result,
      usage: record.final?.usage ?? null,
      timedOut: status === "timed_out",
      truncated: outputLost || (this.#stdout?.truncated ?? false) || (this.#stderr?.truncated ?? false),
      ...(record.error === null ? {} : { error: record.error }),
      startedAt: iso(record.startedAt),
      timestamp: new Date(finished).toISOString(),
      durationMs: finished - (record.startedAt ?? record.submission.createdAt),
      ...this.#repositoryFields(record),
    };
  }

  #document(record: TaskRecord): TaskStatusDocument {
    const { taskId, createdAt, request } = record.submission;
    const self = `/tasks/${taskId}`;
    return {
      taskId,
      status: record.status,
      createdAt: new Date(createdAt).toISOString(),
      startedAt: iso(record.startedAt),
      finishedAt: iso(record.finishedAt),
      durationMs: record.finishedAt === null ? null : record.finishedAt - (record.startedAt ?? createdAt),
      timeoutMs: request.timeoutMs,
      eventCount: record.eventCount,
      usage: record.final?.usage ?? null,
      error: record.error,
      ...(record.callback
        ? { callback: { attempts: record.callback.attempts, delivered: record.callback.delivered, lastStatus: record.callback.lastStatus } }
        : request.callbackUrl !== undefined
          ? { callback: { attempts: 0, delivered: false, lastStatus: null } }
          : {}),
      ...this.#repositoryFields(record),
      ...(record.status === "queued" && record.repository && record.repository.position > 0 ? { queuePosition: record.repository.position } : {}),
      links: { self, events: `${self}/events`, result: `${self}/result`, cancel: `${self}/cancel` },
    };
  }

  #repositoryFields(record: TaskRecord): { repository?: RepositoryDocument; continuedFrom?: string } {
    const plan = record.submission.repository;
    if (!plan || !record.repository) return {};
    return { repository: record.repository.document, ...(plan.continuedFrom ? { continuedFrom: plan.continuedFrom } : {}) };
  }

  // ---------------------------------------------------------------------------
  // Storage and small helpers.
  // ---------------------------------------------------------------------------

  #load(): TaskRecord | null {
    return (this.ctx.storage.kv.get<TaskRecord>(RECORD_KEY) as TaskRecord | undefined) ?? null;
  }

  #save(record: TaskRecord): void {
    this.ctx.storage.kv.put(RECORD_KEY, record);
  }

  /** Numbers, stamps, redacts and stores an event (beyond `LIMITS.maxEvents`, only `result` and `end` are kept). */
  #append(record: TaskRecord, draft: EventDraft, secrets: readonly string[] = deploymentSecrets(this.env)): void {
    if (record.eventCount >= LIMITS.maxEvents && draft.type !== "result" && draft.type !== "end") return;
    record.eventCount += 1;
    const event = { seq: record.eventCount, type: draft.type, at: new Date().toISOString(), data: draft.data };
    this.ctx.storage.sql.exec("INSERT INTO events (seq, json) VALUES (?, ?)", event.seq, redactSecrets(JSON.stringify(event), secrets));
    this.#notify();
  }

  #readEvents(after: number, limit: number): { seq: number; json: string }[] {
    return this.ctx.storage.sql.exec<{ seq: number; json: string }>("SELECT seq, json FROM events WHERE seq > ? ORDER BY seq LIMIT ?", after, limit).toArray();
  }

  /** The stored events as pages of JSON lines, with their total size, for R2. */
  #eventPages(): EventPages {
    const sql = this.ctx.storage.sql;
    const total = sql.exec<{ bytes: number | null }>("SELECT SUM(LENGTH(CAST(json AS BLOB)) + 1) AS bytes FROM events").one().bytes ?? 0;
    return {
      totalBytes: total,
      *pages() {
        let after = 0;
        for (;;) {
          const rows = sql.exec<{ seq: number; json: string }>("SELECT seq, json FROM events WHERE seq > ? ORDER BY seq LIMIT 200", after).toArray();
          if (rows.length === 0) return;
          yield rows.map((row) => row.json);
          after = rows.at(-1)!.seq;
        }
      },
    };
  }

  #openSandbox(record: TaskRecord): TaskSandbox {
    this.#sandbox ??= openTaskSandbox(
      this.env.Sandbox,
      record.submission.taskId,
      record.submission.request.timeoutMs + record.submission.graceMs,
    );
    return this.#sandbox;
  }

  async #schedule(record: TaskRecord): Promise<void> {
    const now = Date.now();
    let at: number | null;
    if (!isTerminal(record.status)) {
      at = nextAlarmAt(this.#clock(record), now);
    } else if (!record.archived) {
      at = now + (record.storeFailures <= 1 ? ARCHIVE_RETRY_MS[0] : ARCHIVE_RETRY_MS[1]);
    } else if (record.repository && !record.repository.released) {
      at = now + ARCHIVE_RETRY_MS[1];
    } else {
      at = record.callback && !record.callback.delivered ? record.callback.nextAttemptAt : null;
    }
    if (at === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.max(at, now));
  }

  /** Keeps the task index up to date; a failure is logged and repaired by the next update. */
  async #index(record: TaskRecord): Promise<void> {
    try {
      await taskIndex(this.env).record(this.#document(record));
    } catch {
      this.#warn("task_index_failed");
    }
  }

  /** Resolves after the next change of `waiters`' kind (see `#notify`) or after `ms`. */
  #changed(ms: number, waiters: Set<() => void> = this.#waiters): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  /** Wakes the readers of events (any change), or with `#resultWaiters` those waiting for the stored result. */
  #notify(waiters: Set<() => void> = this.#waiters): void {
    for (const waiter of [...waiters]) waiter();
  }

  #warn(code: string): void {
    const record = this.#load();
    console.log(JSON.stringify({ level: "warn", event: "task", taskId: record?.submission.taskId ?? null, code }));
  }
}
