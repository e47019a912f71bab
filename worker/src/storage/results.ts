/**
 * Task results in R2, one JSON object per task at `tasks/<taskId>/result.json`.
 * Callers pass canonical task ids only (see `parseTaskId`), so no key is ever
 * built from unchecked input.
 */
import { resultKey } from "../contract.js";
import { ApiError } from "../http/errors.js";
import type { TaskResult } from "../tasks/task-runner.js";

/** The part of an R2 bucket the store uses. */
export type ResultBucket = Pick<R2Bucket, "put" | "get">;

/** Writes a result; on failure throws a 500 `result_store_failed` that still carries the task id and the result. */
export async function storeResult(bucket: ResultBucket, result: TaskResult): Promise<void> {
  try {
    await bucket.put(resultKey(result.taskId), JSON.stringify(result), {
      httpMetadata: { contentType: "application/json" },
      customMetadata: { success: String(result.success) },
    });
  } catch {
    throw new ApiError("result_store_failed", { extra: { taskId: result.taskId, result } });
  }
}

/** Reads a stored result, or throws 404 `result_not_found` / 500 `result_read_failed`. */
export async function loadResult(bucket: ResultBucket, taskId: string): Promise<unknown> {
  let text: string;
  try {
    const object = await bucket.get(resultKey(taskId));
    if (object === null) throw new ApiError("result_not_found");
    text = await object.text();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError("result_read_failed", { extra: { taskId } });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError("result_read_failed", { extra: { taskId } });
  }
}
