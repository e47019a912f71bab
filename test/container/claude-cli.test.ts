/**
 * The Worker's command against the real Claude Code binary of the pinned
 * version (installed from npm as a dev dependency, the same version as the
 * Dockerfile): every flag exists, and a task runs end to end against a
 * loopback stand-in of the Anthropic API, parsed by the Worker's own parser.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildClaudeInvocation, CLAUDE_FLAGS, type ClaudeInvocationInput } from "../../worker/src/tasks/claude-command.js";
import { parseClaudeOutput } from "../../worker/src/events/claude-output.js";
import { PERMISSION_MODES } from "../../worker/src/contract.js";
import { FAKE_REPLY, startFakeAnthropicApi, type FakeAnthropicApi } from "./fixtures/fake-anthropic-api.js";
import { runInBash } from "./fixtures/run-command.js";

const binDir = resolve("node_modules/.bin");
const help = execFileSync(join(binDir, "claude"), ["--help"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

/** The option names `claude --help` lists, e.g. `--print`, `-p`. */
const listedOptions = new Set([...help.matchAll(/^\s+((?:-\w, )?--[\w-]+(?:, --[\w-]+)*)/gm)].flatMap((match) => match[1]!.split(", ")));

function choicesOf(option: string): string[] {
  const start = help.indexOf(`  ${option} `);
  const block = help.slice(start, help.indexOf(")", help.indexOf("(choices:", start)));
  return [...block.slice(block.indexOf("(choices:")).matchAll(/"([^"]+)"/g)].map((match) => match[1]!);
}

describe("claude --help of the pinned version", () => {
  it("lists the options the parser found (sanity check of the parser)", () => {
    expect(listedOptions.has("--version")).toBe(true);
    expect(listedOptions.size).toBeGreaterThan(20);
  });

  it.each(CLAUDE_FLAGS)("lists %s", (flag) => {
    expect(listedOptions.has(flag)).toBe(true);
  });

  it("passes only flags from CLAUDE_FLAGS", () => {
    const { command } = buildClaudeInvocation({
      task: "t",
      permissionMode: "plan",
      model: "sonnet",
      maxTurns: 2,
      credential: { kind: "oauth", token: "x" },
      credentialMode: "proxy",
    });
    const flags = [...command.matchAll(/'(--?[\w-]+)'/g)].map((match) => match[1]);
    expect(new Set(flags)).toEqual(new Set(CLAUDE_FLAGS));
  });

  it.each(PERMISSION_MODES)("offers the permission mode %s", (mode) => {
    expect(choicesOf("--permission-mode")).toContain(mode);
  });

  it("offers the json output format", () => {
    expect(choicesOf("--output-format")).toContain("json");
  });
});

describe("a task run by the real claude binary", () => {
  let home: string;
  let api: FakeAnthropicApi | undefined;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "claude-home-"));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  async function runReal(mode: "text" | "tool", input: Partial<ClaudeInvocationInput> & { task: string }) {
    api = await startFakeAnthropicApi(mode);
    try {
      const invocation = buildClaudeInvocation({
        permissionMode: "bypassPermissions",
        credential: { kind: "apiKey", key: "fake-apikey-offline-test" },
        credentialMode: "env",
        ...input,
      });
      const outcome = await runInBash(invocation, {
        PATH: `${binDir}:/usr/bin:/bin`,
        HOME: home,
        ANTHROPIC_BASE_URL: api.url,
      });
      return { outcome, parsed: parseClaudeOutput(outcome.stdout), userTexts: api.userTexts(), requests: api.requests };
    } finally {
      await api.close();
    }
  }

  it("accepts every flag, treats a flag-like task as the prompt, and prints JSON the Worker reads", async () => {
    const task = "--help; $(id) `whoami` 'quoted' \"double\"\nsecond line";
    const { outcome, parsed, userTexts, requests } = await runReal("text", { task });
    expect(outcome.exitCode).toBe(0);
    expect(parsed).toMatchObject({ parsed: true, isError: false, subtype: "success", result: FAKE_REPLY });
    expect(parsed.usage).toMatchObject({ inputTokens: 12, outputTokens: 3, numTurns: 1 });
    expect(parsed.usage?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(userTexts).toContain(task);
    expect(requests[0]!.headers["x-api-key"]).toBe("fake-apikey-offline-test");
  }, 60_000);

  it("passes the model to the API", async () => {
    const { outcome, requests } = await runReal("text", { task: "t", model: "claude-test-model-1" });
    expect(outcome.exitCode).toBe(0);
    expect(requests.map((request) => (request.body as { model?: string }).model)).toContain("claude-test-model-1");
  }, 60_000);

  it("stops at maxTurns and says so in its JSON", async () => {
    const { outcome, parsed } = await runReal("tool", { task: "loop forever", maxTurns: 1 });
    expect(outcome.exitCode).not.toBe(0);
    expect(parsed).toMatchObject({ parsed: true, isError: true, subtype: "error_max_turns" });
  }, 60_000);
});
