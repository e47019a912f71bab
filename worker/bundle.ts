/**
 * Bundles the Worker for deployment with esbuild: one minified ES module and its
 * source map. `npm run build` and the Pulumi program (infra/) both call this, so
 * what is tested locally is what is deployed. The output is deterministic: an
 * unchanged Worker gives byte-identical code, hence no diff on `pulumi up`.
 */
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The deployed entry point (never the dev stub). */
export const WORKER_ENTRY = fileURLToPath(new URL("./src/index.ts", import.meta.url));

/** Name of the main module in the upload. */
export const WORKER_MAIN_MODULE = "index.js";

export interface WorkerBundle {
  /** The main module's name, `index.js`. */
  mainModule: string;
  /** The bundled ES module. */
  code: string;
  /** Its source map (sources relative to the repository). */
  sourceMap: string;
  /** Module specifiers left to the runtime (`cloudflare:*`, `node:*`). */
  runtimeImports: string[];
}

/** Builds the Worker bundle in memory. */
export async function bundleWorker(entry: string = WORKER_ENTRY): Promise<WorkerBundle> {
  const result = await build({
    entryPoints: [entry],
    outfile: WORKER_MAIN_MODULE,
    absWorkingDir: fileURLToPath(new URL("..", import.meta.url)),
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2024",
    conditions: ["workerd", "worker", "browser", "import"],
    mainFields: ["module", "main"],
    // Provided by the Workers runtime (nodejs_compat supplies node:*).
    external: ["cloudflare:*", "node:*"],
    // Names need not survive: the containers library keys outbound handlers by each class's own
    // (minified, unique) name, the same at registration and lookup, and errors set their names.
    minify: true,
    sourcemap: "external",
    legalComments: "none",
    metafile: true,
    logLevel: "silent",
  });
  const code = result.outputFiles.find((file) => file.path.endsWith(".js"));
  const map = result.outputFiles.find((file) => file.path.endsWith(".js.map"));
  if (!code || !map) throw new Error("esbuild produced no Worker bundle");
  const runtimeImports = [
    ...new Set(
      Object.values(result.metafile.outputs).flatMap((output) =>
        output.imports.filter((entryImport) => entryImport.external).map((entryImport) => entryImport.path),
      ),
    ),
  ].sort();
  return { mainModule: WORKER_MAIN_MODULE, code: code.text, sourceMap: map.text, runtimeImports };
}

/** Where `npm run build` and the Pulumi program write the bundle. */
export const WORKER_DIST_DIR = fileURLToPath(new URL("../dist/worker/", import.meta.url));

/** A bundle file on disk. */
export interface WrittenFile {
  /** Module name in an upload. */
  name: string;
  path: string;
  contentType: "application/javascript+module" | "application/source-map";
  sha256: string;
  bytes: number;
}

/** Bundles the Worker and writes the module and its source map to `outDir`. */
export async function writeWorkerBundle(outDir: string = WORKER_DIST_DIR): Promise<{ bundle: WorkerBundle; files: WrittenFile[] }> {
  const bundle = await bundleWorker();
  await mkdir(outDir, { recursive: true });
  const files: WrittenFile[] = [];
  for (const [name, contentType, content] of [
    [bundle.mainModule, "application/javascript+module", bundle.code],
    [`${bundle.mainModule}.map`, "application/source-map", bundle.sourceMap],
  ] as const) {
    const path = join(outDir, name);
    await writeFile(path, content);
    files.push({
      name,
      path,
      contentType,
      sha256: createHash("sha256").update(content).digest("hex"),
      bytes: Buffer.byteLength(content),
    });
  }
  return { bundle, files };
}
