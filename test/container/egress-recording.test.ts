/**
 * What the pinned Claude Code sends to the Anthropic API, recorded by running
 * the real binary with the Worker's command against the local fake API, for
 * each credential kind and each recorded task. The recording is committed
 * (fixtures/claude-code-api-recording.json) and the door's allowlists
 * (worker/src/egress/anthropic-rules.ts) must equal it, so an upgrade of Claude
 * Code that sends a new path, beta, field or tool fails here, not in production.
 *
 * After an upgrade: `npx vitest run -u test/container/egress-recording.test.ts`
 * records again; review the diff, then bring the allowlists to it.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ALLOWED_BETAS,
  ALLOWED_ROUTES,
  FORWARDED_REQUEST_HEADERS,
  MAX_BODY_DEPTH,
  MAX_BODY_VALUES,
  MAX_INSPECTED_BODY_BYTES,
  RECORDED_MESSAGE_FIELDS,
  WEB_SEARCH_TOOL_TYPES,
} from "../../worker/src/egress/anthropic-rules.js";
import {
  type ApiRecording,
  CREDENTIAL_KINDS,
  installedClaudeCodeVersion,
  RECORDED_TASKS,
  RECORDING_PATH,
  runClaudeCode,
  summarize,
} from "./fixtures/api-recording.js";
import { startFakeAnthropicApi } from "./fixtures/fake-anthropic-api.js";

/** The committed recording (read when a test needs it, so that recording again works without one). */
const committed = (): ApiRecording => JSON.parse(readFileSync(RECORDING_PATH, "utf8")) as ApiRecording;

describe("the recording of what Claude Code sends", () => {
  it("is what the installed Claude Code sends today", async () => {
    const recording: ApiRecording = { claudeCodeVersion: await installedClaudeCodeVersion(), runs: [] };
    for (const credential of CREDENTIAL_KINDS) {
      for (const { name, mode, task } of RECORDED_TASKS) {
        const api = await startFakeAnthropicApi(mode);
        try {
          const outcome = await runClaudeCode(credential, task, api.url);
          expect(outcome.exitCode, `${credential} ${name}: ${outcome.stderr}`).toBe(0);
          recording.runs.push({ credential, task: name, requests: api.requests.map(summarize) });
        } finally {
          await api.close();
        }
      }
    }
    await expect(`${JSON.stringify(recording, null, 2)}\n`).toMatchFileSnapshot(RECORDING_PATH);
  }, 300_000);

  it("covers a text task, a tool-using task and a web search, with each credential kind", () => {
    const covered = committed().runs.map((run) => `${run.credential} ${run.task}`).sort();
    expect(covered).toEqual(CREDENTIAL_KINDS.flatMap((kind) => RECORDED_TASKS.map((task) => `${kind} ${task.name}`)).sort());
    for (const run of committed().runs) expect(run.requests.length).toBeGreaterThan(0);
    const webSearch = committed().runs.filter((run) => run.task === "web-search");
    for (const run of webSearch) expect(run.requests.flatMap((request) => request.toolTypes)).toContain("web_search_20250305");
  });
});

/**
 * Request headers Claude Code sends that the door sets itself: the credential
 * (in place of the placeholder), the betas it keeps, the body's type, and
 * what the runtime writes for the connection and the body it sends.
 */
const DOOR_REQUEST_HEADERS = ["anthropic-beta", "authorization", "connection", "content-length", "content-type", "host", "x-api-key"];

describe("the door's allowlists equal the recording", () => {
  const requestsOf = (kind: string) => committed().runs.filter((run) => run.credential === kind).flatMap((run) => run.requests);

  it.each(CREDENTIAL_KINDS)("routes and their queries, for %s", (kind) => {
    const recorded = [...new Set(requestsOf(kind).map((request) => JSON.stringify([request.method, request.path, request.query])))].sort();
    const allowed = ALLOWED_ROUTES[kind]
      .flatMap((route) => {
        const queries = Object.entries(route.query).flatMap(([name, values]) => values.map((value) => `${name}=${value}`));
        return [JSON.stringify([route.method, route.path, queries.sort()])];
      })
      .sort();
    expect(allowed).toEqual(recorded);
  });

  it.each(CREDENTIAL_KINDS)("anthropic-beta values, for %s", (kind) => {
    const recorded = [...new Set(requestsOf(kind).flatMap((request) => request.betas))].sort();
    expect([...ALLOWED_BETAS[kind]].sort()).toEqual(recorded);
  });

  it("body fields of the Messages API", () => {
    const recorded = [...new Set(committed().runs.flatMap((run) => run.requests.flatMap((request) => request.bodyFields)))].sort();
    expect([...RECORDED_MESSAGE_FIELDS].sort()).toEqual(recorded);
  });

  it.each(CREDENTIAL_KINDS)("request headers: forwarded, or set by the door itself, for %s", (kind) => {
    const recorded = [...new Set(requestsOf(kind).flatMap((request) => request.headers))].sort();
    expect([...FORWARDED_REQUEST_HEADERS].sort()).toEqual(recorded.filter((name) => !DOOR_REQUEST_HEADERS.includes(name)));
    // The door's own headers are ones Claude Code sends too (the credential of this kind among them).
    expect(recorded).toEqual(expect.arrayContaining([kind === "oauth" ? "authorization" : "x-api-key", "anthropic-beta", "content-type"]));
  });

  it("body bounds: nesting four times the deepest recorded, values twice the largest request's density over the largest body", () => {
    const requests = committed().runs.flatMap((run) => run.requests);
    const deepest = Math.max(...requests.map((request) => request.depth));
    expect(MAX_BODY_DEPTH).toBeGreaterThanOrEqual(4 * deepest);
    expect(MAX_BODY_DEPTH).toBeLessThanOrEqual(16 * deepest);
    // The largest request is the conversation that grows; its density of values, over the largest body the door reads.
    const largest = requests.reduce((a, b) => (b.bytesAtMost > a.bytesAtMost || (b.bytesAtMost === a.bytesAtMost && b.valuesAtMost > a.valuesAtMost) ? b : a));
    const atThatDensity = (largest.valuesAtMost / largest.bytesAtMost) * MAX_INSPECTED_BODY_BYTES;
    expect(MAX_BODY_VALUES).toBeGreaterThanOrEqual(2 * atThatDensity);
    expect(MAX_BODY_VALUES).toBeLessThanOrEqual(8 * atThatDensity);
  });

  it("server tool types (custom tools run in the container)", () => {
    const recorded = [...new Set(committed().runs.flatMap((run) => run.requests.flatMap((request) => request.toolTypes)))]
      .filter((type) => type !== "custom")
      .sort();
    expect([...WEB_SEARCH_TOOL_TYPES].sort()).toEqual(recorded);
  });
});
