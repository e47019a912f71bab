/**
 * The TaskIndex Durable Object: the deployment's tasks are listed by
 * `TASK_INDEX_SHARDS` instances of it (shards; task-listing.ts says which
 * lists which task), so that no one object bounds how many tasks a deployment
 * accepts. Each lists its tasks newest first for `GET /tasks`, and keeps the
 * status document of finished tasks (whose own Task objects are cleared) for
 * `GET /tasks/:id`. Task ids are UUIDv7, so ordering by id is ordering by
 * creation time. Rows older than the retention are deleted by a daily alarm,
 * as R2 deletes results.
 */
import { DurableObject } from "cloudflare:workers";
import { LIMITS, type TaskListDocument, type TaskStatus, type TaskStatusDocument } from "../contract.js";
import type { WorkerEnv } from "../env.js";
import { readSettings } from "../settings.js";
import { isTerminal } from "./lifecycle.js";
import type { TaskListQuery } from "./task-listing.js";

const DAY_MS = 86_400_000;

/**
 * Whether a status document may replace the stored one: updates arrive in
 * order from one Task object, but a late non-terminal update must never hide
 * a terminal status, and a terminal status is only refreshed (callback state).
 */
export function replacesStored(stored: TaskStatus | null, incoming: TaskStatus): boolean {
  if (stored === null) return true;
  if (isTerminal(stored)) return incoming === stored;
  return !(stored === "running" && incoming === "queued");
}

export class TaskIndex extends DurableObject<WorkerEnv> {
  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.ctx.storage.sql.exec(
        `CREATE TABLE IF NOT EXISTS tasks (
           id TEXT PRIMARY KEY,
           status TEXT NOT NULL,
           created_at INTEGER NOT NULL,
           document TEXT NOT NULL
         )`,
      );
      this.ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, id)");
      if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + DAY_MS);
    });
  }

  /**
   * Records a task's status document (see `replacesStored`). A task this
   * shard does not list yet is taken only with its first document (`queued`)
   * or when `takeUnknown` says so; otherwise the answer is false, and the
   * document belongs to the index that listed the task at its acceptance.
   */
  async record(document: TaskStatusDocument, takeUnknown = false): Promise<boolean> {
    const row = this.ctx.storage.sql.exec<{ status: string }>("SELECT status FROM tasks WHERE id = ?", document.taskId).toArray()[0];
    if (!row && !takeUnknown && document.status !== "queued") return false;
    if (!replacesStored((row?.status as TaskStatus | undefined) ?? null, document.status)) return true;
    this.ctx.storage.sql.exec(
      `INSERT INTO tasks (id, status, created_at, document) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (id) DO UPDATE SET status = ?2, document = ?4`,
      document.taskId,
      document.status,
      Date.parse(document.createdAt),
      JSON.stringify(document),
    );
    return true;
  }

  /** One task's last recorded status document, or null. */
  async get(taskId: string): Promise<TaskStatusDocument | null> {
    const row = this.ctx.storage.sql.exec<{ document: string }>("SELECT document FROM tasks WHERE id = ?", taskId).toArray()[0];
    return row ? (JSON.parse(row.document) as TaskStatusDocument) : null;
  }

  /** A page of this shard's tasks, newest first, and the cursor of its next page (null on the last). */
  async list(query: TaskListQuery): Promise<TaskListDocument> {
    const limit = Math.min(Math.max(1, query.limit), LIMITS.listPage.max);
    const rows = this.ctx.storage.sql
      .exec<{ id: string; document: string }>(
        `SELECT id, document FROM tasks
         WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR id < ?2)
         ORDER BY id DESC LIMIT ?3`,
        query.status,
        query.before,
        limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit);
    return {
      tasks: page.map((row) => JSON.parse(row.document) as TaskStatusDocument),
      cursor: rows.length > limit ? page.at(-1)!.id : null,
    };
  }

  /** Deletes the rows older than the retention, once a day. */
  override async alarm(): Promise<void> {
    let days: number = LIMITS.resultRetentionDays;
    try {
      days = readSettings(this.env).resultRetentionDays;
    } catch {
      // Invalid settings keep the default retention rather than deleting early.
    }
    this.ctx.storage.sql.exec("DELETE FROM tasks WHERE created_at < ?", Date.now() - days * DAY_MS);
    await this.ctx.storage.setAlarm(Date.now() + DAY_MS);
  }
}
