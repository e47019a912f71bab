/**
 * The Task Durable Object: one instance per task id owns the task from
 * acceptance to its stored result, whoever is connected. It is the task's
 * state machine; its collaborators do the rest:
 *
 * - `TaskStore` (task-store.ts) keeps the record and the events in the
 *   object's storage, and never caches a record across an `await`;
 * - task-documents.ts builds the status document and the result;
 * - `LogFollower` (log-follower.ts) reads Claude Code's output as it comes;
 * - `BranchTurn` (branch-turn.ts) waits for a repository task's turn on its
 *   branch and lets the branch go;
 * - the decisions are pure functions (lifecycle.ts, events/, webhooks/).
 *
 * What it does: it asks the task's sandbox for a container (retrying while
 * none is free), starts Claude Code as a background process (a plain start,
 * or a repository start that checks the repository out first), follows its
 * output, and ends the task exactly once. Its alarm fires at least every 30 s
 * while the task runs and at each deadline, so the task ends within timeout +
 * grace (+ queue timeout) even when the Worker is redeployed, the object is
 * evicted or the container dies. The wrap-up then stores the result and events
 * in R2, destroys the container, lets the branch go, delivers the webhook, and
 * clears the storage.
 *
 * Every step that awaited anything reloads the record with `reload(...)` before
 * it decides: a cancel that came meanwhile is never overwritten.
 */
import { DurableObject } from "cloudflare:workers";
import type { TaskError, TaskResult, TaskStatusDocument, TerminalStatus } from "../contract.js";
import type { WorkerEnv } from "../env.js";
import { deploymentSecrets } from "../secrets.js";
import { type ClaudeCredential, claudeCredential } from "../egress/anthropic-door.js";
import { destroySandbox, isSandboxUnavailable, openTaskSandbox, type TaskSandbox } from "../sandbox/control.js";
import { storeEvents, storeResult } from "../storage/results.js";
import { deliverWebhook } from "../webhooks/delivery.js";
import { webhookKey } from "../webhooks/signature.js";
import { REPOSITORY_PATHS } from "../repositories/script.js";
import { BranchTurn } from "./branch-turn.js";
import { invocationFor } from "./claude-command.js";
import { isTerminal, type LifecycleTrigger, queueBackoffMs, queueDeadline, runDeadline, runOutcome, transition } from "./lifecycle.js";
import { LogFollower } from "./log-follower.js";
import { recordInIndex } from "./object-stubs.js";
import { finishRepository, prepareRepository } from "./repository-run.js";
import type { TaskSubmission } from "./submission.js";
import { endEvents, statusDocument, storedFinal, storeFailed, taskResult } from "./task-documents.js";
import { newTaskRecord, nextWakeAt, type TaskRecord, taskClock } from "./task-record.js";
import type { CancelOutcome, ResultWait, StartOutcome, StoredEventsPage } from "./task-rpc.js";
import { TaskStore } from "./task-store.js";

/** Longest wait for the container to be destroyed before the task is wrapped up anyway (at most the grace, at least 1 s). */
const DESTROY_TIMEOUT_MS = 15_000;
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

/** The work an instance runs at most once at a time (see `#once`). */
type Work = "start" | "follow" | "finish-repository" | "wrap-up";

export class Task extends DurableObject<WorkerEnv> {
  readonly #store: TaskStore;
  /** The work running in this instance, by name. */
  readonly #running = new Map<Work, Promise<void>>();
  /** The log follower of this instance, once it followed Claude Code's output: it holds the output's tails. */
  #log: LogFollower | null = null;
  /** The result, kept in memory for waiters once the storage is cleared. */
  #result: TaskResult | null = null;
  #sandbox: TaskSandbox | null = null;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    this.#store = new TaskStore(ctx.storage);
  }

  // ── RPC methods, called by the Worker's routes ──

  /**
   * Accepts a task (idempotent: a second call returns the task as it is).
   * Refused, with nothing stored, when its branch has as many tasks waiting as it takes.
   */
  async start(submission: TaskSubmission): Promise<StartOutcome> {
    const existing = this.#store.load();
    if (existing) return this.#document(existing);
    const record = newTaskRecord(submission, Date.now());
    if (record.repository) {
      // One task at a time per repository and branch, in the order they were accepted.
      const joined = await new BranchTurn(this.env, submission).join();
      if ("refused" in joined) return joined;
      const accepted = this.#store.load();
      if (accepted) return this.#document(accepted);
      record.repository.position = joined.position;
      if (joined.position === 0) record.repository.headAt = Date.now();
    }
    this.#store.append(record, { type: "status", data: { status: "queued" } }, this.#secrets());
    this.#store.save(record);
    // The first request for a container is made now; the alarm is the safety net if this object goes away meanwhile.
    await this.ctx.storage.setAlarm(Date.now() + FIRST_ATTEMPT_SAFETY_MS);
    // Accepted only once the index lists it, so `GET /tasks` lists every task answered 202.
    await recordInIndex(this.env, this.#document(record)).catch(async (error: unknown) => {
      await this.#store.clear();
      throw error;
    });
    this.ctx.waitUntil(this.#advance());
    return this.#document(record);
  }

  /** The status document, or null when this object holds no task (never accepted, or finished and cleared). */
  async status(): Promise<TaskStatusDocument | null> {
    const record = this.#store.load();
    return record ? this.#document(record) : null;
  }

  /**
   * Events after `after`, at most `limit`; when there are none yet and the
   * task has not ended, waits up to `waitMs` for the next one. An ended task
   * has nothing more to come: its page is `done` once it reaches the end.
   * Null when this object holds no task.
   */
  async events(after: number, limit: number, waitMs: number): Promise<StoredEventsPage | null> {
    let record = this.#store.load();
    if (!record) return null;
    let rows = this.#store.readEvents(after, limit);
    if (rows.length === 0 && waitMs > 0 && !isTerminal(record.status)) {
      await this.#store.eventAdded.wait(waitMs);
      record = this.#store.load();
      if (!record) return null;
      rows = this.#store.readEvents(after, limit);
    }
    const next = rows.at(-1)?.seq ?? after;
    return { events: rows.map((row) => row.json), next, done: isTerminal(record.status) && next >= record.eventCount };
  }

  /** Waits up to `waitMs` for the task's result to be stored. Null when this object holds no task. */
  async awaitResult(waitMs: number): Promise<ResultWait | null> {
    if (this.#result) return { state: "stored", result: this.#result };
    let record = this.#store.load();
    if (!record) return null;
    if (!record.archived && !storeFailed(record)) {
      await this.#store.resultSettled.wait(waitMs);
      if (this.#result) return { state: "stored", result: this.#result };
      record = this.#store.load();
      if (!record) return null;
    }
    if (record.archived) return { state: "stored", result: this.#result };
    if (storeFailed(record)) return { state: "store_failed", result: this.#buildResult(record) };
    return { state: "pending", status: record.status };
  }

  /** Asks the task to look at its state now (the task ahead of it on its branch ended). */
  async wake(): Promise<void> {
    if (this.#store.reload("queued")) this.ctx.waitUntil(this.#advance());
  }

  /** Cancels the task: Claude Code is stopped, the container destroyed, what it printed so far stored. */
  async cancel(): Promise<CancelOutcome | null> {
    const record = this.#store.load();
    if (!record) return null;
    if (isTerminal(record.status)) return { outcome: "finished", document: this.#document(record) };
    const ended = this.#apply(record, { kind: "cancel" });
    return { outcome: "cancelled", document: this.#document(ended ?? record) };
  }

  // ── The alarm: queue retries, the watchdog, deadlines, archive and webhook retries ──

  override async alarm(): Promise<void> {
    await this.#advance();
  }

  /** Does what the task's status calls for now, then sets the alarm for the next time. */
  async #advance(): Promise<void> {
    const record = this.#store.load();
    if (!record) return;
    try {
      await this.#step(record);
    } finally {
      const current = this.#store.load();
      if (current) await this.#schedule(current);
    }
  }

  async #step(record: TaskRecord): Promise<void> {
    const now = Date.now();
    switch (record.status) {
      case "queued": {
        if (record.repository && record.repository.position > 0 && !(await this.#reachedHead())) return;
        const current = this.#store.reload("queued");
        if (!current) return;
        const deadline = queueDeadline(taskClock(current));
        if (deadline !== null && Date.now() >= deadline) {
          this.#apply(current, { kind: "queue_timeout", queueTimeoutMs: current.submission.queueTimeoutMs });
        } else if ((current.nextAttemptAt ?? now) <= Date.now()) {
          await this.#once("start", () => this.#start());
        }
        return;
      }
      case "running": {
        const deadline = runDeadline(taskClock(record));
        if (deadline !== null && now >= deadline) {
          this.#apply(record, { kind: "deadline_passed", timeoutMs: record.submission.request.timeoutMs });
        } else if (record.repository?.phase === "finish") {
          void this.#once("finish-repository", () => this.#finishRepository());
        } else if (record.repository?.phase !== "prepare") {
          void this.#once("follow", () => this.#followLog());
        }
        return;
      }
      default:
        // Terminal: finish what the end left undone (a refused R2 write, a webhook retry).
        await this.#once("wrap-up", () => this.#wrapUp());
    }
  }

  /** Runs `work` unless work of that name already runs in this instance; either way, returns the running work. */
  #once(name: Work, work: () => Promise<void>): Promise<void> {
    const running = this.#running.get(name);
    if (running) return running;
    const promise = work().finally(() => this.#running.delete(name));
    this.#running.set(name, promise);
    this.ctx.waitUntil(promise);
    return promise;
  }

  // ── The start: a container, and Claude Code in it ──

  /** Gets the task a container and starts Claude Code: a plain start, or a repository start. */
  async #start(): Promise<void> {
    const record = this.#store.reload("queued");
    if (!record) return;
    const credential = claudeCredential(this.env);
    if (!credential) {
      this.#endWith(record, "failed", { code: "platform_interrupted", message: "No Claude credential is configured" });
      return;
    }
    // The start may take a couple of minutes: the next attempt is leased meanwhile, so the alarm sleeps.
    record.nextAttemptAt = Date.now() + START_LEASE_MS;
    this.#store.save(record);
    const withRepository = record.submission.repository !== null;
    await this.#schedule(record);
    if (withRepository) await this.#startRepository(credential);
    else await this.#startPlain(credential);
  }

  /** A task without a repository: Claude Code starts with its container, and the task runs once it does. */
  async #startPlain(credential: ClaudeCredential): Promise<void> {
    const record = this.#store.reload("queued");
    if (!record) return;
    const invocation = invocationFor(record.submission, credential);
    let processId: string;
    try {
      processId = (await this.#openSandbox(record.submission).startProcess(invocation.command, { env: invocation.env })).id;
    } catch (error) {
      this.#startFailed(error);
      return;
    }
    const queued = this.#store.reload("queued");
    if (!queued) {
      // Cancelled while the container started: it must not keep running.
      await this.#destroyContainer(record.submission, processId);
      return;
    }
    const started = this.#apply(queued, { kind: "container_acquired" }, (next) => {
      next.startedAt = Date.now();
      next.processId = processId;
      next.nextAttemptAt = null;
    });
    if (started) {
      // Claude Code's first lines are followed while the index learns the task runs.
      void this.#once("follow", () => this.#followLog());
      await this.#updateIndex(started);
    }
  }

  /**
   * A repository task takes its container with an empty command while still
   * queued (without one, it waits and asks again like any task), runs once it
   * has it, checks the repository out (or restores a follow-up's workspace),
   * and only then starts Claude Code in the working tree.
   */
  async #startRepository(credential: ClaudeCredential): Promise<void> {
    const record = this.#store.reload("queued");
    const plan = record?.submission.repository;
    if (!record || !plan) return;
    const sandbox = this.#openSandbox(record.submission);
    try {
      await sandbox.exec("true", { env: {}, timeoutMs: CONTAINER_PROBE_TIMEOUT_MS });
    } catch (error) {
      this.#startFailed(error);
      return;
    }
    const queued = this.#store.reload("queued");
    const preparing = queued
      ? this.#apply(queued, { kind: "container_acquired" }, (next) => {
          next.startedAt = Date.now();
          next.nextAttemptAt = null;
          next.repository!.phase = "prepare";
        })
      : null;
    if (!preparing) {
      // Cancelled while the container started: it must not keep running.
      await this.#destroyContainer(record.submission, null);
      return;
    }
    await this.#updateIndex(preparing);
    let prepared: Awaited<ReturnType<typeof prepareRepository>>;
    try {
      prepared = await prepareRepository(sandbox, this.env.RESULTS, plan);
    } catch {
      this.#containerLost();
      return;
    }
    const running = this.#store.reload("running");
    if (!running) return;
    if ("error" in prepared) {
      this.#endWith(running, "failed", prepared.error);
      return;
    }
    running.repository!.document.base = prepared.base;
    running.repository!.document.defaultBranch = prepared.defaultBranch;
    running.repository!.phase = "claude";
    this.#store.save(running);
    const invocation = invocationFor(running.submission, credential);
    let processId: string;
    try {
      processId = (await sandbox.startProcess(invocation.command, { env: invocation.env, cwd: REPOSITORY_PATHS.workDir })).id;
    } catch {
      this.#containerLost();
      return;
    }
    const current = this.#store.reload("running");
    if (!current) {
      // Cancelled while Claude Code started: it must not keep running.
      await this.#destroyContainer(record.submission, processId);
      return;
    }
    current.processId = processId;
    this.#store.save(current);
    void this.#once("follow", () => this.#followLog());
  }

  /** A start failed: the task stays queued and asks again later, or fails after repeated failures that are not about capacity. */
  #startFailed(error: unknown): void {
    const record = this.#store.reload("queued");
    if (!record) return;
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

  /** The container of a running task is gone. */
  #containerLost(): void {
    const record = this.#store.reload("running");
    if (record) this.#apply(record, { kind: "container_lost" });
  }

  // ── Following Claude Code's output as it comes ──

  async #followLog(): Promise<void> {
    const record = this.#store.reload("running");
    if (!record || record.processId === null) return;
    const processId = record.processId;
    const sandbox = this.#openSandbox(record.submission);
    const secrets = this.#secrets();
    // A (re)attached stream replays the output from the start: the tails are rebuilt from it.
    const log = new LogFollower(record.submission.maxOutputBytes);
    this.#log = log;
    let stream: ReadableStream<Uint8Array>;
    try {
      stream = await sandbox.streamProcessLogs(processId);
    } catch {
      await this.#streamInterrupted(processId);
      return;
    }
    const end = await log.follow(stream, record.lastLineUuid, (lines) => {
      const current = this.#store.reload("running");
      if (!current) return false;
      if (lines.length === 0 && current.lostStreams === 0) return true;
      for (const line of lines) {
        for (const draft of line.events) this.#store.append(current, draft, secrets);
        if (line.final) current.final = storedFinal(line.final, secrets);
        if (line.uuid !== null) current.lastLineUuid = line.uuid;
      }
      current.lostStreams = 0;
      this.#store.save(current);
      return true;
    });
    if (end.kind === "exited") this.#claudeEnded(end.exitCode);
    else if (end.kind === "interrupted") await this.#streamInterrupted(processId);
  }

  /** The log stream ended without the exit: ask the sandbox what became of the process. */
  async #streamInterrupted(processId: string): Promise<void> {
    const record = this.#store.reload("running");
    if (!record) return;
    let info;
    try {
      info = await this.#openSandbox(record.submission).getProcess(processId);
    } catch {
      info = undefined;
    }
    const current = this.#store.reload("running");
    if (!current) return;
    if (info === null) {
      this.#apply(current, { kind: "container_lost" });
    } else if (info && info.status !== "running" && info.status !== "starting") {
      this.#claudeEnded(info.exitCode);
    } else if (current.lostStreams + 1 >= MAX_LOST_STREAMS) {
      this.#apply(current, { kind: "container_lost" });
    } else {
      current.lostStreams += 1;
      this.#store.save(current);
      // The process still runs (or the sandbox did not answer): reattach shortly.
      await this.ctx.storage.setAlarm(Date.now() + REATTACH_DELAY_MS);
    }
  }

  /** Claude Code ended: a plain task ends with its outcome; a repository task finishes its repository first. */
  #claudeEnded(exitCode: number | null): void {
    const record = this.#store.reload("running");
    if (!record) return;
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
      this.#store.save(record);
      void this.#once("finish-repository", () => this.#finishRepository());
      return;
    }
    this.#apply(record, { kind: "claude_ended", outcome }, (next) => {
      next.exitCode = exitCode;
    });
  }

  // ── A repository task's branch and its finish ──

  /** Commits, pushes and opens the pull request after Claude Code, then ends the task. */
  async #finishRepository(): Promise<void> {
    const record = this.#store.reload("running");
    const plan = record?.submission.repository;
    if (!record || !record.repository || !plan) return;
    let finished: Awaited<ReturnType<typeof finishRepository>>;
    try {
      finished = await finishRepository({
        sandbox: this.#openSandbox(record.submission),
        env: this.env,
        plan,
        taskId: record.submission.taskId,
        task: record.submission.request.task,
        document: record.repository.document,
      });
    } catch {
      this.#containerLost();
      return;
    }
    const current = this.#store.reload("running");
    if (!current || !current.repository) return;
    current.repository.document = finished.document;
    const claude = current.repository.claudeOutcome ?? { status: "failed" as const, error: { code: "claude_error" as const, message: "Claude Code ended without a result" } };
    // Claude Code's own failure comes first; a repository step's failure fails an otherwise successful task.
    const outcome = claude.status === "succeeded" && finished.error ? { status: "failed" as const, error: finished.error } : claude;
    this.#apply(current, { kind: "claude_ended", outcome });
  }

  /** Whether a repository task waiting for its branch may run now; updates its position otherwise. */
  async #reachedHead(): Promise<boolean> {
    const record = this.#store.reload("queued");
    if (!record) return false;
    let position: number;
    try {
      position = await new BranchTurn(this.env, record.submission).position();
    } catch {
      const current = this.#store.reload("queued");
      if (!current) return false;
      current.nextAttemptAt = Date.now() + BRANCH_POLL_MS;
      this.#store.save(current);
      return false;
    }
    const current = this.#store.reload("queued");
    if (!current || !current.repository) return false;
    const moved = current.repository.position !== position;
    current.repository.position = position;
    if (position === 0) {
      current.repository.headAt = Date.now();
      current.nextAttemptAt = Date.now();
    } else {
      current.nextAttemptAt = Date.now() + BRANCH_POLL_MS;
    }
    this.#store.save(current);
    if (moved) await this.#updateIndex(current);
    return position === 0;
  }

  // ── Transitions, the end of a task, and its wrap-up ──

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
    if (moved) this.#store.append(record, { type: "status", data: { status: next.status } }, this.#secrets());
    this.#store.save(record);
    return record;
  }

  /** Records the terminal status with its `result` and `end` events, then wraps the task up. */
  #endWith(record: TaskRecord, status: TerminalStatus, error: TaskError | null): TaskRecord {
    record.status = status;
    record.error = error;
    record.finishedAt = Date.now();
    const secrets = this.#secrets();
    for (const draft of endEvents(record)) this.#store.append(record, draft, secrets);
    this.#store.save(record);
    void this.#once("wrap-up", () => this.#wrapUp());
    return record;
  }

  /**
   * Wraps an ended task up, in this order: its result and events to R2 (its
   * output is in memory, and readers wait for the result), the container
   * destroyed (which may take up to `DESTROY_TIMEOUT_MS`), the branch let go,
   * the webhook; the storage is cleared once nothing is left to do. Whatever
   * failed is retried by the alarm.
   */
  async #wrapUp(): Promise<void> {
    let record = this.#store.load();
    if (!record || !isTerminal(record.status)) return;
    if (!record.archived) {
      const result = this.#buildResult(record);
      let stored = true;
      try {
        await storeResult(this.env.RESULTS, result);
        await storeEvents(this.env.RESULTS, record.submission.taskId, this.#store.eventPages());
      } catch {
        stored = false;
      }
      // The index learns the end before the record says archived, so a retry after an eviction tells it again.
      await this.#updateIndex(record);
      record = this.#store.load();
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
      this.#store.save(record);
      this.#store.resultSettled.notify();
    }
    if (!record.containerDestroyed) {
      await this.#destroyContainer(record.submission, record.processId);
      // The stream ends by itself when the process is killed; a stream that outlived the container is dropped.
      this.#log?.cancel();
      record = this.#store.load();
      if (!record) return;
      record.containerDestroyed = true;
      this.#store.save(record);
    }
    // The container is gone: the next task on the branch may run.
    if (record.repository && !record.repository.branchLetGo) {
      if (await new BranchTurn(this.env, record.submission).letGo()) {
        record = this.#store.load();
        if (!record) return;
        record.repository!.branchLetGo = true;
        this.#store.save(record);
      } else {
        this.#warn("branch_release_failed");
      }
    }
    if (!record.archived || (record.repository && !record.repository.branchLetGo)) {
      await this.#schedule(record);
      return;
    }
    if (record.callback && !record.callback.delivered && record.callback.nextAttemptAt !== null && record.callback.nextAttemptAt <= Date.now()) {
      const delivered = await this.#deliverWebhook(record);
      if (!delivered) return;
      record = delivered;
      // The status document shows the delivery.
      await this.#updateIndex(record);
    }
    const pending = record.callback !== null && !record.callback.delivered && record.callback.nextAttemptAt !== null;
    if (pending) await this.#schedule(record);
    else await this.#store.clear();
  }

  /** Delivers the webhook once; returns the record with the delivery's state (null when the storage was cleared meanwhile). */
  async #deliverWebhook(record: TaskRecord): Promise<TaskRecord | null> {
    const url = record.submission.request.callbackUrl;
    const key = webhookKey(this.env.WEBHOOK_SECRET ?? "");
    if (url === undefined || !record.callback) return record;
    if (!key) {
      this.#warn("webhook_secret_invalid");
      record.callback = { ...record.callback, nextAttemptAt: null };
      this.#store.save(record);
      return record;
    }
    const delivery = await deliverWebhook({ url, key, document: this.#document(record), state: record.callback, now: Date.now() });
    if (!delivery.delivered) this.#warn(`webhook_failed_${delivery.lastStatus ?? "network"}`);
    const current = this.#store.load();
    if (!current) return null;
    current.callback = delivery;
    this.#store.save(current);
    return current;
  }

  /**
   * Stops Claude Code and destroys the container, waiting at most the grace
   * (at least 1 s, at most `DESTROY_TIMEOUT_MS`); failures are logged, never
   * fatal. It needs only the submission (which never changes), so a start
   * that finished after the task was wrapped up and cleared still stops what it started.
   */
  async #destroyContainer(submission: TaskSubmission, processId: string | null): Promise<void> {
    const waitMs = Math.min(DESTROY_TIMEOUT_MS, Math.max(1_000, submission.graceMs));
    const outcome = await destroySandbox(this.#openSandbox(submission), processId, waitMs);
    if (outcome === "timeout") this.#warn("sandbox_destroy_timeout", submission.taskId);
    if (outcome === "failed") this.#warn("sandbox_destroy_failed", submission.taskId);
  }

  // ── Small helpers ──

  #buildResult(record: TaskRecord): TaskResult {
    const output = { streams: this.#log?.streams() ?? null, texts: this.#store.texts(record.submission.maxOutputBytes) };
    return taskResult(record, output, this.#secrets(), Date.now());
  }

  #secrets(): string[] {
    return deploymentSecrets(this.env);
  }

  #document(record: TaskRecord): TaskStatusDocument {
    return statusDocument(record, this.#secrets());
  }

  #openSandbox(submission: TaskSubmission): TaskSandbox {
    this.#sandbox ??= openTaskSandbox(this.env.Sandbox, submission.taskId, submission.request.timeoutMs + submission.graceMs);
    return this.#sandbox;
  }

  /** Sets the alarm for what the task needs next (`nextWakeAt`), or deletes it when nothing is left. */
  async #schedule(record: TaskRecord): Promise<void> {
    const now = Date.now();
    const at = nextWakeAt(record, now);
    if (at === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.max(at, now));
  }

  /** Tells the task index the task's status document; a failure is logged and repaired by the next update. */
  async #updateIndex(record: TaskRecord): Promise<void> {
    try {
      await recordInIndex(this.env, this.#document(record));
    } catch {
      this.#warn("task_index_failed");
    }
  }

  #warn(code: string, taskId: string | null = this.#store.load()?.submission.taskId ?? null): void {
    console.log(JSON.stringify({ level: "warn", event: "task", taskId, code }));
  }
}
