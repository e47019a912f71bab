/** `npm run dev:stub`: the real API on a chosen port with the stand-in sandbox. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningStub, startDevStub } from "../fixtures/dev-stub.js";

describe("npm run dev:stub", () => {
  let stub: RunningStub;
  beforeAll(async () => {
    stub = await startDevStub();
  });
  afterAll(async () => {
    await stub?.stop();
  });

  it("says on start where it listens and which token it takes", () => {
    expect(stub.output()).toContain(stub.url);
    expect(stub.output()).toContain("Bearer token: dev-token");
  });

  it("runs a task with the dev token and returns the stored result again", async () => {
    const headers = { authorization: "Bearer dev-token", "content-type": "application/json" };
    const response = await fetch(`${stub.url}/execute`, { method: "POST", headers, body: JSON.stringify({ task: "What is 2 + 2?" }) });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { taskId: string; success: boolean; result: string };
    expect(result.success).toBe(true);
    expect(result.result).toContain("What is 2 + 2?");
    const again = await fetch(`${stub.url}/tasks/${result.taskId}/result`, { headers });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(result);
  });

  it("refuses other tokens", async () => {
    const response = await fetch(`${stub.url}/execute`, {
      method: "POST",
      headers: { authorization: "Bearer not-the-dev-token", "content-type": "application/json" },
      body: JSON.stringify({ task: "t" }),
    });
    expect(response.status).toBe(401);
  });
});

describe("npm run dev:stub with SERVER_AUTH_TOKEN", () => {
  it("takes the token from the environment and does not print it", async () => {
    const token = "env-chosen-token-7f3a9c";
    const stub = await startDevStub({ SERVER_AUTH_TOKEN: token });
    try {
      expect(stub.output()).not.toContain(token);
      const ok = await fetch(`${stub.url}/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(ok.status).toBe(404);
      const old = await fetch(`${stub.url}/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result`, {
        headers: { authorization: "Bearer dev-token" },
      });
      expect(old.status).toBe(401);
    } finally {
      await stub.stop();
    }
  });
});
