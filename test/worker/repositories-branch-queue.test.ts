/**
 * One task at a time per repository and branch: the ordering rules
 * (worker/src/repositories/branch-queue.ts) as tables, and the BranchQueue
 * Durable Object's SQLite shell over them.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../worker/src/contract.js";
import { BranchQueue } from "../../worker/src/repositories/branch-queue-object.js";
import {
  BRANCH_RELEASE_MARGIN_MS,
  branchHoldMs,
  branchQueueName,
  type BranchQueueState,
  claimTurn,
  dropLostHeads,
  EMPTY_BRANCH_QUEUE,
  enqueue,
  MAX_BRANCH_HOLD_MS,
  MAX_QUEUED_PER_BRANCH,
  queueHead,
  queuePosition,
  release,
  UNCLAIMED_TURN_MS,
} from "../../worker/src/repositories/branch-queue.js";
import { taskGraceMs } from "../../worker/src/tasks/lifecycle.js";
import { testEnv } from "./helpers.js";

/** Applies `enqueue` and expects it accepted. */
function add(state: BranchQueueState, taskId: string, now: number, holdMs?: number): { state: BranchQueueState; position: number } {
  const queued = enqueue(state, taskId, now, holdMs);
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
    expect(first.state).toEqual({ entries: ["b", "c"], headSince: 100, headUntil: null });
    state = release(first.state, "b", 200).state;
    expect(queueHead(state)).toBe("c");
    expect(release(state, "c", 300)).toEqual({ state: { entries: [], headSince: null, headUntil: null }, head: null });
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
    expect(state).toEqual({ entries: ["a", "c"], headSince: 0, headUntil: null });
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
    // Each head claimed the longest run there is.
    const state = claimTurn(queueOf("lost", "next", "last"), "lost", MAX_BRANCH_HOLD_MS, 0);
    expect(dropLostHeads(state, MAX_BRANCH_HOLD_MS - 1)).toEqual({ state, dropped: [] });
    const later = MAX_BRANCH_HOLD_MS;
    expect(dropLostHeads(state, later)).toEqual({ state: { entries: ["next", "last"], headSince: later, headUntil: null }, dropped: ["lost"] });
    expect(dropLostHeads(claimTurn(queueOf("lost", "next", "last"), "lost", 5, 0), 10)).toEqual({
      state: { entries: ["next", "last"], headSince: 10, headUntil: null },
      dropped: ["lost"],
    });
    expect(dropLostHeads(EMPTY_BRANCH_QUEUE, later)).toEqual({ state: EMPTY_BRANCH_QUEUE, dropped: [] });
  });

  it("drops a head that claimed its turn only after its own deadline, however long", () => {
    // The longest a task may legitimately hold its branch: the longest queue timeout, timeout and grace, with both repository steps.
    const longest = branchHoldMs({ queueTimeoutMs: 24 * 3_600_000, timeoutMs: LIMITS.ceilingTimeoutMs, graceMs: taskGraceMs({ graceMs: 600_000, repository: true }) });
    expect(longest).toBe(24 * 3_600_000 + LIMITS.ceilingTimeoutMs + 600_000 + 2 * LIMITS.repositoryStepSeconds * 1000 + BRANCH_RELEASE_MARGIN_MS);
    expect(MAX_BRANCH_HOLD_MS).toBe(longest);
    const state = claimTurn(queueOf("long", "next"), "long", longest, 0);
    expect(state.headUntil).toBe(longest);
    // Long past the unclaimed limit and what the limit used to be (the longest timeout, the most grace and 5 minutes).
    expect(dropLostHeads(state, LIMITS.ceilingTimeoutMs + 600_000 + 300_000).dropped).toEqual([]);
    expect(dropLostHeads(state, longest - 1).dropped).toEqual([]);
    expect(dropLostHeads(state, longest).dropped).toEqual(["long"]);
    // A task's own hold: its queue timeout, its timeout and its grace, and the margin to let go.
    expect(branchHoldMs({ queueTimeoutMs: 600_000, timeoutMs: 300_000, graceMs: 30_000 })).toBe(930_000 + BRANCH_RELEASE_MARGIN_MS);
  });

  it("lets only the head claim its turn, and keeps its first claim", () => {
    const state = queueOf("a", "b");
    expect(claimTurn(state, "b", 1000, 5)).toBe(state);
    const claimed = claimTurn(state, "a", 1000, 5);
    expect(claimed).toEqual({ entries: ["a", "b"], headSince: 0, headUntil: 1005 });
    expect(claimTurn(claimed, "a", 9999, 50)).toBe(claimed);
    // Enqueued with its hold, a task that takes the branch at once claims it; one that waits does not.
    const first = add(EMPTY_BRANCH_QUEUE, "x", 100, 1000);
    expect(first.state).toEqual({ entries: ["x"], headSince: 100, headUntil: 1100 });
    expect(add(first.state, "y", 200, 1000).state).toEqual({ entries: ["x", "y"], headSince: 100, headUntil: 1100 });
    // The next head holds the branch unclaimed until it claims it.
    expect(release(claimed, "a", 70).state).toEqual({ entries: ["b"], headSince: 70, headUntil: null });
  });

  it("drops a head that leaves its turn unclaimed (it never learnt of it) after UNCLAIMED_TURN_MS", () => {
    const state = queueOf("gone", "next");
    expect(dropLostHeads(state, UNCLAIMED_TURN_MS - 1).dropped).toEqual([]);
    expect(dropLostHeads(state, UNCLAIMED_TURN_MS)).toEqual({ state: { entries: ["next"], headSince: UNCLAIMED_TURN_MS, headUntil: null }, dropped: ["gone"] });
  });

  it.each([
    [{ host: "github.com", path: "/Octo/Hello", github: { owner: "Octo", repo: "Hello" } }, "claude/Ab", "github.com/octo/hello#claude/Ab"],
    [{ host: "ghe.example.com", path: "/Octo/Hello", github: { owner: "Octo", repo: "Hello" } }, "main", "ghe.example.com/octo/hello#main"],
    [{ host: "git.example.org", path: "/Group/Project", github: null }, "main", "git.example.org/Group/Project#main"],
  ])("names the queue of %j and %s", (repository, branch, name) => {
    expect(branchQueueName(repository, branch)).toBe(name);
  });
});

describe("the BranchQueue Durable Object", () => {
  const HOLD = 60_000;
  const fresh = () => testEnv.BRANCH_QUEUES.get(testEnv.BRANCH_QUEUES.newUniqueId());

  it("keeps the order in SQLite across calls and instances", async () => {
    await runInDurableObject(fresh(), async (queue: BranchQueue, state) => {
      expect(await queue.enqueue("a", HOLD)).toEqual({ position: 0 });
      expect(await queue.enqueue("b", HOLD)).toEqual({ position: 1 });
      expect(await queue.enqueue("c", HOLD)).toEqual({ position: 2 });
      expect(await queue.enqueue("b", HOLD)).toEqual({ position: 1 });
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

  it("stores the turn a head claims, and drops the head only once its claim ran out", async () => {
    await runInDurableObject(fresh(), async (queue: BranchQueue, state) => {
      const before = Date.now();
      expect(await queue.enqueue("first", HOLD)).toEqual({ position: 0 });
      await queue.enqueue("second", HOLD);
      const until = state.storage.sql.exec<{ until: number }>("SELECT until FROM head").one().until;
      expect(until).toBeGreaterThanOrEqual(before + HOLD);
      // Long past the unclaimed limit, within its claim: still the head.
      state.storage.sql.exec("UPDATE head SET since = ?", Date.now() - UNCLAIMED_TURN_MS - 1);
      expect(await queue.position("second")).toBe(1);
      // Its claim ran out: dropped, and the next head claims its own turn as it learns of it.
      state.storage.sql.exec("UPDATE head SET until = ?", Date.now() - 1);
      const asked = Date.now();
      expect(await queue.position("second", HOLD)).toBe(0);
      expect(state.storage.sql.exec<{ task_id: string }>("SELECT task_id FROM entries").toArray()).toEqual([{ task_id: "second" }]);
      expect(state.storage.sql.exec<{ until: number }>("SELECT until FROM head").one().until).toBeGreaterThanOrEqual(asked + HOLD);
    });
  });

  it("drops a head that held the branch too long without claiming it, and stores that", async () => {
    await runInDurableObject(fresh(), async (queue: BranchQueue, state) => {
      await queue.enqueue("lost", HOLD);
      await queue.enqueue("waiting", HOLD);
      // The head never claimed its turn, and its hold began longer ago than a live task takes to claim it.
      state.storage.sql.exec("UPDATE head SET since = ?, until = NULL", Date.now() - UNCLAIMED_TURN_MS - 1);
      expect(await queue.position("waiting")).toBe(0);
      expect(state.storage.sql.exec<{ task_id: string }>("SELECT task_id FROM entries").toArray()).toEqual([{ task_id: "waiting" }]);
      expect(state.storage.sql.exec<{ since: number }>("SELECT since FROM head").one().since).toBeGreaterThan(Date.now() - 60_000);
    });
  });

  it("gives the head of a queue stored before heads claimed their turn the longest hold there is", async () => {
    await runInDurableObject(fresh(), async (_queue: BranchQueue, state) => {
      // The tables as the first version made them, with a head and a task waiting.
      state.storage.sql.exec("DROP TABLE head");
      state.storage.sql.exec("CREATE TABLE head (id INTEGER PRIMARY KEY CHECK (id = 1), since INTEGER NOT NULL)");
      state.storage.sql.exec("INSERT INTO entries (task_id) VALUES ('old'), ('new')");
      const since = Date.now() - 2 * 3_600_000;
      state.storage.sql.exec("INSERT INTO head (id, since) VALUES (1, ?)", since);
      const upgraded = new BranchQueue(state, testEnv);
      expect(state.storage.sql.exec<{ until: number }>("SELECT until FROM head").one().until).toBe(since + MAX_BRANCH_HOLD_MS);
      expect(await upgraded.position("new", HOLD)).toBe(1);
    });
  });

  it("refuses a task when its branch has MAX_QUEUED_PER_BRANCH tasks, and stores nothing of it", async () => {
    await runInDurableObject(fresh(), async (queue: BranchQueue, state) => {
      for (let index = 0; index < MAX_QUEUED_PER_BRANCH; index++) expect(await queue.enqueue(`t${index}`, HOLD)).toEqual({ position: index });
      expect(await queue.enqueue("one-more", HOLD)).toEqual({ refused: "branch_queue_full" });
      expect(await queue.position("one-more")).toBeNull();
      expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM entries").one().n).toBe(MAX_QUEUED_PER_BRANCH);
    });
  });
});
