/**
 * `GET /tasks` over the sharded task index: every task answered 202 is listed
 * at once, newest first, across the shards and their pages; a task the index
 * cannot list is not accepted; and the tasks of the one index of earlier
 * deployments (shard 0 keeps its name) are listed and found still.
 */
import { describe, expect, it } from "vitest";
import { TASK_INDEX_NAME, TASK_INDEX_SHARDS, type TaskListDocument, type TaskStatusDocument } from "../../worker/src/contract.js";
import { findInIndex, recordInIndex } from "../../worker/src/tasks/object-stubs.js";
import { taskIndexName, taskIndexShard } from "../../worker/src/tasks/task-listing.js";
import { sandboxEvents, storageScript } from "./harness.js";
import { cancel, freshState, getJson, storedResult, submit, submitted, testEnv } from "./helpers.js";

freshState();

/** The task index shard of that name, as the Worker reaches it. */
const shard = (name: string) => testEnv.TASK_INDEX.get(testEnv.TASK_INDEX.idFromName(name));

/** Every task of the listing, page after page of `limit`, as a client follows the cursor. */
async function wholeListing(limit: number, query = ""): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const { status, body }: { status: number; body: TaskListDocument } = await getJson<TaskListDocument>(`/tasks?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(status).toBe(200);
    expect(body.tasks.length).toBeLessThanOrEqual(limit);
    ids.push(...body.tasks.map((task) => task.taskId));
    cursor = body.cursor;
    pages++;
  } while (cursor !== null);
  return { ids, pages };
}

describe("GET /tasks over the shards of the task index", () => {
  it("lists every task answered 202 at once, newest first, in pages that neither skip nor repeat one", async () => {
    const accepted = await Promise.all(Array.from({ length: 12 }, (_, index) => submitted({ task: `listed ${index}\n@stub hang` })));
    // Listed before any of them ended: the answer 202 came after the index took each.
    const newestFirst = accepted.map((task) => task.taskId).sort().reverse();
    const shards = new Set(newestFirst.map(taskIndexShard));
    expect(shards.size).toBeGreaterThan(1);
    const { ids, pages } = await wholeListing(5);
    expect(ids.slice(0, newestFirst.length)).toEqual(newestFirst);
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages).toBeGreaterThanOrEqual(3);
    const queued = await wholeListing(100, "&status=queued");
    const running = await wholeListing(100, "&status=running");
    expect([...queued.ids, ...running.ids].filter((id) => newestFirst.includes(id)).sort()).toEqual([...newestFirst].sort());
    await Promise.all(accepted.map((task) => cancel(task.taskId)));
    await Promise.all(accepted.map((task) => storedResult(task.taskId)));
  });

  it("keeps each task in the one shard its id falls to", async () => {
    const { taskId } = await submitted({ task: "where am I" });
    await storedResult(taskId);
    const own = taskIndexShard(taskId);
    expect(await shard(taskIndexName(own)).get(taskId)).toMatchObject({ taskId, status: "succeeded" });
    for (let other = 0; other < TASK_INDEX_SHARDS; other++) if (other !== own) expect(await shard(taskIndexName(other)).get(taskId)).toBeNull();
  });

  it("does not accept a task the index cannot list: 500 task_store_failed, no container, nothing stored", async () => {
    storageScript.failIndexRecords = 1;
    const response = await submit({ task: "never listed" });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code: string; taskId: string };
    expect(body.code).toBe("task_store_failed");
    const { status } = await getJson(`/tasks/${body.taskId}`);
    expect(status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sandboxEvents.starts).toEqual([]);
    const { ids } = await wholeListing(100);
    expect(ids).not.toContain(body.taskId);
  });

  it("lists and finds the tasks of the one index of earlier deployments, and keeps a task accepted there up to date there", async () => {
    // A task accepted before the index was sharded: its row is in the index named `tasks`, whatever its id.
    const { taskId: template } = await submitted({ task: "a template" });
    const document = (await storedResult(template)) && (await getJson<TaskStatusDocument>(`/tasks/${template}`)).body;
    const legacyId = `${template.slice(0, -2)}${taskIndexShard(template) === 1 ? "02" : "01"}`;
    expect(taskIndexShard(legacyId)).not.toBe(0);
    const old: TaskStatusDocument = { ...document, taskId: legacyId, status: "queued", finishedAt: null, error: null };
    expect(await shard(TASK_INDEX_NAME).record(old)).toBe(true);
    // Its object, still running it, tells the index it runs, then that it ended: shard 0 gets it, its own shard does not.
    await recordInIndex(testEnv, { ...old, status: "running" });
    expect(await shard(taskIndexName(taskIndexShard(legacyId))).get(legacyId)).toBeNull();
    await recordInIndex(testEnv, { ...old, status: "succeeded" });
    expect(await findInIndex(testEnv, legacyId)).toMatchObject({ taskId: legacyId, status: "succeeded" });
    const { status, body } = await getJson<TaskStatusDocument>(`/tasks/${legacyId}`);
    expect(status).toBe(200);
    expect(body.status).toBe("succeeded");
    const { ids } = await wholeListing(100);
    expect(ids.filter((id) => id === legacyId)).toHaveLength(1);
    expect((await wholeListing(100, "&status=queued")).ids).not.toContain(legacyId);
  });

  it("answers 404 for a task no shard lists", async () => {
    const { status } = await getJson("/tasks/01a24a4b-bfa4-7006-8715-3e1c9c2a0e5f");
    expect(status).toBe(404);
  });
});
