/**
 * Bearer authentication on every route the route table marks `bearer`, by
 * attack: wrong schemes, near-miss tokens, empty slots; and the per-token rate
 * limit on task creation. The routes come from the table itself, so a new
 * route cannot be left out.
 */
import { describe, expect, it, vi } from "vitest";
import { ROUTES } from "../../worker/src/http/app.js";
import { authorize } from "../../worker/src/http/auth.js";
import { WORKER_TEST_RATE_LIMIT } from "../fixtures/worker-bindings.js";
import { sandboxEvents } from "./harness.js";
import {
  call,
  callWithEnv,
  captureLogs,
  CURRENT_TOKEN,
  execute,
  freshState,
  PREVIOUS_TOKEN,
  storedKeys,
  storedResult,
  submit,
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

const KNOWN_ID = "3f1c1c3e-5a7b-4c8d-9e0f-112233445566";

/** What each protected route answers a valid token with (for an unknown task where it names one). */
const OK_STATUS: Readonly<Record<string, number>> = {
  "GET /tasks": 200,
  "POST /tasks": 202,
  "POST /execute": 200,
  "GET /tasks/:taskId": 404,
  "GET /tasks/:taskId/events": 404,
  "POST /tasks/:taskId/cancel": 404,
  "GET /tasks/:taskId/result": 404,
  "GET /tasks/:taskId/artifacts/:name": 404,
  "POST /diagnostics": 200,
  // Past the token, the MCP transport refuses a request that does not accept its answer (JSON or SSE).
  "POST /mcp": 406,
};

const routeName = (route: (typeof ROUTES)[number]) => `${route.method} ${route.pattern}`;

/** Sends `headers` to a route as a client would: an unknown task where the path names one, a small task where it takes one. */
function callRoute(route: (typeof ROUTES)[number], headers: Record<string, string>): Promise<Response> {
  const path = route.pattern.replace(":taskId", KNOWN_ID).replace(":name", "changes.patch");
  if (path === "/tasks" && route.method === "POST") return submit({ task: "t" }, { ...headers, "content-type": "application/json" });
  if (path === "/execute") return execute({ task: "t" }, { ...headers, "content-type": "application/json" });
  return call(path, { method: route.method, headers });
}

/** Every route the table protects, with how to call it and what it answers a valid token with. */
const routes: [string, (headers: Record<string, string>) => Promise<Response>, number][] = ROUTES.filter((route) => route.auth === "bearer").map((route) => [
  routeName(route),
  (headers) => callRoute(route, headers),
  OK_STATUS[routeName(route)] ?? 0,
]);

describe("the route table", () => {
  it("leaves only /, /console (both send a browser to the console) and /health open", () => {
    expect(ROUTES.filter((route) => route.auth === "open").map(routeName)).toEqual(["GET /", "GET /console", "GET /health"]);
  });

  it("protects every other route, each of which this file attacks", () => {
    expect(routes.map(([name]) => name).sort()).toEqual(Object.keys(OK_STATUS).sort());
  });
});

/** Waits for the task a response created (if any) to end, so no test leaves one running. */
async function settle(response: Response): Promise<void> {
  const body = (await response.json()) as { taskId?: string };
  if ((response.status === 200 || response.status === 202) && body.taskId) await storedResult(body.taskId);
}

describe.each(routes)("%s", (_route, send, okStatus) => {
  it.each(rejected)("rejects %s with 401 and WWW-Authenticate: Bearer", async (_name, headers) => {
    const keysBefore = await storedKeys();
    const response = await send(headers);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await response.json()).toEqual({ error: "Unauthorized", code: "unauthorized" });
    expect(sandboxEvents.starts).toEqual([]);
    expect(await storedKeys()).toEqual(keysBefore);
  });

  it(`accepts the current token (${okStatus})`, async () => {
    const response = await send({ authorization: `Bearer ${CURRENT_TOKEN}` });
    expect(response.status).toBe(okStatus);
    await settle(response);
  });

  it(`accepts the previous token until the next rotation (${okStatus})`, async () => {
    const response = await send({ authorization: `Bearer ${PREVIOUS_TOKEN}` });
    expect(response.status).toBe(okStatus);
    await settle(response);
  });

  it(`accepts the scheme in any case (${okStatus})`, async () => {
    const response = await send({ authorization: `bearer ${CURRENT_TOKEN}` });
    expect(response.status).toBe(okStatus);
    await settle(response);
  });
});

describe("authorize", () => {
  const tokens = { current: "current-token-value", previous: "previous-token-value" };
  it.each([
    ["the current token", "Bearer current-token-value", tokens, "current"],
    ["the previous token", "Bearer previous-token-value", tokens, "previous"],
    ["another token", "Bearer something-else", tokens, "unauthorized"],
    ["no header", undefined, tokens, "unauthorized"],
    ["the previous token once the slot is empty", "Bearer previous-token-value", { current: "current-token-value", previous: "" }, "unauthorized"],
    ["any token when no current token is bound", "Bearer current-token-value", { current: undefined, previous: "x" }, "not_configured"],
  ] as const)("%s → %s", async (_name, header, slots, outcome) => {
    expect(await authorize(header, slots)).toBe(outcome);
  });
});

describe("authorize's comparison", () => {
  const tokens = { current: "current-token-value", previous: "previous-token-value" };
  it.each([
    ["the current token", "Bearer current-token-value", "current"],
    ["the previous token", "Bearer previous-token-value", "previous"],
    ["a miss", "Bearer another-token-value-entirely", "unauthorized"],
    ["no token at all", undefined, "unauthorized"],
  ] as const)("compares both slots in constant time for %s", async (_name, header, outcome) => {
    const compare = vi.spyOn(crypto.subtle, "timingSafeEqual");
    expect(await authorize(header, tokens)).toBe(outcome);
    // Both slots, every time, whichever matched: digests of equal length, the presented one against each.
    expect(compare).toHaveBeenCalledTimes(2);
    const [[presented, first], [again, second]] = compare.mock.calls as unknown as [[ArrayBuffer, ArrayBuffer], [ArrayBuffer, ArrayBuffer]];
    for (const digest of [presented, first, again, second]) expect(digest.byteLength).toBe(32);
    expect(new Uint8Array(again)).toEqual(new Uint8Array(presented));
    expect(new Uint8Array(first)).not.toEqual(new Uint8Array(second));
  });
});

describe("a token slot, through authorize", () => {
  // The previous slot, beside a current token that is never presented here.
  it.each([
    ["an empty slot never matches, not even an empty token", "Bearer ", "", "unauthorized"],
    ["an unset slot never matches, not even an empty token", "Bearer ", undefined, "unauthorized"],
    ["an unset slot never matches a token", "Bearer x", undefined, "unauthorized"],
    ["an empty slot never matches a token", "Bearer x", "", "unauthorized"],
    ["an equal token matches", "Bearer abc", "abc", "previous"],
    ["a different token of equal length does not", "Bearer abd", "abc", "unauthorized"],
    ["a prefix does not", "Bearer ab", "abc", "unauthorized"],
    ["a longer token does not", "Bearer abcd", "abc", "unauthorized"],
  ] as const)("%s", async (_name, header, slot, outcome) => {
    expect(await authorize(header, { current: "current-token-value", previous: slot })).toBe(outcome);
  });

  it("matches the current slot the same way", async () => {
    expect(await authorize("Bearer abc", { current: "abc", previous: undefined })).toBe("current");
    expect(await authorize("Bearer abd", { current: "abc", previous: undefined })).toBe("unauthorized");
    expect(await authorize("Bearer ab", { current: "abc", previous: "" })).toBe("unauthorized");
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


  it("answers 500 auth_not_configured, never open access, when no token is bound", async () => {
    const response = await callWithEnv("/execute", init(), { SERVER_AUTH_TOKEN: undefined });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Server auth token is not configured", code: "auth_not_configured" });
    expect(sandboxEvents.starts).toEqual([]);
  });

  it("never writes a token to the log", async () => {
    await settle(await execute({ task: "t" }));
    await execute({ task: "t" }, { authorization: `Bearer ${sameLengthWrong}`, "content-type": "application/json" });
    const text = logs.lines().join("\n");
    expect(text).not.toContain(CURRENT_TOKEN);
    expect(text).not.toContain(sameLengthWrong);
  });
});

describe("rate limit on task creation", () => {
  // Through the Worker's handler with the test's own bindings: the limiter keeps its counts in that binding object.
  const post = (path: string, token: string) =>
    callWithEnv(path, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" }, {});

  it("answers 429 rate_limited with Retry-After once a token made its tasks of the minute, and counts each token apart", async () => {
    // The previous token's budget is used only here: every creation request counts, accepted or not.
    // The limit counts in fixed one-minute windows: a window may end during the loop, so it may take up to twice the limit.
    let limited: Response | undefined;
    let sent = 0;
    for (; sent <= 2 * WORKER_TEST_RATE_LIMIT + 1 && !limited; sent++) {
      const response = await post("/tasks", PREVIOUS_TOKEN);
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(400);
    }
    expect(limited).toBeDefined();
    // Earlier tests in this file spent a few of the previous token's requests; the limit is what stopped the rest.
    expect(sent).toBeGreaterThan(WORKER_TEST_RATE_LIMIT / 2);
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited!.json()).toEqual({ error: "Too many tasks created; retry later", code: "rate_limited" });
    // The same token is limited on /execute too; reading is not limited; the current token is unaffected.
    expect((await post("/execute", PREVIOUS_TOKEN)).status).toBe(429);
    expect((await callWithEnv("/tasks", { headers: { authorization: `Bearer ${PREVIOUS_TOKEN}` } }, {})).status).toBe(200);
    expect((await post("/tasks", CURRENT_TOKEN)).status).toBe(400);
  }, 60_000);
});
