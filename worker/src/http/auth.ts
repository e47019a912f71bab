/**
 * Bearer-token authentication. The presented token is compared with the
 * current and the previous token in constant time: both comparisons always
 * run, over SHA-256 digests of equal length, so neither the token's length
 * nor which slot matched shows in the timing.
 */

/** The tokens a request may present. `previous` is unset until the first rotation. */
export interface AuthTokens {
  current: string | undefined;
  previous: string | undefined;
}

/** `current` or `previous`: the slot whose token the request carried. */
export type AuthOutcome = "current" | "previous" | "unauthorized" | "not_configured";

const BEARER = /^Bearer ([\x21-\x7e]+)$/i;

/** Extracts the token of an `Authorization: Bearer <token>` header, or null for any other form. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = BEARER.exec(header.trim());
  return match ? match[1]! : null;
}

async function digest(value: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
}

/**
 * The digests of the deployment's tokens, made once per isolate (the tokens
 * are bindings, fixed while it lives); an unset slot's stands for a random
 * value of the isolate's own, so every request does the same work.
 */
const SLOT_DIGESTS = new Map<string, Promise<ArrayBuffer>>();
const MAX_SLOT_DIGESTS = 8;
/** The random value an unset slot is compared against, made on the first request (the Workers runtime makes none at startup). */
let unsetSlot: string | undefined;

function slotDigest(token: string): Promise<ArrayBuffer> {
  let known = SLOT_DIGESTS.get(token);
  if (!known) {
    if (SLOT_DIGESTS.size >= MAX_SLOT_DIGESTS) SLOT_DIGESTS.delete(SLOT_DIGESTS.keys().next().value!);
    known = digest(token);
    SLOT_DIGESTS.set(token, known);
  }
  return known;
}

/** Whether the digest of the presented token is that of a slot's token; an unset or empty slot matches nothing. */
async function matches(presented: ArrayBuffer, expected: string | undefined): Promise<boolean> {
  const usable = typeof expected === "string" && expected.length > 0;
  const expectedDigest = await slotDigest(usable ? expected : (unsetSlot ??= `unset:${crypto.randomUUID()}`));
  return crypto.subtle.timingSafeEqual(presented, expectedDigest) && usable;
}

/** Decides whether the `Authorization` header carries the current or the previous token, and which. */
export async function authorize(header: string | null | undefined, tokens: AuthTokens): Promise<AuthOutcome> {
  if (!tokens.current) return "not_configured";
  const token = bearerToken(header);
  const presented = await digest(token ?? "");
  const [current, previous] = await Promise.all([matches(presented, tokens.current), matches(presented, tokens.previous)]);
  if (token === null) return "unauthorized";
  return current ? "current" : previous ? "previous" : "unauthorized";
}
