/**
 * The task list's rules, as pure functions: which shard of the task index
 * lists a task, the shards' names, and how their pages make one page of the
 * whole listing (tasks/object-stubs.ts asks the shards; tasks/task-index.ts is
 * the shard). Task ids are UUIDv7 in lower case, so by id is by creation time.
 */
import { TASK_INDEX_NAME, TASK_INDEX_SHARDS, type TaskListDocument, type TaskStatus } from "../contract.js";

/** What `GET /tasks` asks each shard. */
export interface TaskListQuery {
  limit: number;
  /** Only tasks older than this id (the previous page's cursor). */
  before: string | null;
  status: TaskStatus | null;
}

/** The shard that lists `taskId`: its last byte (random in a UUIDv7) modulo the shard count, so any code can tell. */
export function taskIndexShard(taskId: string): number {
  return Number.parseInt(taskId.slice(-2), 16) % TASK_INDEX_SHARDS;
}

/** The instance name of a shard: shard 0 keeps the name of the one index of earlier deployments. */
export function taskIndexName(shard: number): string {
  return shard === 0 ? TASK_INDEX_NAME : `${TASK_INDEX_NAME}/${shard}`;
}

/**
 * One page of the whole listing from each shard's page for the same query:
 * each shard gave its newest `limit` tasks (and a cursor when it has more), so
 * the newest `limit` of them all are the page, and there is a next page when
 * any task was left out.
 */
export function mergePages(pages: readonly TaskListDocument[], limit: number): TaskListDocument {
  const all = pages.flatMap((page) => page.tasks).sort((a, b) => (a.taskId < b.taskId ? 1 : a.taskId > b.taskId ? -1 : 0));
  const tasks = all.slice(0, limit);
  const more = all.length > limit || pages.some((page) => page.cursor !== null);
  return { tasks, cursor: more && tasks.length > 0 ? tasks.at(-1)!.taskId : null };
}
