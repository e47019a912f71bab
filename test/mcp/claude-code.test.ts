/**
 * The real Claude Code (the pinned dev dependency) adds the deployment as a
 * remote MCP server the way docs/mcp.md tells people to, against the run's
 * shared `npm run dev:stub`, in a throwaway home directory: `claude mcp list`
 * then connects to it and reports it connected, and a wrong token is refused.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SharedStub, sharedStub } from "../fixtures/dev-stub.js";

const CLAUDE = resolve("node_modules/.bin/claude");

let stub: SharedStub;
let home: string;

beforeAll(async () => {
  stub = await sharedStub();
  home = await mkdtemp(join(tmpdir(), "claude-sandbox-mcp-home-"));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Runs `claude` with the throwaway home as HOME and as its working directory, and none of this machine's Claude settings. */
async function claude(...args: string[]): Promise<string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: home, NO_COLOR: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" };
  const { stdout, stderr } = await promisify(execFile)(CLAUDE, args, { cwd: home, env, timeout: 60_000 });
  return `${stdout}${stderr}`;
}

describe("Claude Code", () => {
  it("adds the server with claude mcp add and shows it connected in claude mcp list; a wrong token fails to connect", async () => {
    const url = `${stub.url}/mcp`;
    const added = await claude("mcp", "add", "--transport", "http", "claude-sandbox", url, "--header", `Authorization: Bearer ${stub.token}`);
    expect(added).toContain(`Added HTTP MCP server claude-sandbox with URL: ${url}`);
    expect(added).not.toContain(stub.token);
    await claude("mcp", "add", "--transport", "http", "wrong-token", url, "--header", "Authorization: Bearer not-the-token");

    const listed = await claude("mcp", "list");
    expect(listed).toContain(`claude-sandbox: ${url} (HTTP) - ✔ Connected`);
    expect(listed).toMatch(new RegExp(`wrong-token: ${url} \\(HTTP\\) - ✘ Failed to connect.*401`));
  });
});
