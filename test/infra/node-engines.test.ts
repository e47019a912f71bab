/**
 * The Node.js versions the project admits: the program's dynamic providers run
 * in Pulumi's provider host and load modules with `process.getBuiltinModule`,
 * which Node added in 20.16 and 22.3, so `engines.node` admits no release
 * without it, and the README says the same.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } };
const readme = readFileSync("README.md", "utf8");

describe("engines.node", () => {
  it("admits Node 20 from 20.16 and Node 22 from 22.3 on, and nothing older", () => {
    expect(pkg.engines.node).toBe("^20.16.0 || >=22.3.0");
  });

  it("is what the README asks for, wherever it names a Node version", () => {
    const mentions = readme.match(/Node\.js \d[^\n]*/g) ?? [];
    expect(mentions.length).toBeGreaterThan(0);
    for (const mention of mentions) expect(mention).toMatch(/^Node\.js 20\.16 or newer on Node 20, or 22\.3 or newer/);
  });

  it("holds for the Node running these tests", () => {
    expect(typeof process.getBuiltinModule).toBe("function");
  });
});
