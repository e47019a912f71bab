/**
 * console/build.ts: the assets land where wrangler.jsonc and the Pulumi
 * program look for them, byte for byte the same on every build, with nothing
 * outside the console's path (so no asset can answer for an API route), a
 * page that runs no inline code, and the security headers in `_headers`.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConsole, bundleConsole } from "../../console/build.js";
import { CONSOLE_CONTENT_SECURITY_POLICY, CONSOLE_SECURITY_HEADERS, headersFile } from "../../console/security-headers.js";
import { CONSOLE_ASSETS } from "../../worker/src/contract.js";

describe("buildConsole", () => {
  it("builds into the contract's directory and returns its absolute path", async () => {
    const directory = await buildConsole();
    expect(directory).toBe(resolve(CONSOLE_ASSETS.directory));
    for (const file of ["_headers", "console/index.html", "console/app.js", "console/app.css"]) {
      expect((await stat(join(directory, file))).isFile(), file).toBe(true);
    }
  });

  it("puts every file under the console's path, but the _headers file wrangler reads", async () => {
    const { files } = await bundleConsole();
    const prefix = CONSOLE_ASSETS.consolePath.slice(1);
    expect([...files.keys()].filter((path) => !path.startsWith(prefix))).toEqual(["_headers"]);
    expect(CONSOLE_ASSETS.runWorkerFirst).toEqual(["/*", `!${CONSOLE_ASSETS.consolePath}*`]);
  });

  it("makes the same bytes every time, and rewrites no file that did not change", async () => {
    const [first, second] = [await bundleConsole(), await bundleConsole()];
    expect([...second.files.keys()]).toEqual([...first.files.keys()]);
    for (const [path, bytes] of first.files) expect(Buffer.compare(Buffer.from(second.files.get(path)!), Buffer.from(bytes)), path).toBe(0);

    const directory = await buildConsole();
    const before = (await stat(join(directory, "console/app.js"))).mtimeMs;
    await buildConsole();
    expect((await stat(join(directory, "console/app.js"))).mtimeMs).toBe(before);
  });

  it("removes files an earlier build left that this one does not make", async () => {
    // In a directory of its own: a file planted in dist/assets would reload the stub other tests run tasks on.
    const directory = await mkdtemp(join(tmpdir(), "claude-sandbox-console-"));
    try {
      await buildConsole(directory);
      const stale = join(directory, "console/old/app-1234.js");
      await mkdir(join(directory, "console/old"), { recursive: true });
      await writeFile(stale, "stale");
      await buildConsole(directory);
      await expect(stat(stale)).rejects.toThrow(/ENOENT/);
      await expect(stat(join(directory, "console/app.js"))).resolves.toBeTruthy();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("serves a page that runs no inline code and loads only its own files", async () => {
    const { files } = await bundleConsole();
    const page = Buffer.from(files.get("console/index.html")!).toString("utf8");
    for (const tag of page.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="[a-z0-9.-]+"/);
    expect(page).not.toMatch(/<script\b[^>]*>(?!<\/script>)/);
    expect(page).not.toMatch(/\son[a-z]+=|\sstyle=|<style|javascript:/i);
    const references = [...page.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) expect(files.has(`console/${reference}`), reference).toBe(true);
  });

  it("writes the security headers for every path under the console", async () => {
    const { files } = await bundleConsole();
    expect(Buffer.from(files.get("_headers")!).toString("utf8")).toBe(headersFile());
    expect(headersFile().split("\n")[0]).toBe(`${CONSOLE_ASSETS.consolePath}*`);
    expect(CONSOLE_CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONSOLE_CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-|\*|https?:|data:|blob:/);
    expect(CONSOLE_SECURITY_HEADERS).toMatchObject({ "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer" });
  });
});
