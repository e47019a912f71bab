/**
 * Every way a task ends, driven through the real Worker and Task object with
 * faults at the container boundary: cancel at each stage, the alarm's
 * deadline with nobody connected, Claude Code's own timeout, Claude Code's
 * outcome, and the bounds on output and events. Whatever happens, the task
 * ends once, its container is destroyed and its result is stored. What the
 * container itself does wrong is task-object-container.test.ts's.
 */
import { describe, expect, it } from "vitest";
import type { TaskResult, TaskStatusDocument } from "../../worker/src/contract.js";
import { eventsKey, LIMITS, resultKey } from "../../worker/src/contract.js";
import { sandboxEvents, sandboxScript, taskEvents } from "./harness.js";
import {
  cancel,
  eventsOf,
  eventually,
  freshState,
  getJson,
  noContainers,
  sandboxDestroyed as expectDestroyed,
  statusBecomes,
  storedResult,
  submitted,
  submittedWithEnv,
  taskStorage,
  testEnv,
  WEBHOOK_SECRET,
} from "./helpers.js";
freshState();

describe("cancel", () => {
  it("stops a running task: Claude Code killed, container destroyed, output so far stored", async () => {
    const { taskId } = await submitted({ task: "forever\n@stub hang" });
    await eventually(async () => ((await eventsOf(taskId)).length >= 6 ? true : undefined));
    const response = await cancel(taskId);
    expect(response.status).toBe(202);
    expect(((await response.json()) as TaskStatusDocument).status).toBe("cancelled");
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "cancelled", success: false, exitCode: null, error: { code: "task_cancelled" } });
    // What it printed before the cancel is kept, and what Claude said so far is its output.
    expect(result.stdout).toContain('"subtype":"init"');
    expect(result.stdout).toContain("hello from the stub");
    expect(result.output).toBe("Step 1 of 3: working on the task.\n\nStep 2 of 3: working on the task.\n\nStep 3 of 3: working on the task.");
    expect(result.result).toBe("");
    // The result is stored first, then Claude Code is stopped and the container destroyed.
    await expectDestroyed(taskId);
    expect(sandboxEvents.kills.length).toBe(1);
    const events = await eventsOf(taskId);
    expect(events.at(-1)).toMatchObject({ type: "end", data: { status: "cancelled" } });
    expect(events.at(-2)).toMatchObject({ type: "result", data: { success: false, error: { code: "task_cancelled" } } });
  });

  it("stops a queued task before it ever gets a container", async () => {
    noContainers();
    const { taskId } = await submitted({ task: "waiting" });
    await eventually(async () => (sandboxEvents.starts.length >= 1 ? true : undefined));
    expect((await getJson<TaskStatusDocument>(`/tasks/${taskId}`)).body.status).toBe("queued");
    expect((await cancel(taskId)).status).toBe(202);
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "cancelled", startedAt: null, exitCode: null, error: { code: "task_cancelled" } });
    expect((await eventsOf(taskId)).map((event) => event.type)).toEqual(["status", "result", "end"]);
  });

  it("answers 409 task_finished for a finished task, also once its object is cleared", async () => {
    const { taskId } = await submitted({ task: "done" });
    await storedResult(taskId);
    const response = await cancel(taskId);
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ error: "Task has already finished", code: "task_finished", taskId, status: "succeeded" });
    await eventually(async () => ((await taskStorage(taskId)).keys.length === 0 ? true : undefined));
    expect((await cancel(taskId)).status).toBe(409);
  });

  it("answers 404 task_not_found for an unknown task", async () => {
    const response = await cancel("3f1c1c3e-5a7b-4c8d-9e0f-112233445566");
    expect(response.status).toBe(404);
    expect(((await response.json()) as { code: string }).code).toBe("task_not_found");
  });
});

describe("a cancel during each phase wins", () => {
  const REPO = "https://github.com/acme/widgets";

  /** Cancels once `ready` says the phase is under way, then checks that nothing that finished later overwrote the cancel. */
  async function cancelDuring(taskId: string, ready: () => boolean, what: string): Promise<TaskResult> {
    await eventually(async () => (ready() ? true : undefined), 10_000, what);
    expect((await cancel(taskId)).status).toBe(202);
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "cancelled", error: { code: "task_cancelled" } });
    await expectDestroyed(taskId);
    // Whatever was under way ends meanwhile; the task stays cancelled, with one end.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await getJson<TaskStatusDocument>(`/tasks/${taskId}`)).body.status).toBe("cancelled");
    const events = await eventsOf(taskId);
    expect(events.filter((event) => event.type === "end")).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: "end", data: { status: "cancelled" } });
    return result;
  }

  it("while its container starts: the process that started late is stopped, and the task never runs", async () => {
    sandboxScript.startDelayMs = 500;
    const { taskId } = await submitted({ task: "slow start" });
    await cancelDuring(taskId, () => sandboxEvents.starts.length === 1, "the start");
    await eventually(async () => (sandboxEvents.kills.length === 1 ? true : undefined), 5_000, "the late process to be stopped");
    expect((await eventsOf(taskId)).map((event) => event.type)).toEqual(["status", "result", "end"]);
  });

  it("during the stand-in's cold start (`@stub start=MS`): the start ends with the container, and no process ever runs", async () => {
    const { taskId } = await submitted({ task: "cold\n@stub start=60000" });
    await eventually(async () => (sandboxEvents.starts.length === 1 ? true : undefined), 5_000, "the start");
    expect((await getJson<TaskStatusDocument>(`/tasks/${taskId}`)).body.status).toBe("queued");
    await cancelDuring(taskId, () => true, "the start");
    expect((await eventsOf(taskId)).map((event) => event.type)).toEqual(["status", "result", "end"]);
    expect(sandboxEvents.kills).toEqual([]);
  });

  it("while a repository task takes its container: no step runs", async () => {
    sandboxScript.execDelaysMs = { probe: 500 };
    const { taskId } = await submitted({ task: "probe", repo: { url: REPO } });
    await cancelDuring(taskId, () => taskEvents.indexed.some((document) => document.taskId === taskId), "the task to be accepted");
    expect(sandboxEvents.steps).toEqual([]);
    expect(sandboxEvents.starts).toEqual([]);
  });

  it("while a repository task checks out: Claude Code never starts", async () => {
    sandboxScript.execDelaysMs = { checkout: 500 };
    const { taskId } = await submitted({ task: "checkout", repo: { url: REPO } });
    await cancelDuring(taskId, () => sandboxEvents.steps.some((step) => step.step === "checkout"), "the checkout");
    expect(sandboxEvents.starts).toEqual([]);
  });

  it("while Claude Code runs in a repository: no commit or push follows", async () => {
    const { taskId } = await submitted({ task: "work\n@stub hang", repo: { url: REPO } });
    await cancelDuring(taskId, () => sandboxEvents.starts.length === 1, "Claude Code to start");
    expect(sandboxEvents.steps.map((step) => step.step)).toEqual(["checkout"]);
  });

  it("while a repository task commits and pushes: the finish that succeeds later does not end it again", async () => {
    sandboxScript.execDelaysMs = { finish: 500 };
    const { taskId } = await submitted({ task: "finish", repo: { url: REPO } });
    const result = await cancelDuring(taskId, () => sandboxEvents.steps.some((step) => step.step === "finish"), "the finish step");
    expect(result.repository).toMatchObject({ head: null, pushed: false });
  });
});

describe("deadlines", () => {
  it("ends a task that never stops at timeout + grace by the alarm, with nobody connected", async () => {
    // A container that no longer answers: nothing ends Claude Code but the object's own deadline.
    sandboxScript.wrapperTimeout = false;
    const { taskId } = await submitted({ task: "never ends\n@stub hang", timeout: 1000 });
    const started = Date.now();
    const status = await statusBecomes(taskId, "timed_out", 10_000);
    const elapsed = Date.now() - started;
    // The test deployment's grace is 300 ms; the alarm must not fire early, nor much later.
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(1000 + 300 + 2500);
    expect(status.error).toEqual({ code: "task_timeout", message: "The task did not finish within 1000 ms" });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "timed_out", success: false, timedOut: true, exitCode: null });
    await expectDestroyed(taskId);
    expect(sandboxEvents.kills.length).toBe(1);
  });

  it("ends at the timeout when timeout(1) stops Claude Code (the stand-in plays it): timed_out with exit 124, before the grace", async () => {
    const { taskId } = await submitted({ task: "never ends\n@stub hang", timeout: 2000 });
    const started = Date.now();
    const result = await storedResult(taskId);
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ status: "timed_out", timedOut: true, exitCode: 124, error: { code: "task_timeout", message: "The task did not finish within 2000 ms" } });
    // timeout(1) ends it at 2 s; the object's deadline would have come 300 ms (the test grace) later, with no exit code.
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(2000 + 2500);
  });

  it("reports Claude Code stopped by timeout(1) at the task timeout (exit 124) as timed_out", async () => {
    // It printed, then hung until timeout(1) stopped it.
    sandboxScript.runs.push({ steps: [{ kind: "stdout", delayMs: 0, text: "partial output\n" }], exitCode: null });
    const { taskId } = await submitted({ task: "slow", timeout: 1000 });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "timed_out", timedOut: true, exitCode: 124, error: { code: "task_timeout" } });
    expect(result.stdout).toBe("partial output\n");
  });

  it("reports an exit 124 before the timeout as Claude Code's own failure", async () => {
    sandboxScript.runs.push({ steps: [{ kind: "stderr", delayMs: 0, text: "boom\n" }], exitCode: 124 });
    const { taskId } = await submitted({ task: "quick failure", timeout: 60_000 });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "failed", timedOut: false, exitCode: 124, error: { code: "claude_exit_nonzero" } });
    expect(result.output).toBe("boom\n");
  });
});

describe("Claude Code's outcome", () => {
  it("is decided by its final result message: a budget stop is failed budget_exceeded", async () => {
    const { taskId } = await submitted({ task: "spend\n@stub budget", maxBudgetUsd: 0.01 });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "failed", exitCode: 1, error: { code: "budget_exceeded" } });
    expect(result.error!.message).toContain("Reached maximum budget");
  });

  it("a successful result with a non-zero exit is failed claude_exit_nonzero", async () => {
    const { taskId } = await submitted({ task: "odd exit\n@stub exit=3" });
    expect(await storedResult(taskId)).toMatchObject({ status: "failed", exitCode: 3, error: { code: "claude_exit_nonzero" } });
  });

  it("an exit 0 after an error result is failed claude_error", async () => {
    sandboxScript.runs.push({
      steps: [{ kind: "stdout", delayMs: 0, text: `${JSON.stringify({ type: "result", subtype: "error_during_execution", is_error: true, errors: ["API Error: 529 overloaded"], result: "" })}\n` }],
      exitCode: 0,
    });
    const { taskId } = await submitted({ task: "model failed" });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "failed", exitCode: 0, error: { code: "claude_error" } });
    expect(result.error!.message).toBe("Claude Code reported an error (error_during_execution): API Error: 529 overloaded");
  });

  it("a max-turns stop is failed max_turns_reached", async () => {
    sandboxScript.runs.push({
      steps: [{ kind: "stdout", delayMs: 0, text: `${JSON.stringify({ type: "result", subtype: "error_max_turns", is_error: true, num_turns: 2 })}\n` }],
      exitCode: 1,
    });
    const { taskId } = await submitted({ task: "loop", maxTurns: 2 });
    expect(await storedResult(taskId)).toMatchObject({ status: "failed", error: { code: "max_turns_reached" }, usage: { numTurns: 2 } });
  });

  it("no result message and exit 0 is failed claude_error", async () => {
    sandboxScript.runs.push({ steps: [{ kind: "stdout", delayMs: 0, text: "not json at all\n" }], exitCode: 0 });
    const { taskId } = await submitted({ task: "silent" });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "failed", exitCode: 0, result: "", error: { code: "claude_error", message: "Claude Code ended without a result" } });
    expect(result.stdout).toBe("not json at all\n");
  });
});

describe("bounds", () => {
  it("keeps the last MAX_OUTPUT_BYTES of 30 MB of output, marked truncated", async () => {
    const { taskId } = await submittedWithEnv({ MAX_OUTPUT_BYTES: "65536" }, { task: "loud\n@stub bytes=30000000" });
    const result = await storedResult(taskId, 60_000);
    expect(result.status).toBe("succeeded");
    expect(result.truncated).toBe(true);
    const bytes = new TextEncoder().encode(result.stdout).byteLength;
    expect(bytes).toBeLessThanOrEqual(65536);
    expect(bytes).toBeGreaterThan(60_000);
    // The end of the output is what is kept: Claude Code's final result line.
    expect(result.stdout.trimEnd().split("\n").at(-1)).toContain('"type":"result"');
    // Filler is not stream-json: the events are only the run's own.
    expect((await eventsOf(taskId)).length).toBe(10);
  }, 90_000);

  it("keeps the last MAX_OUTPUT_BYTES of a large stderr, marked truncated", async () => {
    const chunk = `${"e".repeat(49_999)}\n`;
    sandboxScript.runs.push({
      steps: [
        ...Array.from({ length: 4 }, () => ({ kind: "stderr" as const, delayMs: 0, text: chunk })),
        { kind: "stderr", delayMs: 0, text: "the end of stderr\n" },
        { kind: "stdout", delayMs: 0, text: `${JSON.stringify({ type: "result", subtype: "success", is_error: false, result: "ok" })}\n` },
      ],
      exitCode: 0,
    });
    const { taskId } = await submittedWithEnv({ MAX_OUTPUT_BYTES: "65536" }, { task: "noisy stderr" });
    const result = await storedResult(taskId);
    expect(result.status).toBe("succeeded");
    expect(result.truncated).toBe(true);
    const bytes = new TextEncoder().encode(result.stderr).byteLength;
    expect(bytes).toBeLessThanOrEqual(65536);
    expect(bytes).toBeGreaterThan(60_000);
    expect(result.stderr.endsWith("the end of stderr\n")).toBe(true);
    // stdout was small: all of it is kept.
    expect(result.stdout).toContain('"result":"ok"');
  });

  it("cuts tool inputs and results in events to 4 KiB, marked truncated", async () => {
    const big = "é".repeat(10_000);
    const line = (message: unknown) => `${JSON.stringify(message)}\n`;
    sandboxScript.runs.push({
      steps: [
        { kind: "stdout", delayMs: 0, text: line({ type: "assistant", uuid: "a1", message: { content: [{ type: "tool_use", id: "t1", name: "Write", input: { content: big } }] } }) },
        { kind: "stdout", delayMs: 0, text: line({ type: "user", uuid: "u1", message: { content: [{ type: "tool_result", tool_use_id: "t1", content: big }] } }) },
        { kind: "stdout", delayMs: 0, text: line({ type: "result", subtype: "success", is_error: false, result: "ok" }) },
      ],
      exitCode: 0,
    });
    const { taskId } = await submitted({ task: "big tools" });
    await storedResult(taskId);
    const events = await eventsOf(taskId);
    const toolUse = events.find((event) => event.type === "tool_use")!;
    const toolResult = events.find((event) => event.type === "tool_result")!;
    expect(toolUse.data).toMatchObject({ truncated: true });
    expect(new TextEncoder().encode(String((toolUse.data as { input: unknown }).input)).byteLength).toBeLessThanOrEqual(LIMITS.eventToolBytes);
    // A cut input is the start of its JSON text, as a string of at most 4 KiB of UTF-8.
    const input = (toolUse.data as { input: unknown }).input;
    expect(typeof input).toBe("string");
    expect(new TextEncoder().encode(input as string).byteLength).toBeLessThanOrEqual(4096);
    expect(new TextEncoder().encode(input as string).byteLength).toBeGreaterThan(4096 - 4);
    expect(input as string).toMatch(/^\{"content":"é+$/);
    expect(toolResult.data).toMatchObject({ truncated: true });
    expect(new TextEncoder().encode((toolResult.data as { content: string }).content).byteLength).toBeLessThanOrEqual(LIMITS.eventToolBytes);
    const content = (toolResult.data as { content: unknown }).content;
    expect(typeof content).toBe("string");
    expect(new TextEncoder().encode(content as string).byteLength).toBeLessThanOrEqual(4096);
  });
});

describe("secrets", () => {
  it("never appear in a result or an event, even when the container prints them", async () => {
    const token = "test-token-current-0123456789abcdef";
    const oauth = "fake-oauth-test-oauth-credential";
    // The webhook secret's key alone, without its whsec_ prefix, and a token in upper case.
    const webhookKey = WEBHOOK_SECRET.slice("whsec_".length);
    sandboxScript.runs.push({
      steps: [
        { kind: "stdout", delayMs: 0, text: `${JSON.stringify({ type: "assistant", uuid: "a1", message: { content: [{ type: "text", text: `leak ${token} ${oauth} ${webhookKey} ${token.toUpperCase()}` }] } })}\n` },
        { kind: "stderr", delayMs: 0, text: `env: ${oauth} ${webhookKey} ${oauth.toUpperCase()}\n` },
        { kind: "stdout", delayMs: 0, text: `${JSON.stringify({ type: "result", subtype: "success", is_error: false, result: `done ${token}` })}\n` },
      ],
      exitCode: 0,
    });
    const { taskId } = await submitted({ task: "leaky" });
    const result = await storedResult(taskId);
    // What the API answers, and what R2 holds.
    const stored = await Promise.all([resultKey(taskId), eventsKey(taskId)].map(async (key) => (await testEnv.RESULTS.get(key))!.text()));
    const everything = JSON.stringify(result) + JSON.stringify(await eventsOf(taskId)) + stored.join("");
    expect(stored[0]).toContain("done [redacted]");
    for (const secret of [token, oauth, webhookKey]) {
      expect(everything).not.toContain(secret);
      expect(everything.toLowerCase()).not.toContain(secret.toLowerCase());
    }
    expect(result.result).toBe("done [redacted]");
  });
});


describe("a container's cold start, as the stand-in plays it (`@stub start=MS`)", () => {
  it("keeps the task queued until Claude Code has started, then it runs to its end", async () => {
    const { taskId } = await submitted({ task: "cold\n@stub start=800" });
    expect((await storedResult(taskId)).status).toBe("succeeded");
    const { body } = await getJson<TaskStatusDocument>(`/tasks/${taskId}`);
    // Queued from its acceptance until Claude Code started, 800 ms later at the earliest.
    expect(Date.parse(body.startedAt!) - Date.parse(body.createdAt)).toBeGreaterThanOrEqual(800);
    expect((await eventsOf(taskId)).slice(0, 3).map((event) => [event.type, event.data])).toEqual([
      ["status", { status: "queued" }],
      ["status", { status: "running" }],
      ["init", expect.anything()],
    ]);
  });
});
