/**
 * The Worker's layers point down (docs/architecture.md, "Layers point down"):
 * every import of worker/src, type-only ones included, goes to the importer's
 * own layer or a layer below it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve("worker/src");

/** Each layer, from the top; a file belongs to the first entry its path starts with. */
const LAYERS: readonly (readonly string[])[] = [
  ["index.ts"],
  ["http/", "mcp/"],
  ["tasks/", "diagnostics/"],
  ["repositories/", "sandbox/", "egress/", "settings.ts"],
  ["events/", "storage/", "webhooks/"],
  ["contract.ts", "env.ts", "secrets.ts", "redaction.ts", "shell-quote.ts", "streams.ts"],
];

function layerOf(path: string): number {
  const index = LAYERS.findIndex((prefixes) => prefixes.some((prefix) => path === prefix || path.startsWith(prefix)));
  if (index === -1) throw new Error(`${path} has no layer: add it to LAYERS and to docs/architecture.md`);
  return index;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The files of worker/src that `file` imports (relative imports only; packages have no layer). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)].map((match) => match[1]!);
  return specifiers.map((specifier) => relative(ROOT, resolve(dirname(file), specifier.replace(/\.js$/, ".ts"))));
}

const files = sourceFiles(ROOT).map((file) => relative(ROOT, file));

describe("the Worker's layers", () => {
  it("give every module a layer", () => {
    for (const file of files) expect(() => layerOf(file), file).not.toThrow();
  });

  it.each(files)("%s imports nothing from a layer above it", (file) => {
    const upward = importsOf(join(ROOT, file)).filter((imported) => layerOf(imported) < layerOf(file));
    expect(upward).toEqual([]);
  });

  it("finds the imports it checks (a file that imports its neighbours is read as doing so)", () => {
    expect(importsOf(join(ROOT, "tasks/task-object.ts"))).toEqual(expect.arrayContaining(["tasks/task-store.ts", "contract.ts", "sandbox/control.ts"]));
    expect(importsOf(join(ROOT, "http/app.ts"))).toContain("tasks/object-stubs.ts");
  });
});
