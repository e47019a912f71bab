/**
 * Cloudflare Access in front of the deployment: a request that Access let
 * through carries `Cf-Access-Jwt-Assertion`, a JWT signed (RS256) by the
 * team's keys. A valid one (signature against the team's published keys,
 * issuer, audience, expiry) authorizes the request without the API token, for
 * the console and the API alike; its email is who submitted a task. The keys
 * are fetched once per isolate and kept (`jose` refreshes them when a token
 * names a key it does not know).
 */
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";

/** The header Access adds to every request it lets through. */
export const ACCESS_ASSERTION_HEADER = "cf-access-jwt-assertion";

/** Where Access is, as the settings give it. */
export interface AccessSettings {
  /** The team's origin, `https://<team>.cloudflareaccess.com`: the tokens' issuer. */
  issuer: string;
  /** The Access application's AUD tag. */
  audience: string;
}

/** Who Access let in. */
export interface AccessIdentity {
  /** The person's email (a service token's requests carry its client id instead). */
  email: string;
}

/** A token longer than this is refused before any work (real ones are about 1 KiB). */
const MAX_ASSERTION_LENGTH = 8192;

const keySets = new Map<string, JWTVerifyGetKey>();

/** The team's key set, fetched on first use and kept for the isolate's life. */
function keysOf(issuer: string): JWTVerifyGetKey {
  let keys = keySets.get(issuer);
  if (!keys) {
    keys = createRemoteJWKSet(new URL("/cdn-cgi/access/certs", issuer), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
    keySets.set(issuer, keys);
  }
  return keys;
}

/**
 * Verifies an Access assertion; the identity it names, or null when it is not
 * one Access issued for this application now (any failure: a bad signature, an
 * unknown key, another issuer or audience, expired, malformed, or keys that
 * cannot be fetched).
 */
export async function verifyAccessAssertion(assertion: string, access: AccessSettings, keys: JWTVerifyGetKey = keysOf(access.issuer)): Promise<AccessIdentity | null> {
  if (assertion.length === 0 || assertion.length > MAX_ASSERTION_LENGTH) return null;
  try {
    const { payload } = await jwtVerify(assertion, keys, { issuer: access.issuer, audience: access.audience, algorithms: ["RS256"], requiredClaims: ["exp"] });
    const email = typeof payload.email === "string" ? payload.email : typeof payload.common_name === "string" ? payload.common_name : null;
    return email !== null && email.length > 0 && email.length <= 320 ? { email } : null;
  } catch {
    return null;
  }
}
