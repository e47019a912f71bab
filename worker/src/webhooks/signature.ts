/**
 * Standard Webhooks signatures (standardwebhooks.com): the signed content is
 * `<webhook-id>.<webhook-timestamp>.<body>`, the signature is
 * `v1,<base64 HMAC-SHA256>` keyed by the base64-decoded part of the
 * `whsec_<base64>` secret. Receivers verify with any Standard Webhooks library.
 */
import { WEBHOOK_SECRET_PREFIX } from "../secrets.js";

/** The signing key of a `whsec_<base64>` secret, or null when the secret is not in that form. */
export function webhookKey(secret: string): Uint8Array | null {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return null;
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  try {
    const binary = atob(encoded);
    const key = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    return key.byteLength >= 16 ? key : null;
  } catch {
    return null;
  }
}

function base64(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

/** The three Standard Webhooks headers of one delivery. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** Signs `body` for delivery `id` at `timestampSeconds`. */
export async function signWebhook(input: {
  key: Uint8Array;
  id: string;
  timestampSeconds: number;
  body: string;
}): Promise<WebhookHeaders> {
  const cryptoKey = await crypto.subtle.importKey("raw", input.key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const timestamp = String(Math.floor(input.timestampSeconds));
  const content = new TextEncoder().encode(`${input.id}.${timestamp}.${input.body}`);
  const signature = await crypto.subtle.sign("HMAC", cryptoKey, content);
  return { "webhook-id": input.id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${base64(signature)}` };
}
