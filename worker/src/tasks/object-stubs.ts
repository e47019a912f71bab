/**
 * How code reaches the Durable Objects of tasks: a task's own object (one per
 * task id) and the task index, whose `TASK_INDEX_SHARDS` shards each list the
 * tasks whose id falls to them (task-listing.ts).
 *
 * Shard 0 keeps the name of the one index of earlier deployments, so the tasks
 * it lists are listed still: it is asked with every other shard. A task
 * accepted before the index was sharded keeps its row there; its later status
 * documents, which its own shard does not take (`TaskIndex.record`), go there
 * too, and a lookup its own shard cannot answer asks there.
 */
import { TASK_INDEX_SHARDS, type TaskListDocument, type TaskStatusDocument } from "../contract.js";
import type { WorkerEnv } from "../env.js";
import { mergePages, type TaskListQuery, taskIndexName, taskIndexShard } from "./task-listing.js";

type IndexEnv = Pick<WorkerEnv, "TASK_INDEX">;

/** The Durable Object of a task. */
export function taskObject(env: Pick<WorkerEnv, "TASKS">, taskId: string) {
  return env.TASKS.get(env.TASKS.idFromName(taskId));
}

function shardStub(env: IndexEnv, shard: number) {
  return env.TASK_INDEX.get(env.TASK_INDEX.idFromName(taskIndexName(shard)));
}

/** Tells the index a task's status document; a document its shard does not take goes to shard 0 (a task accepted before sharding). */
export async function recordInIndex(env: IndexEnv, document: TaskStatusDocument): Promise<void> {
  const shard = taskIndexShard(document.taskId);
  if (shard === 0 || !(await shardStub(env, shard).record(document))) await shardStub(env, 0).record(document, true);
}

/** A task's last status document in the index, or null when it lists no such task. */
export async function findInIndex(env: IndexEnv, taskId: string): Promise<TaskStatusDocument | null> {
  const shard = taskIndexShard(taskId);
  const found = await shardStub(env, shard).get(taskId);
  return found ?? (shard === 0 ? null : await shardStub(env, 0).get(taskId));
}

/** A page of the deployment's tasks, newest first: every shard's page for the query, merged. */
export async function listFromIndex(env: IndexEnv, query: TaskListQuery): Promise<TaskListDocument> {
  const pages = await Promise.all(Array.from({ length: TASK_INDEX_SHARDS }, (_, shard) => shardStub(env, shard).list(query)));
  return mergePages(pages, query.limit);
}
