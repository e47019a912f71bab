/**
 * The BranchQueue Durable Object: one per repository and branch (named by
 * `branchQueueName`), keeping the order of the tasks that work on it in
 * SQLite. A thin shell over the rules in branch-queue.ts: each call loads the
 * queue, applies one rule, and stores what changed. Every call first drops a
 * head that is lost (see `dropLostHeads`).
 */
import { DurableObject } from "cloudflare:workers";
import type { WorkerEnv } from "../env.js";
import { type BranchQueueState, claimTurn, dropLostHeads, enqueue, MAX_BRANCH_HOLD_MS, queuePosition, release } from "./branch-queue.js";

export class BranchQueue extends DurableObject<WorkerEnv> {
  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    // SQLite calls are synchronous: the tables exist before any method runs.
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL UNIQUE)");
    sql.exec("CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY CHECK (id = 1), since INTEGER NOT NULL, until INTEGER)");
    const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('head')").toArray();
    if (!columns.some((column) => column.name === "until")) {
      // A queue from before heads claimed their turn: its head may hold the branch as long as any task can.
      sql.exec("ALTER TABLE head ADD COLUMN until INTEGER");
      sql.exec("UPDATE head SET until = since + ?", MAX_BRANCH_HOLD_MS);
    }
  }

  /**
   * Queues a task (idempotent) and returns its position: 0 holds the branch,
   * and then its turn is claimed for `holdMs`. Refused when the branch's queue is full.
   */
  async enqueue(taskId: string, holdMs: number): Promise<{ position: number } | { refused: "branch_queue_full" }> {
    const now = Date.now();
    const state = this.current(now);
    const queued = enqueue(state, taskId, now, holdMs);
    if ("refused" in queued) return queued;
    if (queuePosition(state, taskId) === null) this.ctx.storage.sql.exec("INSERT INTO entries (task_id) VALUES (?)", taskId);
    if (queued.state !== state) this.store(queued.state);
    return { position: queued.position };
  }

  /** Takes a task out of the queue; returns the task that holds the branch now, or null. */
  async release(taskId: string): Promise<string | null> {
    const now = Date.now();
    const released = release(this.current(now), taskId, now);
    this.ctx.storage.sql.exec("DELETE FROM entries WHERE task_id = ?", taskId);
    this.store(released.state);
    return released.head;
  }

  /**
   * A task's position (0 holds the branch), or null when it is not queued.
   * With `holdMs`, a task that holds the branch claims its turn for that long.
   */
  async position(taskId: string, holdMs?: number): Promise<number | null> {
    const now = Date.now();
    const state = this.current(now);
    if (holdMs !== undefined) {
      const claimed = claimTurn(state, taskId, holdMs, now);
      if (claimed !== state) this.store(claimed);
    }
    return queuePosition(state, taskId);
  }

  /** The stored queue, with lost heads dropped (and that change stored). */
  private current(now: number): BranchQueueState {
    const sql = this.ctx.storage.sql;
    const entries = sql.exec<{ task_id: string }>("SELECT task_id FROM entries ORDER BY seq").toArray().map((row) => row.task_id);
    const head = sql.exec<{ since: number; until: number | null }>("SELECT since, until FROM head WHERE id = 1").toArray()[0];
    const stored: BranchQueueState = { entries, headSince: entries.length === 0 ? null : (head?.since ?? null), headUntil: head?.until ?? null };
    const { state, dropped } = dropLostHeads(stored, now);
    if (dropped.length > 0) {
      for (const taskId of dropped) sql.exec("DELETE FROM entries WHERE task_id = ?", taskId);
      this.store(state);
    }
    return state;
  }

  /** Stores when the current head started to hold the branch, and until when it claimed it. */
  private store(state: BranchQueueState): void {
    if (state.headSince === null) this.ctx.storage.sql.exec("DELETE FROM head");
    else {
      this.ctx.storage.sql.exec(
        "INSERT INTO head (id, since, until) VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET since = ?1, until = ?2",
        state.headSince,
        state.headUntil,
      );
    }
  }
}
