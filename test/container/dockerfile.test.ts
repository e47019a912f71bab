/** The sandbox image is built from the versions the repository pins. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const dockerfile = readFileSync("container/Dockerfile", "utf8");
const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const installed = (name: string) =>
  (JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")) as { version: string }).version;

describe("container/Dockerfile", () => {
  it("starts FROM the cloudflare/sandbox image of the @cloudflare/sandbox version in package.json (its tag, and its digest once pinned)", () => {
    const from = /^FROM\s+(\S+)/m.exec(dockerfile)?.[1];
    expect(from?.replace(/@sha256:[0-9a-f]{64}$/, "")).toBe(`docker.io/cloudflare/sandbox:${pkg.dependencies["@cloudflare/sandbox"]}`);
    expect(pkg.dependencies["@cloudflare/sandbox"]).toBe(installed("@cloudflare/sandbox"));
  });

  it("installs Claude Code at the version the tests check (the dev dependency)", () => {
    const pinned = /@anthropic-ai\/claude-code@(\S+)/.exec(dockerfile)?.[1];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pinned).toBe(pkg.devDependencies["@anthropic-ai/claude-code"]);
    expect(pinned).toBe(installed("@anthropic-ai/claude-code"));
  });

  it("pins exact versions of every dependency", () => {
    for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      expect(range, name).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });
});
