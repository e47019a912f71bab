/**
 * One task at a time per repository and branch: the ordering rules
 * (worker/src/repositories/branch-queue.ts) as tables, and the BranchQueue
 * Durable Object's SQLite shell over them.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BranchQueue } from "../../worker/src/repositories/branch-queue-object.js";
import {
  branchQueueName,
  type BranchQueueState,
  dropLostHeads,
  EMPTY_BRANCH_QUEUE,
  enqueue,
  MAX_BRANCH_HOLD_MS,
  MAX_QUEUED_PER_BRANCH,
  queueHead,
  queuePosition,
  release,
} from "../../worker/src/repositories/branch-queue.js";
import { testEnv } from "./helpers.js";

/** Applies `enqueue` and expects it accepted. */
function add(state: BranchQueueState, taskId: string, now: number): { state: BranchQueueState; position: number } {
  const queued = enqueue(state, taskId, now);
  if ("refused" in queued) throw new Error(queued.refused);
  return queued;
}

/** A queue of `ids`, enqueued at t = 0, 1, 2… */
const queueOf = (...ids: string[]) => ids.reduce((state, id, index) => add(state, id, index).state, EMPTY_BRANCH_QUEUE);

describe("the ordering rules", () => {
  it("runs tasks in the order they were accepted, each after the one before releases", () => {
    let state = queueOf("a", "b", "c");
    expect([queuePosition(state, "a"), queuePosition(state, "b"), queuePosition(state, "c"), queuePosition(state, "z")]).toEqual([0, 1, 2, null]);
    expect(state.headSince).toBe(0);
    const first = release(state, "a", 100);
    expect(first.head).toBe("b");
    expect(first.state).toEqual({ entries: ["b", "c"], headSince: 100 });
    state = release(first.state, "b", 200).state;
    expect(queueHead(state)).toBe("c");
    expect(release(state, "c", 300)).toEqual({ state: { entries: [], headSince: null }, head: null });
  });

  it("keeps a task's place when it is queued again (a retried call)", () => {
    const state = queueOf("a", "b");
    const again = add(state, "a", 50);
    expect(again.position).toBe(0);
    expect(again.state).toBe(state);
  });

  it("lets a waiting task leave without moving the head's hold", () => {
    const { state, head } = release(queueOf("a", "b", "c"), "b", 500);
    expect(head).toBe("a");
    expect(state).toEqual({ entries: ["a", "c"], headSince: 0 });
  });

  it("ignores the release of a task it does not hold", () => {
    const state = queueOf("a");
    expect(release(state, "z", 10)).toEqual({ state, head: "a" });
  });

  it("refuses a task once the branch has as many waiting as it takes", () => {
    const full = queueOf(...Array.from({ length: MAX_QUEUED_PER_BRANCH }, (_, index) => `t${index}`));
    expect(enqueue(full, "one-more", 1)).toEqual({ refused: "branch_queue_full" });
  });

  it("drops heads that held the branch past the longest run, one after another, and no others", () => {
    const state = queueOf("lost", "next", "last");
    expect(dropLostHeads(state, MAX_BRANCH_HOLD_MS - 1)).toEqual({ state, dropped: [] });
    const later = MAX_BRANCH_HOLD_MS;
    expect(dropLostHeads(state, later)).toEqual({ state: { entries: ["next", "last"], headSince: later }, dropped: ["lost"] });
    expect(dropLostHeads(state, 10, 5)).toEqual({ state: { entries: ["next", "last"], headSince: 10 }, dropped: ["lost"] });
    expect(dropLostHeads(EMPTY_BRANCH_QUEUE, later)).toEqual({ state: EMPTY_BRANCH_QUEUE, dropped: [] });
  });

  it.each([
    [{ host: "github.com", path: "/Octo/Hello" }, "claude/Ab", "github.com/octo/hello#claude/Ab"],
    [{ host: "git.example.org", path: "/Group/Project" }, "main", "git.example.org/Group/Project#main"],
  ])("names the queue of %j and %s", (repository, branch, name) => {
    expect(branchQueueName(repository, branch)).toBe(name);
  });
});

describe("the BranchQueue Durable Object", () => {
  it("keeps the order in SQLite across calls and instances", async () => {
    // Its own binding comes with its wiring; until then it runs on the storage of a fresh object of another SQLite class.
    const stub = testEnv.TASK_INDEX.get(testEnv.TASK_INDEX.newUniqueId());
    await runInDurableObject(stub, async (_instance, state) => {
      const queue = new BranchQueue(state, testEnv);
      expect(await queue.enqueue("a")).toBe(0);
      expect(await queue.enqueue("b")).toBe(1);
      expect(await queue.enqueue("c")).toBe(2);
      expect(await queue.enqueue("b")).toBe(1);
      expect(await queue.position("c")).toBe(2);
      expect(await queue.release("b")).toBe("a");

      const reopened = new BranchQueue(state, testEnv);
      expect(await reopened.position("c")).toBe(1);
      expect(await reopened.release("a")).toBe("c");
      expect(await reopened.position("c")).toBe(0);
      expect(await reopened.position("a")).toBeNull();
      expect(await reopened.release("c")).toBeNull();
      expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM entries").one().n).toBe(0);
      expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM head").one().n).toBe(0);
    });
  });

  it("drops a head that held the branch too long, and stores that", async () => {
    const stub = testEnv.TASK_INDEX.get(testEnv.TASK_INDEX.newUniqueId());
    await runInDurableObject(stub, async (_instance, state) => {
      const queue = new BranchQueue(state, testEnv);
      await queue.enqueue("lost");
      await queue.enqueue("waiting");
      // The head's hold began longer ago than any task runs.
      state.storage.sql.exec("UPDATE head SET since = ?", Date.now() - MAX_BRANCH_HOLD_MS - 1);
      expect(await queue.position("waiting")).toBe(0);
      expect(state.storage.sql.exec<{ task_id: string }>("SELECT task_id FROM entries").toArray()).toEqual([{ task_id: "waiting" }]);
      expect(state.storage.sql.exec<{ since: number }>("SELECT since FROM head").one().since).toBeGreaterThan(Date.now() - 60_000);
    });
  });
});
