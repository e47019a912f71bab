/**
 * The `task.finished` webhook, delivered by the task's object to a local
 * receiver (test/fixtures/webhook-sink.ts) and verified with the Standard
 * Webhooks library itself, independently of our signing code.
 */
import { Webhook } from "standardwebhooks";
import { describe, expect, inject, it } from "vitest";
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import { WEBHOOK_RETRY_DELAYS_MS } from "../../worker/src/webhooks/delivery.js";
import { sandboxScript, taskEvents } from "./harness.js";
import {
  captureLogs,
  eventually,
  freshState,
  getJson,
  postWithEnv,
  storedResult,
  submit,
  submitted,
  taskStorage,
  testEnv,
  WEBHOOK_SECRET,
} from "./helpers.js";

freshState();
captureLogs();

const sink = inject("webhookSink");

interface Delivery {
  headers: Record<string, string>;
  body: string;
  at: number;
}

async function received(name: string): Promise<Delivery[]> {
  return (await (await fetch(`${sink}/received/${name}`)).json()) as Delivery[];
}

async function answerWith(name: string, statuses: number[]): Promise<void> {
  await fetch(`${sink}/script/${name}`, { method: "PUT", body: JSON.stringify(statuses) });
}

const hookName = () => `hook-${crypto.randomUUID()}`;

describe("webhooks", () => {
  it("POSTs task.finished with a Standard Webhooks signature that verifies", async () => {
    const name = hookName();
    const { taskId } = await submitted({ task: "tell me when done", callbackUrl: `${sink}/hooks/${name}` });
    const [delivery] = await eventually(async () => {
      const deliveries = await received(name);
      return deliveries.length > 0 ? deliveries : undefined;
    });
    const payload = new Webhook(WEBHOOK_SECRET).verify(delivery!.body, delivery!.headers) as { type: string; task: TaskStatusDocument };
    expect(payload.type).toBe("task.finished");
    expect(payload.task).toMatchObject({ taskId, status: "succeeded", error: null });
    expect(delivery!.headers["content-type"]).toBe("application/json");
    expect(delivery!.headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Math.abs(Number(delivery!.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(30);

    // A tampered body or another secret does not verify.
    expect(() => new Webhook(WEBHOOK_SECRET).verify(delivery!.body.replace("succeeded", "failed"), delivery!.headers)).toThrow();
    const other = `whsec_${btoa("another-secret-of-32-bytes-long!")}`;
    expect(() => new Webhook(other).verify(delivery!.body, delivery!.headers)).toThrow();

    const status = await eventually(async () => {
      const { body } = await getJson<TaskStatusDocument>(`/tasks/${taskId}`);
      return body.callback?.delivered ? body : undefined;
    });
    expect(status.callback).toEqual({ attempts: 1, delivered: true, lastStatus: 200 });
    // Delivered: nothing is left in the task's object.
    await eventually(async () => ((await taskStorage(taskId)).keys.length === 0 ? true : undefined));
    // The index was told the end, then the delivery.
    const indexed = taskEvents.indexed.filter((document) => document.taskId === taskId);
    expect(indexed.map((document) => [document.status, document.callback])).toEqual([
      ["queued", { attempts: 0, delivered: false, lastStatus: null }],
      ["running", { attempts: 0, delivered: false, lastStatus: null }],
      ["succeeded", { attempts: 0, delivered: false, lastStatus: null }],
      ["succeeded", { attempts: 1, delivered: true, lastStatus: 200 }],
    ]);
  });

  it("retries after a 500 with the same webhook-id, about 5 s later", async () => {
    const name = hookName();
    await answerWith(name, [500]);
    const { taskId } = await submitted({ task: "retry me", callbackUrl: `${sink}/hooks/${name}` });
    await storedResult(taskId);
    const pending = await eventually(async () => {
      const { body } = await getJson<TaskStatusDocument>(`/tasks/${taskId}`);
      return body.callback?.attempts === 1 ? body : undefined;
    });
    expect(pending.callback).toEqual({ attempts: 1, delivered: false, lastStatus: 500 });
    // The object keeps the delivery (and nothing else of use) until it succeeds.
    expect((await taskStorage(taskId)).alarm).not.toBeNull();

    const deliveries = await eventually(
      async () => {
        const all = await received(name);
        return all.length === 2 ? all : undefined;
      },
      WEBHOOK_RETRY_DELAYS_MS[0]! + 5_000,
      "the retry",
    );
    expect(deliveries[1]!.headers["webhook-id"]).toBe(deliveries[0]!.headers["webhook-id"]);
    expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(WEBHOOK_RETRY_DELAYS_MS[0]! - 100);
    for (const delivery of deliveries) expect(() => new Webhook(WEBHOOK_SECRET).verify(delivery.body, delivery.headers)).not.toThrow();
    const done = await eventually(async () => {
      const { body } = await getJson<TaskStatusDocument>(`/tasks/${taskId}`);
      return body.callback?.delivered ? body : undefined;
    });
    expect(done.callback).toEqual({ attempts: 2, delivered: true, lastStatus: 200 });
    await eventually(async () => ((await taskStorage(taskId)).keys.length === 0 ? true : undefined));
  }, 20_000);

  it("records a network error as lastStatus null", async () => {
    const { taskId } = await submitted({ task: "nobody listens", callbackUrl: "http://127.0.0.1:9/hooks/closed" });
    const status = await eventually(async () => {
      const { body } = await getJson<TaskStatusDocument>(`/tasks/${taskId}`);
      return body.callback?.attempts === 1 ? body : undefined;
    });
    expect(status.callback).toEqual({ attempts: 1, delivered: false, lastStatus: null });
  });

  it("shows the delivery state on a task submitted with a callbackUrl from the start", async () => {
    const name = hookName();
    const document = await submitted({ task: "state\n@stub delay=100", callbackUrl: `${sink}/hooks/${name}` });
    expect(document.callback).toEqual({ attempts: 0, delivered: false, lastStatus: null });
    await storedResult(document.taskId);
  });
});

describe("callbackUrl", () => {
  it.each([
    ["plain http to a public host", "http://example.com/hook"],
    ["credentials in the URL", "https://user:pass@example.com/hook"],
    ["a fragment", "https://example.com/hook#x"],
    ["another scheme", "ftp://example.com/hook"],
    ["a relative URL", "/hook"],
    ["not a URL", "not a url"],
    ["a URL with spaces", "https://example.com/a hook"],
    ["a very long URL", `https://example.com/${"a".repeat(2100)}`],
    ["a number", 42],
  ])("refuses %s with 400 invalid_callback_url", async (_name, callbackUrl) => {
    const response = await submit({ task: "t", callbackUrl });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("invalid_callback_url");
  });

  it("refuses loopback http unless ALLOW_INSECURE_CALLBACKS is true", async () => {
    const refused = await postWithEnv("/tasks", { task: "t", callbackUrl: `${sink}/hooks/refused` }, { ALLOW_INSECURE_CALLBACKS: undefined });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { code: string; details: unknown }).details).toEqual({ schemes: ["https"] });
  });

  it("accepts https", async () => {
    const response = await submit({ task: "t\n@stub events=0", callbackUrl: "https://hooks.example.com/claude?x=1" });
    expect(response.status).toBe(202);
    await storedResult(((await response.json()) as TaskStatusDocument).taskId);
  });

  it("needs the deployment's webhook secret: 500 webhook_not_configured without it", async () => {
    const response = await postWithEnv("/tasks", { task: "t", callbackUrl: "https://hooks.example.com/x" }, { WEBHOOK_SECRET: "not-a-whsec" });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Webhook signing secret is not configured", code: "webhook_not_configured" });
  });
});

describe("usage from the container", () => {
  it.each([5_000, 80_000])("is redacted and bounded in the status document, the result, the index and the webhook (%i models)", async (count) => {
    const secret = testEnv.SERVER_AUTH_TOKEN!;
    // A forged result line of under 1 MiB: the token as the session id and as a model's name, then many more models.
    const models = Object.fromEntries(Array.from({ length: count }, (_, index) => [`m${index.toString(36)}`, {}]));
    const forged = { type: "result", subtype: "success", is_error: false, result: "done", session_id: secret, modelUsage: { [`claude-${secret}`]: { inputTokens: 1 }, ...models } };
    expect(JSON.stringify(forged).length).toBeLessThan(1024 * 1024);
    sandboxScript.runs.push({ steps: [{ kind: "stdout", delayMs: 0, text: `${JSON.stringify(forged)}\n` }], exitCode: 0 });
    const name = hookName();
    const { taskId } = await submitted({ task: "forged usage", callbackUrl: `${sink}/hooks/${name}` });
    const [delivery] = await eventually(async () => {
      const deliveries = await received(name);
      return deliveries.length > 0 ? deliveries : undefined;
    });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "succeeded", result: "done" });
    const status = (await getJson<TaskStatusDocument>(`/tasks/${taskId}`)).body;
    const indexed = taskEvents.indexed.filter((document) => document.taskId === taskId).at(-1)!;
    const webhook = (JSON.parse(delivery!.body) as { task: TaskStatusDocument }).task;
    for (const usage of [result.usage, status.usage, indexed.usage, webhook.usage]) {
      expect(JSON.stringify(usage)).not.toContain(secret);
      expect(usage!.sessionId).toBe("[redacted]");
      expect(Object.keys(usage!.models!)).toHaveLength(32);
      expect(Object.keys(usage!.models!)[0]).toBe("claude-[redacted]");
      expect(JSON.stringify(usage).length).toBeLessThan(8 * 1024);
    }
    expect(delivery!.body.length).toBeLessThan(16 * 1024);
  });
});
