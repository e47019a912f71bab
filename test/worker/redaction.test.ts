/**
 * Secret redaction (worker/src/redaction.ts): the forms of a secret a task's
 * output may carry out of the container, and what redaction leaves alone.
 */
import { describe, expect, it } from "vitest";
import { REDACTED, redactorFor, redactSecrets } from "../../worker/src/redaction.js";
import { deploymentSecrets } from "../../worker/src/secrets.js";

/** Shaped like a real token: letters, digits, `-` and `_`. */
const TOKEN = "fake-oauth01-Zx9_Qw-redaction-test-token";
/** Has every character URL encoding and base64 treat specially. */
const AWKWARD = "pa ss/wo+rd?&=%é€_test";
/** The same without letters outside ASCII, whose case changes their UTF-8 bytes. */
const ASCII_AWKWARD = "pa ss/wo+rd?&=%_test";

const base64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
const base64Url = (text: string) => base64(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const lowerHexEscapes = (text: string) => text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());

describe("redactSecrets", () => {
  it.each<[string, string, string]>([
    ["verbatim", TOKEN, TOKEN],
    ["verbatim, with awkward characters", AWKWARD, AWKWARD],
    ["URL-encoded (encodeURIComponent)", AWKWARD, encodeURIComponent(AWKWARD)],
    ["URL-encoded (encodeURI)", AWKWARD, encodeURI(AWKWARD)],
    ["URL-encoded with lower-case hex", AWKWARD, lowerHexEscapes(encodeURIComponent(AWKWARD))],
    ["form-encoded", AWKWARD, new URLSearchParams({ q: AWKWARD }).toString().slice(2)],
    ["URL-encoded though nothing needed it", TOKEN, [...TOKEN].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("")],
    ["base64", TOKEN, base64(TOKEN)],
    ["base64 without padding", TOKEN, base64(TOKEN).replace(/=+$/, "")],
    ["base64 of awkward characters", AWKWARD, base64(AWKWARD)],
    ["URL-safe base64", AWKWARD, base64Url(AWKWARD)],
    ["URL-safe base64 of a token", TOKEN, base64Url(TOKEN)],
  ])("removes a secret %s", (_form, secret, shown) => {
    const text = `before ${shown} after`;
    const redacted = redactSecrets(text, [secret]);
    expect(redacted).toContain(REDACTED);
    expect(redacted).not.toContain(shown);
    expect(redacted.startsWith("before ")).toBe(true);
    expect(redacted.endsWith(" after")).toBe(true);
  });

  it.each([
    ["user:", "Basic credentials (user:secret)"],
    ["x", "one byte before it"],
    ["xy", "two bytes before it"],
    ["{\"token\":\"", "a JSON document"],
  ])("finds a secret inside a longer base64 text, after %j (%s)", (prefix) => {
    for (const secret of [TOKEN, AWKWARD]) {
      for (const encode of [base64, base64Url]) {
        const encoded = encode(`${prefix}${secret}"} and more text after it`);
        const redacted = redactSecrets(`Authorization: Basic ${encoded}`, [secret]);
        expect(redacted).toContain(REDACTED);
        // What is left of the encoding is a few characters at each end of the secret, never most of it.
        const left = redacted.replace("Authorization: Basic ", "").replace(REDACTED, "");
        expect(left.length).toBeLessThan(encoded.length - (secret.length * 4) / 3 + 6);
      }
    }
  });

  it("removes every occurrence of every secret", () => {
    const other = "second-secret-value-0123";
    const text = `${TOKEN} ${base64(other)} ${TOKEN} ${encodeURIComponent(other)}`;
    expect(redactSecrets(text, [TOKEN, other])).toBe([REDACTED, REDACTED, REDACTED, REDACTED].join(" "));
  });

  it.each([
    ["in upper case", TOKEN.toUpperCase()],
    ["in lower case", TOKEN.toLowerCase()],
    ["in mixed case", [...TOKEN].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join("")],
    ["percent-encoded, in upper case", encodeURIComponent(ASCII_AWKWARD.toUpperCase())],
  ])("removes a secret written %s", (_case, shown) => {
    const redacted = redactSecrets(`before ${shown} after`, [TOKEN, ASCII_AWKWARD]);
    expect(redacted).toBe(`before ${REDACTED} after`);
  });

  it.each<[string, (secret: string) => string]>([
    ["verbatim", (secret) => secret],
    ["in another case", (secret) => secret.toUpperCase()],
    ["percent-encoded", (secret) => [...secret].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("")],
    ["base64", base64],
    ["URL-safe base64", base64Url],
    ["inside Basic credentials", (secret) => base64(`user:${secret}`)],
  ])("redacts an 8-character secret %s, and leaves a 7-character one", (_form, encode) => {
    const eight = "k3y-8chr";
    const seven = "k3y-7ch";
    expect(redactSecrets(`a ${encode(eight)} b`, [eight])).not.toContain(encode(eight).slice(2, -2));
    expect(redactSecrets(`a ${encode(eight)} b`, [eight])).toContain(REDACTED);
    expect(redactSecrets(`a ${encode(seven)} b`, [seven])).toBe(`a ${encode(seven)} b`);
  });

  it("leaves secrets shorter than 8 characters and ordinary text alone", () => {
    expect(redactSecrets("the word secret stays", ["secret"])).toBe("the word secret stays");
    expect(redactSecrets("nothing to hide here", [TOKEN])).toBe("nothing to hide here");
  });

  it("builds a list's patterns once, and redacts the same on every call with them", () => {
    const other = "second-secret-value-0123";
    expect(redactorFor([TOKEN, other])).toBe(redactorFor([TOKEN, other]));
    expect(redactorFor([TOKEN])).not.toBe(redactorFor([TOKEN, other]));
    const text = `a ${encodeURIComponent(AWKWARD)} b ${base64(TOKEN)} c`;
    const once = redactSecrets(text, [TOKEN, AWKWARD]);
    expect(once).toBe(`a ${REDACTED} b ${REDACTED} c`);
    // The patterns are reused (a global regular expression keeps no position between calls).
    for (let call = 0; call < 3; call++) expect(redactSecrets(text, [TOKEN, AWKWARD])).toBe(once);
  });

  it("does not take a secret's characters as regular expression syntax", () => {
    const pattern = "a.b*c+d?(e)[f]{g}|h^$\\";
    expect(redactSecrets("aXbbbcddd(e)[f]{g}|h^$\\", [pattern])).toBe("aXbbbcddd(e)[f]{g}|h^$\\");
    expect(redactSecrets(`<${pattern}>`, [pattern])).toBe(`<${REDACTED}>`);
  });
});

describe("deploymentSecrets", () => {
  const key = btoa("test-webhook-signing-key-32bytes");

  it("holds the webhook secret's key without its whsec_ prefix, so the key alone is redacted too", () => {
    const secrets = deploymentSecrets({ SERVER_AUTH_TOKEN: "current-token-value", WEBHOOK_SECRET: `whsec_${key}` });
    expect(secrets).toContain(`whsec_${key}`);
    expect(secrets).toContain(key);
    expect(redactSecrets(`the key is ${key}.`, secrets)).toBe(`the key is ${REDACTED}.`);
  });

  it("holds each configured secret once, and nothing for unset ones", () => {
    expect(deploymentSecrets({ SERVER_AUTH_TOKEN: "current-token-value", GITHUB_TOKEN: "" })).toEqual(["current-token-value"]);
    expect(deploymentSecrets({ WEBHOOK_SECRET: "not-a-whsec-value-0123" })).toEqual(["not-a-whsec-value-0123"]);
  });
});
