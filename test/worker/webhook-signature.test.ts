/** Webhook signing and retry rules, checked against the Standard Webhooks library. */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { nextWebhookAttemptAt, WEBHOOK_RETRY_DELAYS_MS, webhookBody, webhookId } from "../../worker/src/webhooks/delivery.js";
import { signWebhook, webhookKey } from "../../worker/src/webhooks/signature.js";

const secret = `whsec_${btoa("a-webhook-key-of-thirty-two-byte")}`;

describe("signWebhook", () => {
  it.each([
    ["a small body", '{"type":"task.finished"}'],
    ["unicode", '{"text":"naïve — 你好 — 🦀"}'],
    ["an empty body", ""],
  ])("signs %s so that standardwebhooks verifies it", async (_name, body) => {
    const headers = await signWebhook({ key: webhookKey(secret)!, id: "msg_1", timestampSeconds: Date.now() / 1000, body });
    expect(() => new Webhook(secret).verify(body, { ...headers })).not.toThrow();
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it("gives a signature standardwebhooks itself gives for the same id, time and body", async () => {
    const when = new Date(1_790_000_000_000);
    const body = '{"a":1}';
    const theirs = new Webhook(secret).sign("msg_2", when, body);
    const ours = await signWebhook({ key: webhookKey(secret)!, id: "msg_2", timestampSeconds: when.getTime() / 1000, body });
    expect(ours["webhook-signature"]).toBe(theirs);
    expect(ours["webhook-timestamp"]).toBe("1790000000");
  });
});

describe("webhookKey", () => {
  it.each([
    ["a whsec_ secret", secret, 32],
    ["no prefix", btoa("a-webhook-key-of-thirty-two-byte"), null],
    ["an empty secret", "", null],
    ["not base64", "whsec_!!!", null],
    ["a key under 16 bytes", `whsec_${btoa("short")}`, null],
  ])("%s", (_name, value, length) => {
    expect(webhookKey(value)?.byteLength ?? null).toBe(length);
  });
});

describe("delivery rules", () => {
  it("retries after about 5 s, 30 s, 2 min, 10 min, 1 h and 6 h, then gives up", () => {
    const at = 1_000_000;
    expect(WEBHOOK_RETRY_DELAYS_MS.map((_, index) => nextWebhookAttemptAt(index + 1, at)! - at)).toEqual([5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000]);
    expect(nextWebhookAttemptAt(WEBHOOK_RETRY_DELAYS_MS.length + 1, at)).toBeNull();
  });

  it("names one delivery per task, the same on every retry", () => {
    expect(webhookId("01a23398-9403-710f-82b4-09f36822a82a")).toBe("msg_01a233989403710f82b409f36822a82a");
  });

  it("posts task.finished with the status document", () => {
    expect(JSON.parse(webhookBody({ taskId: "t" } as never))).toEqual({ type: "task.finished", task: { taskId: "t" } });
  });
});
