/**
 * The task store over a real Durable Object's storage: records are read
 * afresh every time, `reload` refuses a task that moved on, events are
 * numbered without gaps, redacted and bounded, and `clear` leaves nothing.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LIMITS, type TaskEvent } from "../../worker/src/contract.js";
import type { TaskSubmission } from "../../worker/src/tasks/submission.js";
import { newTaskRecord } from "../../worker/src/tasks/task-record.js";
import { ChangeSignal, TaskStore } from "../../worker/src/tasks/task-store.js";
import { testEnv } from "./helpers.js";

const SECRET = "secret-value-of-the-deployment";

function submission(taskId: string): TaskSubmission {
  return {
    taskId,
    createdAt: Date.now(),
    request: { task: "t", timeoutMs: 60_000, permissionMode: "bypassPermissions" },
    graceMs: 30_000,
    queueTimeoutMs: 600_000,
    maxOutputBytes: 64,
    credentialMode: "proxy",
    repository: null,
  };
}

/** Runs `test` with a store over the storage of a fresh object. */
function withStore<T>(test: (store: TaskStore, state: DurableObjectState) => Promise<T> | T): Promise<T> {
  const taskId = crypto.randomUUID();
  return runInDurableObject(testEnv.TASKS.get(testEnv.TASKS.idFromName(taskId)), (_instance, state) => test(new TaskStore(state.storage), state));
}

describe("TaskStore", () => {
  it("reads the record afresh on every load: a change saved elsewhere is seen at once", () =>
    withStore((store) => {
      const record = newTaskRecord(submission(crypto.randomUUID()), Date.now());
      store.save(record);
      const held = store.load()!;
      store.save({ ...record, status: "cancelled" });
      expect(held.status).toBe("queued");
      expect(store.load()!.status).toBe("cancelled");
    }));

  it.each([
    ["still queued", "queued", ["queued"], "queued"],
    ["queued or running, and running", "running", ["queued", "running"], "running"],
    ["cancelled meanwhile", "cancelled", ["running"], null],
    ["ended meanwhile", "succeeded", ["queued", "running"], null],
  ] as const)("reload answers the record only while its status is one asked for: %s", (_name, status, statuses, expected) =>
    withStore((store) => {
      store.save({ ...newTaskRecord(submission(crypto.randomUUID()), Date.now()), status });
      expect(store.reload(...statuses)?.status ?? null).toBe(expected);
    }));

  it("answers null for an object that holds no task", () =>
    withStore((store) => {
      expect(store.load()).toBeNull();
      expect(store.reload("queued", "running")).toBeNull();
    }));

  it("numbers events from 1 without gaps, stamps them, and redacts the deployment's secrets", () =>
    withStore((store) => {
      const record = newTaskRecord(submission(crypto.randomUUID()), Date.now());
      store.append(record, { type: "status", data: { status: "queued" } }, [SECRET]);
      store.append(record, { type: "text", data: { text: `the key is ${SECRET}` } }, [SECRET]);
      expect(record.eventCount).toBe(2);
      const events = store.readEvents(0, 10).map((row) => JSON.parse(row.json) as TaskEvent);
      expect(events.map((event) => [event.seq, event.type])).toEqual([
        [1, "status"],
        [2, "text"],
      ]);
      expect(events[1]!.data).toEqual({ text: "the key is [redacted]" });
      expect(Date.parse(events[0]!.at)).not.toBeNaN();
      expect(store.readEvents(1, 10).map((row) => row.seq)).toEqual([2]);
    }));

  it(`keeps at most LIMITS.maxEvents events, but always the result and end`, () =>
    withStore((store) => {
      const record = newTaskRecord(submission(crypto.randomUUID()), Date.now());
      record.eventCount = LIMITS.maxEvents - 1;
      store.append(record, { type: "text", data: { text: "last that fits" } }, []);
      store.append(record, { type: "text", data: { text: "dropped" } }, []);
      store.append(record, { type: "result", data: { success: true, error: null, usage: null } }, []);
      store.append(record, { type: "end", data: { status: "succeeded" } }, []);
      expect(store.readEvents(LIMITS.maxEvents - 1, 10).map((row) => [row.seq, (JSON.parse(row.json) as TaskEvent).type])).toEqual([
        [LIMITS.maxEvents, "text"],
        [LIMITS.maxEvents + 1, "result"],
        [LIMITS.maxEvents + 2, "end"],
      ]);
    }));

  it("gives Claude's texts so far, the last of them when they are long", () =>
    withStore((store) => {
      const record = newTaskRecord(submission(crypto.randomUUID()), Date.now());
      store.append(record, { type: "status", data: { status: "running" } }, []);
      store.append(record, { type: "text", data: { text: "First." } }, []);
      store.append(record, { type: "tool_use", data: { id: "t1", name: "Bash", input: { command: "ls" } } }, []);
      store.append(record, { type: "text", data: { text: "Second." } }, []);
      expect(store.texts(1024)).toEqual({ text: "First.\n\nSecond.", truncated: false });
      expect(store.texts(9)).toEqual({ text: "\n\nSecond.", truncated: true });
    }));

  it("wakes event readers when an event is stored, and both kinds of waiters when it clears", () =>
    withStore(async (store, state) => {
      const record = newTaskRecord(submission(crypto.randomUUID()), Date.now());
      store.save(record);
      const started = Date.now();
      const woken = store.eventAdded.wait(5_000);
      store.append(record, { type: "status", data: { status: "queued" } }, []);
      await woken;
      expect(Date.now() - started).toBeLessThan(1_000);
      await state.storage.setAlarm(Date.now() + 60_000);
      const events = store.eventAdded.wait(5_000);
      const result = store.resultSettled.wait(5_000);
      await store.clear();
      await Promise.all([events, result]);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(store.load()).toBeNull();
      expect(await state.storage.getAlarm()).toBeNull();
    }));
});

describe("ChangeSignal", () => {
  it("resolves a wait after its time when nothing happens", async () => {
    const started = Date.now();
    await new ChangeSignal().wait(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("wakes every waiter at once on notify, and only those waiting then", async () => {
    const signal = new ChangeSignal();
    const started = Date.now();
    const waits = [signal.wait(5_000), signal.wait(5_000)];
    signal.notify();
    await Promise.all(waits);
    expect(Date.now() - started).toBeLessThan(1_000);
    const later = Date.now();
    await signal.wait(50);
    expect(Date.now() - later).toBeGreaterThanOrEqual(45);
  });
});
