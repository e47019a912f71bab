/**
 * A task whose container misbehaves, driven through the real Worker and Task
 * object with faults at the container boundary: a container lost mid-task, a
 * log stream that breaks while Claude Code runs, no capacity, a slow or failed
 * start, an object rebuilt mid-run, a destroy that fails or hangs. Whatever
 * happens, the task ends once and its result is stored.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TaskResult } from "../../worker/src/contract.js";
import { resultKey } from "../../worker/src/contract.js";
import { START_LEASE_MS } from "../../worker/src/tasks/task-object.js";
import { sandboxEvents, sandboxScript, Task, taskEvents } from "./harness.js";
import {
  auth,
  call,
  captureLogs,
  eventsOf,
  eventually,
  expectGapless,
  freshState,
  NO_INSTANCE,
  noContainers,
  sandboxDestroyed as expectDestroyed,
  statusBecomes,
  storedResult,
  stubEventTypes,
  submitted,
  submittedWithEnv,
  taskStorage,
  testEnv,
} from "./helpers.js";

freshState();
const logs = captureLogs();

describe("the container", () => {
  it("lost mid-task ends the task as failed platform_interrupted, with the result stored", async () => {
    sandboxScript.loseContainerAfterFrames = 4;
    const { taskId } = await submitted({ task: "lose me\n@stub delay=50" });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "failed", success: false, exitCode: null, error: { code: "platform_interrupted" } });
    await expectDestroyed(taskId);
    expect((await eventsOf(taskId)).at(-1)).toMatchObject({ type: "end", data: { status: "failed" } });
  });

  it("whose log stream breaks while Claude Code runs is reattached: events resume without gaps or repeats", async () => {
    sandboxScript.endStreamAfterFrames = 4;
    const { taskId } = await submitted({ task: "reattach\n@stub delay=150\n@stub events=5" });
    const result = await storedResult(taskId);
    expect(result.status).toBe("succeeded");
    expect(sandboxEvents.streams).toBeGreaterThanOrEqual(2);
    const events = await eventsOf(taskId);
    expectGapless(events);
    expect(events.map((event) => event.type)).toEqual(stubEventTypes(5));
    // Everything printed, the replayed part included, is in the result once.
    expect(result.stdout.match(/"subtype":"init"/g)).toHaveLength(1);
  });

  it("that cannot be had waits queued, retried, and runs once one is free", async () => {
    sandboxScript.startErrors = [NO_INSTANCE, "Maximum number of running container instances exceeded"];
    const { taskId } = await submitted({ task: "patient" });
    const result = await storedResult(taskId, 15_000);
    expect(result.status).toBe("succeeded");
    expect(sandboxEvents.starts.length).toBe(3);
    const [queued, running] = await eventsOf(taskId);
    expect([queued!.data, running!.data]).toEqual([{ status: "queued" }, { status: "running" }]);
  });

  it("that takes long to start leaves the alarm asleep meanwhile, instead of firing again and again", async () => {
    sandboxScript.startDelayMs = 7_000;
    const { taskId } = await submitted({ task: "cold start" });
    await eventually(async () => (sandboxEvents.starts.length >= 1 ? true : undefined));
    // The start in flight holds a lease: the next attempt, and the alarm, wait for it.
    expect((await taskStorage(taskId)).alarm).toBeGreaterThanOrEqual(Date.now() + START_LEASE_MS - 10_000);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const objectId = testEnv.TASKS.idFromName(taskId).toString();
    expect(taskEvents.alarms.filter((id) => id === objectId).length).toBeLessThanOrEqual(1);
    expect((await storedResult(taskId)).status).toBe("succeeded");
    expect(sandboxEvents.starts.length).toBe(1);
  }, 20_000);

  it("that stays unavailable fails the task with sandbox_unavailable after the queue timeout", async () => {
    noContainers();
    const { taskId } = await submittedWithEnv({ QUEUE_TIMEOUT_MS: "1500" }, { task: "no luck" });
    const started = Date.now();
    const result = await storedResult(taskId);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result).toMatchObject({ status: "failed", startedAt: null, error: { code: "sandbox_unavailable" } });
    expect(result.error!.message).toBe("No sandbox became available within 1500 ms");
  });

  it("that fails to start for another reason three times fails the task with platform_interrupted", async () => {
    sandboxScript.startErrors = ["image pull failed", "image pull failed", "image pull failed"];
    const { taskId } = await submitted({ task: "broken image" });
    const result = await storedResult(taskId, 15_000);
    expect(result).toMatchObject({ status: "failed", error: { code: "platform_interrupted", message: "The sandbox could not start Claude Code" } });
    expect(sandboxEvents.starts.length).toBe(3);
  });

  it("that cannot be destroyed still lets the task end and be stored, with a warning", async () => {
    sandboxScript.destroy = "throw";
    const { taskId } = await submitted({ task: "sticky" });
    expect((await storedResult(taskId)).status).toBe("succeeded");
    await eventually(async () => (logs.records().some((record) => record.code === "sandbox_destroy_failed") ? true : undefined));
  });

  it("survives its object being rebuilt mid-run (a redeploy): a fresh instance's alarm reattaches, and the task ends", async () => {
    const { taskId } = await submitted({ task: "redeploy me\n@stub hang", timeout: 4000 });
    await eventually(async () => ((await eventsOf(taskId)).length >= 6 ? true : undefined));
    const streams = sandboxEvents.streams;
    await runInDurableObject(testEnv.TASKS.get(testEnv.TASKS.idFromName(taskId)), async (_instance, state) => {
      // The same stored task under new code: nothing of the old instance's memory.
      const rebuilt = new Task(state, testEnv);
      await rebuilt.alarm();
      expect(await rebuilt.status()).toMatchObject({ taskId, status: "running" });
    });
    // It reattached to Claude Code's log stream...
    await eventually(async () => (sandboxEvents.streams > streams ? true : undefined), 5_000, "a new log stream");
    expect(sandboxEvents.starts.length).toBe(1);
    // ...and the task still ends, once, by its deadline.
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "timed_out", error: { code: "task_timeout" } });
    const events = await eventsOf(taskId);
    expectGapless(events);
    expect(events.filter((event) => event.type === "end")).toHaveLength(1);
    expect(events.filter((event) => event.type === "init")).toHaveLength(1);
    await expectDestroyed(taskId);
  });

  it("whose destroy hangs does not hold the result back: it is stored first, readable as soon as the task ended", async () => {
    sandboxScript.destroy = "hang";
    // With a grace of 3 s, the wait for the destroy is 3 s.
    const { taskId } = await submittedWithEnv({ DEADLINE_GRACE_MS: "3000" }, { task: "hung destroy, quick result" });
    await statusBecomes(taskId, "succeeded");
    const response = await call(`/tasks/${taskId}/result`, { headers: auth() });
    expect(response.status).toBe(200);
    expect(((await response.json()) as TaskResult).status).toBe("succeeded");
    // In R2 while the destroy still hangs.
    expect(await testEnv.RESULTS.head(resultKey(taskId))).not.toBeNull();
    const destroyTimedOut = () => logs.records().some((record) => record.taskId === taskId && record.code === "sandbox_destroy_timeout");
    expect(destroyTimedOut()).toBe(false);
    await eventually(async () => (destroyTimedOut() ? true : undefined), 10_000, "the destroy to be given up on");
  });

  it("whose destroy never answers is given up on after the wait, with a warning", async () => {
    sandboxScript.destroy = "hang";
    const { taskId } = await submitted({ task: "hung destroy" });
    const started = Date.now();
    expect((await storedResult(taskId)).status).toBe("succeeded");
    expect(Date.now() - started).toBeLessThan(5_000);
    // The result does not wait for the destroy: the warning follows once the wait is over.
    await eventually(async () => (logs.records().some((record) => record.taskId === taskId && record.code === "sandbox_destroy_timeout") ? true : undefined), 5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(logs.records()).toContainEqual(expect.objectContaining({ event: "task", taskId, code: "sandbox_destroy_timeout" }));
  });
});
