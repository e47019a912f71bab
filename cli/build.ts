/**
 * Builds the `claude-sandbox` CLI that package.json's `bin` runs: cli/main.ts
 * bundled by esbuild into dist/cli/ (ESM, one chunk per command, loaded when
 * the command runs), so that the CLI starts without compiling TypeScript.
 * `npm ci` runs it (the `prepare` script); the tests run it before the CLI's
 * process tests, so they always exercise the current sources.
 */
import { build } from "esbuild";
import { readdir, rm } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

/** The directory of the built CLI. */
const CLI_DIST = fileURLToPath(new URL("../dist/cli/", import.meta.url));

export async function buildCli(): Promise<void> {
  const result = await build({
    entryPoints: { main: fileURLToPath(new URL("./main.ts", import.meta.url)) },
    outdir: CLI_DIST,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // ES modules first: jsonc-parser's CommonJS build is UMD, whose requires a bundle cannot follow.
    mainFields: ["module", "main"],
    // esbuild runs a native binary; tsx registers a loader. Both are used from node_modules as installed.
    external: ["esbuild", "tsx"],
    // Bundled CommonJS packages (commander) call require() for Node's own modules.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    metafile: true,
    logLevel: "warning",
  });
  // Files are overwritten in place, so a CLI running meanwhile never finds its directory gone; chunks of older builds are removed.
  const current = new Set(Object.keys(result.metafile.outputs).map((path) => basename(path)));
  for (const name of await readdir(CLI_DIST)) {
    if (!current.has(name)) await rm(`${CLI_DIST}${name}`, { force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCli();
