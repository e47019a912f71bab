/** The deployed Worker bundle (the one `npm run build` writes and infra uploads). */
import { builtinModules } from "node:module";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleWorker, type WorkerBundle } from "../../worker/bundle.js";
import { DURABLE_OBJECT_BINDINGS } from "../../worker/src/contract.js";
import { WORKER_TEST_BINDINGS } from "../fixtures/worker-bindings.js";

/** Workers Paid: 10 MiB compressed per Worker; the Free plan allows 3 MiB. */
const FREE_PLAN_LIMIT_BYTES = 3 * 1024 * 1024;

let bundle: WorkerBundle;
beforeAll(async () => {
  bundle = await bundleWorker();
}, 60_000);

describe("the Worker bundle", () => {
  it("is an ES module that exports the handler, every bound Durable Object class and ContainerProxy", () => {
    expect(bundle.mainModule).toBe("index.js");
    const exported = /export\s*\{([^}]*)\}\s*;?\s*(\/\/# sourceMappingURL=.*)?$/.exec(bundle.code.trim())?.[1] ?? "";
    const names = exported.split(",").map((item) => item.trim().split(/\s+as\s+/).pop());
    // Each class the upload binds (and migrates) must be exported, or the upload is refused.
    const classes = [...new Set(Object.values(DURABLE_OBJECT_BINDINGS))];
    expect(names.sort()).toEqual(["ContainerProxy", ...classes, "default"].sort());
  });

  it("stays well under the Workers size limit (even the Free plan's)", () => {
    const gzip = gzipSync(bundle.code, { level: 9 }).byteLength;
    expect(gzip).toBeLessThan(FREE_PLAN_LIMIT_BYTES / 4);
  });

  it("imports only what the Workers runtime with nodejs_compat provides", () => {
    const nodeBuiltins = new Set(builtinModules.map((name) => `node:${name.replace(/^node:/, "")}`));
    for (const specifier of bundle.runtimeImports) {
      expect(specifier.startsWith("cloudflare:") || nodeBuiltins.has(specifier), specifier).toBe(true);
    }
    // A call, not text that starts a string: the MCP SDK's JSON Schema library holds `require("ajv/…")` in the code it generates.
    expect(bundle.code).not.toMatch(/(?<![`'"])\brequire\(["'](?!node:)/);
  });

  it("contains no secret and none of the dev stand-in", () => {
    for (const value of Object.values(WORKER_TEST_BINDINGS)) {
      if (value.length > 10) expect(bundle.code).not.toContain(value);
    }
    expect(bundle.code).not.toMatch(/sk-ant-[a-z0-9]{3,}-/i);
    expect(bundle.code).not.toContain("Stub sandbox");
    expect(bundle.code).not.toContain("dev-token");
  });

  it("is deterministic, so an unchanged Worker is no diff", async () => {
    const again = await bundleWorker();
    expect(again.code).toBe(bundle.code);
    expect(again.sourceMap).toBe(bundle.sourceMap);
  });

  it("has a source map whose paths are relative to the repository", () => {
    const map = JSON.parse(bundle.sourceMap) as { sources: string[] };
    expect(map.sources.length).toBeGreaterThan(1);
    for (const source of map.sources) expect(source.startsWith("/")).toBe(false);
    expect(map.sources).toContain("worker/src/index.ts");
  });
});
