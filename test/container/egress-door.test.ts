/**
 * The real pinned `claude`, run with the Worker's command in proxy mode, talks
 * to the Anthropic API through the Worker's door (`forwardToAnthropic`, served
 * by a small local HTTP server as the SDK's interception would), which sends
 * what it accepts on to the local fake API. For each credential kind: every
 * recorded task still works, every request reaches the API with the
 * deployment's credential and never the placeholder, and nothing is refused
 * or dropped. With web search turned off, Claude Code's search is refused and
 * the task still ends.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type EgressEnv, forwardToAnthropic } from "../../worker/src/egress/anthropic-door.js";
import { CREDENTIAL_PLACEHOLDER, credentialVariable } from "../../worker/src/tasks/claude-command.js";
import { CREDENTIAL_KINDS, credentialOf, RECORDED_TASKS, runClaudeCode } from "./fixtures/api-recording.js";
import { FAKE_REPLY, startFakeAnthropicApi, type FakeAnthropicApi } from "./fixtures/fake-anthropic-api.js";
import { serveHandler } from "./fixtures/serve-handler.js";

/** The deployment's credential: only the door holds it. */
const DEPLOYMENT_CREDENTIAL = "fake-credential-held-by-the-door";

interface Door {
  url: string;
  /** Every request the door sent on, as the API got it. */
  forwarded: Request[];
  /** Errors the door threw instead of answering. */
  failures: unknown[];
  close(): Promise<void>;
}

/** Headers of one connection that the fetch client sets itself. */
const CONNECTION_HEADERS = ["connection", "keep-alive"];

/** Serves `forwardToAnthropic` over HTTP on loopback; what it sends to api.anthropic.com goes to `apiUrl`. */
async function startDoor(env: EgressEnv, apiUrl: string): Promise<Door> {
  const forwarded: Request[] = [];
  const send = async (outgoing: Request): Promise<Response> => {
    const target = new URL(outgoing.url);
    if (target.origin !== "https://api.anthropic.com") throw new Error(`the door sent a request to ${target.origin}`);
    forwarded.push(outgoing.clone());
    const headers = new Headers(outgoing.headers);
    for (const name of CONNECTION_HEADERS) headers.delete(name);
    return fetch(`${apiUrl}${target.pathname}${target.search}`, {
      method: outgoing.method,
      headers,
      body: await outgoing.arrayBuffer(),
      redirect: outgoing.redirect,
    });
  };
  const served = await serveHandler("api.anthropic.com", (request) => forwardToAnthropic(request, env, send));
  return { ...served, forwarded };
}

/** Claude Code's closing `result` message: the last line of its output that is one. */
function finalResult(stdout: string): Record<string, unknown> | undefined {
  const messages = stdout
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return messages.filter((message) => message.type === "result").at(-1);
}

let logs: Record<string, unknown>[] = [];
beforeEach(() => {
  logs = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    logs.push(JSON.parse(args.map(String).join(" ")) as Record<string, unknown>);
  });
});
afterEach(() => vi.restoreAllMocks());

/** Runs a recorded task through the door; the environment holds the deployment's settings and credential. */
async function runThroughDoor(kind: (typeof CREDENTIAL_KINDS)[number], taskName: string, settings: Partial<EgressEnv> = {}) {
  const recorded = RECORDED_TASKS.find((task) => task.name === taskName)!;
  const api: FakeAnthropicApi = await startFakeAnthropicApi(recorded.mode);
  const credential = credentialOf(kind, DEPLOYMENT_CREDENTIAL);
  const door = await startDoor({ [credentialVariable(credential)]: DEPLOYMENT_CREDENTIAL, ...settings }, api.url);
  try {
    const outcome = await runClaudeCode(kind, recorded.task, door.url);
    return { outcome, result: finalResult(outcome.stdout), api, door };
  } finally {
    await door.close();
    await api.close();
  }
}

describe.each(CREDENTIAL_KINDS)("Claude Code through the door with %s", (kind) => {
  const credentialHeader = kind === "oauth" ? "authorization" : "x-api-key";
  const expectedCredential = kind === "oauth" ? `Bearer ${DEPLOYMENT_CREDENTIAL}` : DEPLOYMENT_CREDENTIAL;

  it.each(RECORDED_TASKS.map((task) => task.name))("runs the %s task, each request leaving with the real credential", async (taskName) => {
    const { outcome, result, api, door } = await runThroughDoor(kind, taskName);

    expect(outcome.exitCode, outcome.stderr).toBe(0);
    expect(result).toMatchObject({ subtype: "success", is_error: false, result: FAKE_REPLY });
    expect(api.requests.length).toBeGreaterThan(0);
    expect(door.failures).toEqual([]);
    expect(door.forwarded).toHaveLength(api.requests.length);
    for (const request of api.requests) {
      expect(request.headers[credentialHeader]).toBe(expectedCredential);
      expect(JSON.stringify(request.headers)).not.toContain(CREDENTIAL_PLACEHOLDER);
    }
    expect(logs.filter((line) => line.event === "egress_refused" || line.event === "egress_betas_dropped")).toEqual([]);
  }, 120_000);
});

describe("web search turned off", () => {
  it.each(CREDENTIAL_KINDS)("refuses Claude Code's search with %s, and the task still ends", async (kind) => {
    const { outcome, result, api } = await runThroughDoor(kind, "web-search", { ALLOW_WEB_SEARCH: "false" });

    expect(outcome.exitCode, outcome.stderr).toBe(0);
    expect(result).toMatchObject({ subtype: "success", result: FAKE_REPLY });
    expect(api.requests.flatMap((request) => request.body.tools ?? []).map((tool) => tool.type)).not.toContain("web_search_20250305");
    expect(logs).toContainEqual(expect.objectContaining({ event: "egress_refused", rule: "web_search_disabled" }));
  }, 120_000);
});
