/**
 * How code reaches the Durable Objects of tasks: a task's own object (one per
 * task id) and the deployment's task index.
 */
import { TASK_INDEX_NAME } from "../contract.js";
import type { WorkerEnv } from "../env.js";

/** The Durable Object of a task. */
export function taskObject(env: Pick<WorkerEnv, "TASKS">, taskId: string) {
  return env.TASKS.get(env.TASKS.idFromName(taskId));
}

/** The deployment's task index. */
export function taskIndex(env: Pick<WorkerEnv, "TASK_INDEX">) {
  return env.TASK_INDEX.get(env.TASK_INDEX.idFromName(TASK_INDEX_NAME));
}
