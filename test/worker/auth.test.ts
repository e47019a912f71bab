import { describe, expect, it } from "vitest";
import { events } from "./harness.js";
import {
  call,
  callWithEnv,
  captureLogs,
  CURRENT_TOKEN,
  execute,
  freshState,
  PREVIOUS_TOKEN,
  storedKeys,
} from "./helpers.js";

freshState();
const logs = captureLogs();

/** A token of the same length as the current one that differs in one character. */
const sameLengthWrong = `${CURRENT_TOKEN.slice(0, -1)}${CURRENT_TOKEN.endsWith("x") ? "y" : "x"}`;

const rejected: [string, Record<string, string>][] = [
  ["no Authorization header", {}],
  ["an empty Authorization header", { authorization: "" }],
  ["the Basic scheme", { authorization: `Basic ${btoa(`user:${CURRENT_TOKEN}`)}` }],
  ["the token without a scheme", { authorization: CURRENT_TOKEN }],
  ["the Token scheme", { authorization: `Token ${CURRENT_TOKEN}` }],
  ["an empty bearer", { authorization: "Bearer " }],
  ["a bearer of spaces", { authorization: "Bearer    " }],
  ["a wrong token of equal length", { authorization: `Bearer ${sameLengthWrong}` }],
  ["a prefix of the token", { authorization: `Bearer ${CURRENT_TOKEN.slice(0, -4)}` }],
  ["the token with a suffix", { authorization: `Bearer ${CURRENT_TOKEN}0` }],
  ["the token with a prefix", { authorization: `Bearer 0${CURRENT_TOKEN}` }],
  ["two tokens", { authorization: `Bearer ${CURRENT_TOKEN} ${CURRENT_TOKEN}` }],
  ["the token in upper case", { authorization: `Bearer ${CURRENT_TOKEN.toUpperCase()}` }],
  ["the token in a query-style header", { "x-api-key": CURRENT_TOKEN }],
];

describe.each([
  ["POST /execute", (headers: Record<string, string>) => execute({ task: "t" }, { ...headers, "content-type": "application/json" })],
  ["GET /tasks/:taskId/result", (headers: Record<string, string>) => call("/tasks/3f1c1c3e-5a7b-4c8d-9e0f-112233445566/result", { headers })],
])("%s", (_route, send) => {
  it.each(rejected)("rejects %s with 401 and WWW-Authenticate: Bearer", async (_name, headers) => {
    const response = await send(headers);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await response.json()).toEqual({ error: "Unauthorized", code: "unauthorized" });
    expect(events.execs).toEqual([]);
    expect(await storedKeys()).toEqual([]);
  });

  it("accepts the current token", async () => {
    const response = await send({ authorization: `Bearer ${CURRENT_TOKEN}` });
    expect(response.status).not.toBe(401);
  });

  it("accepts the previous token until the next rotation", async () => {
    const response = await send({ authorization: `Bearer ${PREVIOUS_TOKEN}` });
    expect(response.status).not.toBe(401);
  });

  it("accepts the scheme in any case", async () => {
    const response = await send({ authorization: `bearer ${CURRENT_TOKEN}` });
    expect(response.status).not.toBe(401);
  });
});

describe("token slots", () => {
  const init = () => ({
    method: "POST",
    headers: { authorization: `Bearer ${PREVIOUS_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ task: "t" }),
  });

  it("rejects the old previous token when the previous slot is unset", async () => {
    const response = await callWithEnv("/execute", init(), { SERVER_AUTH_TOKEN_PREVIOUS: undefined });
    expect(response.status).toBe(401);
  });

  it("rejects an empty bearer when the previous slot is empty", async () => {
    const response = await callWithEnv(
      "/execute",
      { ...init(), headers: { authorization: "Bearer ", "content-type": "application/json" } },
      { SERVER_AUTH_TOKEN_PREVIOUS: "" },
    );
    expect(response.status).toBe(401);
  });

  it("answers 500 auth_not_configured, never open access, when no token is bound", async () => {
    const response = await callWithEnv("/execute", init(), { SERVER_AUTH_TOKEN: undefined });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Server auth token is not configured", code: "auth_not_configured" });
    expect(events.execs).toEqual([]);
  });

  it("never writes a token to the log", async () => {
    await execute({ task: "t" });
    await execute({ task: "t" }, { authorization: `Bearer ${sameLengthWrong}`, "content-type": "application/json" });
    const text = logs.lines().join("\n");
    expect(text).not.toContain(CURRENT_TOKEN);
    expect(text).not.toContain(sameLengthWrong);
  });
});
