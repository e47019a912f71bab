/**
 * Which Node the scripts run wrangler on (scripts/wrangler.ts): the running one
 * when it meets wrangler's floor, else the Node 24 that .node-version pins, kept
 * where .ci/run installs it; and what they say on a platform where it cannot be
 * fetched.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { chooseWranglerNode, meetsFloor, PINNED_NODE, pinnedNodeDirectory, WRANGLER_NODE_FLOOR } from "../../scripts/wrangler.js";

const wrangler = JSON.parse(readFileSync("node_modules/wrangler/package.json", "utf8")) as { engines: { node: string } };

describe("meetsFloor", () => {
  it.each([
    ["20.20.2", false],
    ["22.11.9", false],
    ["22.12.0", true],
    ["v22.12.0", true],
    ["23.0.0", true],
    ["24.22.3", true],
    ["8.17.0", false],
  ])("Node %s: %s", (version, meets) => {
    expect(meetsFloor(version)).toBe(meets);
  });

  it("is the pinned wrangler's own floor, and the pinned Node meets it", () => {
    expect(wrangler.engines.node).toBe(`>=${WRANGLER_NODE_FLOOR.join(".")}.0`);
    expect(PINNED_NODE).toMatch(/^24\.\d+\.\d+$/);
    expect(meetsFloor(PINNED_NODE)).toBe(true);
  });
});

describe("chooseWranglerNode", () => {
  const cleanUp: string[] = [];
  afterEach(() => {
    for (const directory of cleanUp.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  /** A cache directory that already holds the pinned Node, as .ci/run leaves it. */
  function cacheWithPinnedNode(): string {
    const cache = mkdtempSync(join(tmpdir(), "wrangler-node-"));
    cleanUp.push(cache);
    const bin = join(pinnedNodeDirectory({ XDG_CACHE_HOME: cache }), "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "node"), "");
    chmodSync(join(bin, "node"), 0o755);
    return cache;
  }

  it("runs wrangler on the running Node when it is new enough, and says nothing", () => {
    const said: string[] = [];
    const node = chooseWranglerNode({ running: "24.22.3", execPath: "/usr/local/bin/node", platform: "linux-x64", env: {}, say: (line) => said.push(line) });
    expect(node).toBe("/usr/local/bin/node");
    expect(said).toEqual([]);
  });

  it("runs it on the pinned Node from .ci/run's cache when the running one is older, and says so", () => {
    const cache = cacheWithPinnedNode();
    const said: string[] = [];
    const node = chooseWranglerNode({ running: "20.20.2", execPath: "/usr/bin/node", platform: "linux-x64", env: { XDG_CACHE_HOME: cache }, say: (line) => said.push(line) });
    expect(node).toBe(join(cache, "claude-sandbox", `node-v${PINNED_NODE}`, "bin", "node"));
    expect(said).toEqual([expect.stringMatching(new RegExp(`^Node 20\\.20\\.2 is older than wrangler's floor \\(22\\.12\\): wrangler runs on Node ${PINNED_NODE.replaceAll(".", "\\.")} from `))]);
  });

  it("names what to install where the pinned Node cannot be fetched", () => {
    expect(() =>
      chooseWranglerNode({ running: "20.20.2", execPath: "/usr/bin/node", platform: "darwin-arm64", env: {}, say: () => undefined }),
    ).toThrow(/wrangler needs Node 22\.12 or newer, and this is Node 20\.20\.2: install Node 24 LTS/);
  });

  it("is kept where .ci/run installs it, and .ci/run pins the same version", () => {
    expect(pinnedNodeDirectory({ XDG_CACHE_HOME: "/cache" })).toBe(`/cache/claude-sandbox/node-v${PINNED_NODE}`);
    const ci = readFileSync(".ci/run", "utf8");
    expect(ci).toContain('NODE_VERSION="$(cat .node-version)"');
    expect(ci).toContain('"${XDG_CACHE_HOME:-$HOME/.cache}/claude-sandbox/node-v${NODE_VERSION}"');
  });
});
