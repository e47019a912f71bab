/**
 * Cloudflare Access in front of the deployment, by attack: a request with a
 * valid `Cf-Access-Jwt-Assertion` (RS256, the team's keys, its issuer, the
 * application's audience, not expired) is let in without the API token and
 * its email recorded as who submitted a task; every other assertion is
 * refused, whatever else the request carries. The team's keys are a key set
 * generated here, published by the local receiver (test/fixtures/webhook-sink.ts).
 */
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { TaskListDocument, TaskStatusDocument } from "../../worker/src/contract.js";
import { readSettings } from "../../worker/src/settings.js";
import { auth, callWithEnv, captureLogs, CURRENT_TOKEN, freshState, storedResult } from "./helpers.js";

freshState();
captureLogs();

const sink = inject("webhookSink");
const AUDIENCE = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const EMAIL = "ada@example.com";
const ACCESS = { ACCESS_TEAM_DOMAIN: sink, ACCESS_AUDIENCE: AUDIENCE };

let teamKey: CryptoKey;
let strangerKey: CryptoKey;

beforeAll(async () => {
  const team = await generateKeyPair("RS256", { extractable: true });
  const stranger = await generateKeyPair("RS256", { extractable: true });
  teamKey = team.privateKey;
  strangerKey = stranger.privateKey;
  const jwk: JWK = { ...(await exportJWK(team.publicKey)), kid: "team-key-1", alg: "RS256", use: "sig" };
  await fetch(`${sink}/access-keys`, { method: "PUT", body: JSON.stringify({ keys: [jwk] }) });
});

/** An Access assertion: by default what Access issues for this application, now. */
async function assertion(overrides: { key?: CryptoKey; kid?: string; issuer?: string; audience?: string; expiresIn?: string; email?: string | null } = {}): Promise<string> {
  const claims = overrides.email === null ? {} : { email: overrides.email ?? EMAIL };
  return new SignJWT({ ...claims, type: "app" })
    .setProtectedHeader({ alg: "RS256", kid: overrides.kid ?? "team-key-1" })
    .setIssuer(overrides.issuer ?? sink)
    .setAudience(overrides.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(overrides.expiresIn ?? "10m")
    .sign(overrides.key ?? teamKey);
}

function callBehindAccess(path: string, init: RequestInit, headers: Record<string, string>, env: Record<string, string | undefined> = ACCESS): Promise<Response> {
  return callWithEnv(path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } }, env);
}

describe("the Access settings", () => {
  it.each([
    ["a team domain", { ACCESS_TEAM_DOMAIN: "Acme.cloudflareaccess.com", ACCESS_AUDIENCE: AUDIENCE }, { issuer: "https://acme.cloudflareaccess.com", audience: AUDIENCE }],
    ["neither", {}, null],
  ] as const)("read %s", (_name, vars, expected) => {
    expect(readSettings({ ...vars }).access).toEqual(expected);
  });

  it.each([
    ["a team without an audience", { ACCESS_TEAM_DOMAIN: "acme.cloudflareaccess.com" }],
    ["an audience without a team", { ACCESS_AUDIENCE: AUDIENCE }],
    ["a team domain with a path", { ACCESS_TEAM_DOMAIN: "https://acme.cloudflareaccess.com/evil", ACCESS_AUDIENCE: AUDIENCE }],
    ["plain http outside local development", { ACCESS_TEAM_DOMAIN: "http://127.0.0.1:9999", ACCESS_AUDIENCE: AUDIENCE }],
    ["an audience with punctuation", { ACCESS_TEAM_DOMAIN: "acme.cloudflareaccess.com", ACCESS_AUDIENCE: "aud,other" }],
    ["a team domain that is not Cloudflare Access's", { ACCESS_TEAM_DOMAIN: "login.example.com", ACCESS_AUDIENCE: AUDIENCE }],
    ["an audience that is not a 64-digit tag", { ACCESS_TEAM_DOMAIN: "acme.cloudflareaccess.com", ACCESS_AUDIENCE: "a1b2c3" }],
  ])("refuse %s", (_name, vars) => {
    expect(() => readSettings(vars)).toThrow(/ACCESS_/);
  });
});

describe("a request behind Access", () => {
  it("is let in by a valid assertion without the token, and the task records who submitted it", async () => {
    const headers = { "cf-access-jwt-assertion": await assertion() };
    const list = await callBehindAccess("/tasks", {}, headers);
    expect(list.status).toBe(200);
    const submitted = await callBehindAccess("/tasks", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ task: "from the console" }) }, headers);
    expect(submitted.status).toBe(202);
    const document = (await submitted.json()) as TaskStatusDocument;
    expect(document.submittedBy).toBe(EMAIL);
    await storedResult(document.taskId);
    const status = (await (await callBehindAccess(`/tasks/${document.taskId}`, {}, headers)).json()) as TaskStatusDocument;
    expect(status.submittedBy).toBe(EMAIL);
    const listed = (await (await callBehindAccess("/tasks?limit=100", {}, headers)).json()) as TaskListDocument;
    expect(listed.tasks.find((task) => task.taskId === document.taskId)?.submittedBy).toBe(EMAIL);
  });

  it("leaves submittedBy out of a task submitted with the token", async () => {
    const response = await callBehindAccess("/tasks", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ task: "from a script" }) }, auth(), ACCESS);
    const document = (await response.json()) as TaskStatusDocument;
    expect(response.status).toBe(202);
    expect(document).not.toHaveProperty("submittedBy");
    await storedResult(document.taskId);
  });

  it.each([
    ["signed by another key with the team's key id", () => assertion({ key: strangerKey })],
    ["naming a key the team does not have", () => assertion({ kid: "unknown-key" })],
    ["for another application", () => assertion({ audience: "0".repeat(64) })],
    ["from another issuer", () => assertion({ issuer: "https://evil.cloudflareaccess.com" })],
    ["expired", () => assertion({ expiresIn: "-1m" })],
    ["without an email", () => assertion({ email: null })],
    ["unsigned (alg none)", async () => `${btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "")}.${btoa(JSON.stringify({ email: EMAIL, iss: sink, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 })).replace(/=+$/, "")}.`],
    ["signed with a shared secret (HS256)", () => new SignJWT({ email: EMAIL }).setProtectedHeader({ alg: "HS256" }).setIssuer(sink).setAudience(AUDIENCE).setExpirationTime("10m").sign(new TextEncoder().encode("a-secret-anyone-could-guess-00000"))],
    ["that is not a JWT", async () => "not-a-jwt"],
    ["of 100 KiB", async () => "a".repeat(100 * 1024)],
  ])("refuses an assertion %s with 401, even with the right token beside it", async (_name, make) => {
    const forged = await make();
    for (const headers of [{ "cf-access-jwt-assertion": forged }, { "cf-access-jwt-assertion": forged, authorization: `Bearer ${CURRENT_TOKEN}` }]) {
      const response = await callBehindAccess("/tasks", {}, headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "Unauthorized", code: "unauthorized" });
    }
  });

  it("ignores an assertion when the deployment does not use Access: the token is needed", async () => {
    const headers = { "cf-access-jwt-assertion": await assertion() };
    const withoutAccess = { ACCESS_TEAM_DOMAIN: undefined, ACCESS_AUDIENCE: undefined };
    expect((await callBehindAccess("/tasks", {}, headers, withoutAccess)).status).toBe(401);
    expect((await callBehindAccess("/tasks", {}, { ...headers, ...auth() }, withoutAccess)).status).toBe(200);
  });

  it("fetches the team's keys once, not on every request", async () => {
    const before = ((await (await fetch(`${sink}/received/access-keys`)).json()) as unknown[]).length;
    for (let index = 0; index < 5; index++) {
      expect((await callBehindAccess("/tasks", {}, { "cf-access-jwt-assertion": await assertion() })).status).toBe(200);
    }
    const after = ((await (await fetch(`${sink}/received/access-keys`)).json()) as unknown[]).length;
    expect(after - before).toBeLessThanOrEqual(1);
  });

  it("answers 500 settings_invalid, not 200, when only one of the two settings is set", async () => {
    const response = await callBehindAccess("/tasks", {}, { "cf-access-jwt-assertion": await assertion() }, { ACCESS_TEAM_DOMAIN: sink, ACCESS_AUDIENCE: undefined });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { code: string }).code).toBe("settings_invalid");
  });
});
