/**
 * The BranchQueue Durable Object: one per repository and branch (named by
 * `branchQueueName`), keeping the order of the tasks that work on it in
 * SQLite. A thin shell over the rules in branch-queue.ts: each call loads the
 * queue, applies one rule, and stores what changed. Every call first drops a
 * head that held the branch too long (see `dropLostHeads`).
 */
import { DurableObject } from "cloudflare:workers";
import type { WorkerEnv } from "../env.js";
import { type BranchQueueState, dropLostHeads, enqueue, queuePosition, release } from "./branch-queue.js";

export class BranchQueue extends DurableObject<WorkerEnv> {
  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    // SQLite calls are synchronous: the tables exist before any method runs.
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL UNIQUE)");
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY CHECK (id = 1), since INTEGER NOT NULL)");
  }

  /** Queues a task (idempotent) and returns its position: 0 holds the branch. Throws `branch_queue_full`. */
  async enqueue(taskId: string): Promise<number> {
    const now = Date.now();
    const state = this.current(now);
    const queued = enqueue(state, taskId, now);
    if ("refused" in queued) throw new Error(queued.refused);
    if (queued.state !== state) {
      this.ctx.storage.sql.exec("INSERT INTO entries (task_id) VALUES (?)", taskId);
      this.store(queued.state);
    }
    return queued.position;
  }

  /** Takes a task out of the queue; returns the task that holds the branch now, or null. */
  async release(taskId: string): Promise<string | null> {
    const now = Date.now();
    const released = release(this.current(now), taskId, now);
    this.ctx.storage.sql.exec("DELETE FROM entries WHERE task_id = ?", taskId);
    this.store(released.state);
    return released.head;
  }

  /** A task's position (0 holds the branch), or null when it is not queued. */
  async position(taskId: string): Promise<number | null> {
    return queuePosition(this.current(Date.now()), taskId);
  }

  /** The stored queue, with lost heads dropped (and that change stored). */
  private current(now: number): BranchQueueState {
    const entries = this.ctx.storage.sql.exec<{ task_id: string }>("SELECT task_id FROM entries ORDER BY seq").toArray().map((row) => row.task_id);
    const since = this.ctx.storage.sql.exec<{ since: number }>("SELECT since FROM head WHERE id = 1").toArray()[0]?.since ?? null;
    const { state, dropped } = dropLostHeads({ entries, headSince: entries.length === 0 ? null : since }, now);
    if (dropped.length > 0) {
      for (const taskId of dropped) this.ctx.storage.sql.exec("DELETE FROM entries WHERE task_id = ?", taskId);
      this.store(state);
    }
    return state;
  }

  /** Stores when the current head started to hold the branch. */
  private store(state: BranchQueueState): void {
    if (state.headSince === null) this.ctx.storage.sql.exec("DELETE FROM head");
    else this.ctx.storage.sql.exec("INSERT INTO head (id, since) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET since = ?1", state.headSince);
  }
}
