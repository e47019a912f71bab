/**
 * The task list's rules: which shard lists a task (its id's random last byte,
 * spread evenly), the shards' names (shard 0 keeps the one index's), and how
 * the shards' pages make one page, newest first, with a cursor exactly when
 * something was left out.
 */
import { describe, expect, it } from "vitest";
import { TASK_INDEX_NAME, TASK_INDEX_SHARDS, type TaskListDocument, type TaskStatusDocument } from "../../worker/src/contract.js";
import { mergePages, taskIndexName, taskIndexShard } from "../../worker/src/tasks/task-listing.js";

const id = (n: number) => `01a24a4b-bfa4-7006-8715-3e1c9c2a${n.toString(16).padStart(4, "0")}`;
const task = (n: number) => ({ taskId: id(n) }) as TaskStatusDocument;
const page = (numbers: number[], more = false): TaskListDocument => ({ tasks: numbers.map(task), cursor: more ? id(numbers.at(-1)!) : null });
const ids = (document: TaskListDocument) => document.tasks.map((listed) => listed.taskId);

describe("taskIndexShard", () => {
  it("spreads ids evenly over the shards by their last (random) byte", () => {
    const counts = new Array<number>(TASK_INDEX_SHARDS).fill(0);
    for (let byte = 0; byte < 256; byte++) counts[taskIndexShard(id(0x1200 + byte))]!++;
    expect(counts).toEqual(new Array<number>(TASK_INDEX_SHARDS).fill(256 / TASK_INDEX_SHARDS));
  });

  it("ignores the time part and the case", () => {
    expect(taskIndexShard("01a24a4b-bfa4-7006-8715-3e1c9c2a0e5f")).toBe(taskIndexShard("ffffffff-ffff-7fff-bfff-ffffffffff5F"));
  });
});

describe("taskIndexName", () => {
  it("gives shard 0 the one index's name, and every shard its own", () => {
    expect(taskIndexName(0)).toBe(TASK_INDEX_NAME);
    const names = Array.from({ length: TASK_INDEX_SHARDS }, (_, shard) => taskIndexName(shard));
    expect(new Set(names).size).toBe(TASK_INDEX_SHARDS);
    expect(names[3]).toBe(`${TASK_INDEX_NAME}/3`);
  });
});

describe("mergePages", () => {
  it.each([
    ["no shard lists anything", [page([]), page([])], 3, [], null],
    ["one shard's page, all of it", [page([9, 5]), page([])], 3, [9, 5], null],
    ["interleaved shards, newest first", [page([9, 4, 1]), page([8, 7, 2])], 10, [9, 8, 7, 4, 2, 1], null],
    ["more than the limit: the newest, and a cursor at the last", [page([9, 4, 1]), page([8, 7, 2])], 4, [9, 8, 7, 4], 4],
    ["exactly the limit, but a shard has more", [page([9, 8], true), page([])], 2, [9, 8], 8],
    ["a shard with more, whose rest is older than the page", [page([9, 8], true), page([7])], 3, [9, 8, 7], 7],
    ["exactly the limit, nothing more anywhere", [page([9]), page([8])], 2, [9, 8], null],
  ] as const)("%s", (_name, pages, limit, expected, cursor) => {
    const merged = mergePages(pages, limit);
    expect(ids(merged)).toEqual(expected.map(id));
    expect(merged.cursor).toBe(cursor === null ? null : id(cursor));
  });

  it("pages through shards without skipping or repeating a task, whatever the limit", () => {
    const shards = [[30, 22, 21, 9, 3], [29, 28, 10, 2], [25, 1], []];
    const all = shards.flat().sort((a, b) => b - a).map(id);
    for (const limit of [1, 2, 3, 7, 20]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const before: string | null = cursor;
        // Each shard answers as TaskIndex.list does: its newest `limit` older than the cursor, and whether it has more.
        const pages = shards.map((numbers) => {
          const older = numbers.map(id).filter((listed) => before === null || listed < before);
          return { tasks: older.slice(0, limit).map((taskId) => ({ taskId }) as TaskStatusDocument), cursor: older.length > limit ? older[limit - 1]! : null };
        });
        const merged = mergePages(pages, limit);
        seen.push(...ids(merged));
        cursor = merged.cursor;
      } while (cursor !== null);
      expect(seen, `limit ${limit}`).toEqual(all);
    }
  });
});
