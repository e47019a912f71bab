/**
 * `npm run dev:stub`: the real API on a chosen port with the stand-in sandbox.
 * The run's shared stub was started with SERVER_AUTH_TOKEN set; one started
 * without it takes dev-token, and says so.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { launchDevStub, sharedStub, waitUntilReady } from "../fixtures/dev-stub.js";

describe("npm run dev:stub", () => {
  it("says on start where it listens, and takes its token from SERVER_AUTH_TOKEN without printing it", async () => {
    const stub = await sharedStub();
    expect(stub.output()).toContain(`claude-sandbox dev stub: ${stub.url}`);
    expect(stub.output()).toContain("Bearer token: the value of SERVER_AUTH_TOKEN");
    expect(stub.output()).not.toContain(stub.token);
    // The terminal the examples are pasted into may not have the variable: a placeholder, never `$SERVER_AUTH_TOKEN`.
    expect(stub.output()).toContain('-H "Authorization: Bearer <your SERVER_AUTH_TOKEN>"');
    expect(stub.output()).not.toContain("$SERVER_AUTH_TOKEN");
    expect(stub.output()).toMatch(/then: curl -sN /);
  });

  it("runs a task with its token and returns the stored result again", async () => {
    const stub = await sharedStub();
    const headers = { authorization: `Bearer ${stub.token}`, "content-type": "application/json" };
    const response = await fetch(`${stub.url}/execute`, { method: "POST", headers, body: JSON.stringify({ task: "What is 2 + 2?\n@stub delay=0" }) });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { taskId: string; success: boolean; result: string };
    expect(result.success).toBe(true);
    expect(result.result).toContain("What is 2 + 2?");
    const again = await fetch(`${stub.url}/tasks/${result.taskId}/result`, { headers });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(result);
  });

  it("takes several `@stub` directives on one line, and names each one it cannot take in its output and the task's stderr", async () => {
    const stub = await sharedStub();
    const headers = { authorization: `Bearer ${stub.token}`, "content-type": "application/json" };
    const task = "Count to two\n@stub events=2 delay=0 explode=1 exit=x";
    const response = await fetch(`${stub.url}/execute`, { method: "POST", headers, body: JSON.stringify({ task }) });
    const result = (await response.json()) as { success: boolean; stderr: string; usage: { numTurns: number } };
    // Both good directives of the line were taken: two assistant turns, no pause, exit 0.
    expect(result).toMatchObject({ success: true, usage: { numTurns: 2 } });
    const named = ["stub sandbox: unknown directive `explode=1`", "stub sandbox: `exit=x`: exit takes a whole number from 0 to 255"];
    for (const problem of named) expect(result.stderr).toContain(problem);
    await expect.poll(() => named.filter((problem) => stub.output().includes(problem)), { timeout: 10_000 }).toEqual(named);
  });

  it("ends a task that hangs at its timeout, as timeout(1) does in a container, not after the grace", async () => {
    const stub = await sharedStub();
    const headers = { authorization: `Bearer ${stub.token}`, "content-type": "application/json" };
    const response = await fetch(`${stub.url}/execute`, { method: "POST", headers, body: JSON.stringify({ task: "Wait forever\n@stub hang", timeout: 3000 }) });
    const result = (await response.json()) as { status: string; exitCode: number | null; durationMs: number; error: { code: string } };
    expect(result).toMatchObject({ status: "timed_out", exitCode: 124, error: { code: "task_timeout" } });
    // dev:stub's grace is 30 s: the object's own deadline would have ended it at 33 s, without an exit code.
    expect(result.durationMs).toBeGreaterThanOrEqual(2900);
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it("refuses other tokens, dev-token included once SERVER_AUTH_TOKEN is set", async () => {
    const stub = await sharedStub();
    for (const token of ["not-the-token", "dev-token"]) {
      const response = await fetch(`${stub.url}/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status, token).toBe(401);
    }
  });

  it("takes dev-token when SERVER_AUTH_TOKEN is not set, and says so on start", async () => {
    const stub = await launchDevStub({ SERVER_AUTH_TOKEN: undefined });
    try {
      await waitUntilReady(stub, 120_000);
      const output = readFileSync(stub.logFile, "utf8");
      expect(output).toContain(`claude-sandbox dev stub: ${stub.url}`);
      expect(output).toContain("Bearer token: dev-token (set SERVER_AUTH_TOKEN to choose another)");
      expect(output).toContain('-H "Authorization: Bearer dev-token"');
      const list = async (token: string) => {
        const response = await fetch(`${stub.url}/tasks`, { headers: { authorization: `Bearer ${token}` } });
        await response.arrayBuffer();
        return response.status;
      };
      expect(await list("dev-token")).toBe(200);
      expect(await list("not-the-token")).toBe(401);
    } finally {
      await stub.stop();
    }
  }, 150_000);
});
