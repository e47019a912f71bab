/**
 * Builds the web console into the Worker's static assets: `dist/assets`
 * (`CONSOLE_ASSETS.directory`), whose tree mirrors the URL paths. The console
 * is `dist/assets/console/`: `app.js`, `app.css`, the chunks `app.js` loads
 * when a view needs them, and the files of `console/public/` (`index.html`,
 * `favicon.svg`); the `_headers` file at the root gives its responses their
 * security headers. `npm run build`, `npm run dev`, `npm run dev:stub`, the
 * tests and the Pulumi program call {@link buildConsole}. The output is
 * deterministic (the same sources give the same bytes), files whose bytes did
 * not change are not rewritten, and each file is replaced whole, so builds
 * running side by side and a server reading the directory never see half a
 * file.
 */
import { build, type Metafile } from "esbuild";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { CONSOLE_ASSETS } from "../worker/src/contract.js";
import { headersFile } from "./security-headers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Where the assets are written: the absolute path of `CONSOLE_ASSETS.directory`. */
const ASSETS_DIR = resolve(ROOT, CONSOLE_ASSETS.directory);

/** The console's files as served, relative to the assets directory. */
const CONSOLE_DIR = CONSOLE_ASSETS.consolePath.replace(/^\/|\/$/g, "");

/** Files being written carry this suffix until they are renamed into place. */
const PARTIAL_SUFFIX = ".partial";

/** The console as built in memory. */
export interface ConsoleBundle {
  /** Each file's bytes, by its path under the assets directory (`/`-separated, e.g. `console/app.js`). */
  files: Map<string, Uint8Array>;
}

/** Bundles the console's script and style sheet, and adds its page, icon and the `_headers` file. */
export async function bundleConsole(): Promise<ConsoleBundle> {
  const outdir = join(ASSETS_DIR, CONSOLE_DIR);
  const result = await build({
    entryPoints: { app: join(ROOT, "console/src/main.tsx") },
    outdir,
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    format: "esm",
    // Code only some views need (the Markdown renderer) is a chunk of its own, loaded when first used.
    splitting: true,
    chunkNames: "[name]-[hash]",
    platform: "browser",
    // Browsers of the last three years: native ES modules, top-level await, `<dialog>`.
    target: ["chrome111", "edge111", "firefox114", "safari16.4"],
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    // The libraries' licence notices stay with their code.
    legalComments: "eof",
    charset: "utf8",
    metafile: true,
    logLevel: "silent",
  });
  const files = new Map<string, Uint8Array>();
  for (const output of result.outputFiles) files.set(relative(ASSETS_DIR, output.path).split(sep).join("/"), output.contents);
  if (!files.has(`${CONSOLE_DIR}/app.js`) || !files.has(`${CONSOLE_DIR}/app.css`)) throw new Error("esbuild produced no console script or style sheet");
  const publicDir = join(ROOT, "console/public");
  for (const name of (await readdir(publicDir)).sort()) files.set(`${CONSOLE_DIR}/${name}`, await readFile(join(publicDir, name)));
  files.set(`${CONSOLE_DIR}/index.html`, withPreloads(files.get(`${CONSOLE_DIR}/index.html`)!, result.metafile, outdir));
  files.set("_headers", new TextEncoder().encode(headersFile()));
  return { files };
}

/** The script tag of the page, before which the script's own imports are announced. */
const SCRIPT_TAG = '<script type="module" src="app.js"></script>';

/**
 * The page with a `modulepreload` link for each chunk `app.js` imports, so
 * the browser fetches them alongside it instead of after it.
 */
function withPreloads(page: Uint8Array, metafile: Metafile, outdir: string): Uint8Array {
  const html = new TextDecoder().decode(page);
  if (!html.includes(SCRIPT_TAG)) throw new Error(`console/public/index.html must load the console with ${SCRIPT_TAG}`);
  const app = Object.entries(metafile.outputs).find(([, output]) => output.entryPoint !== undefined && resolve(ROOT, output.entryPoint) === join(ROOT, "console/src/main.tsx"));
  const chunks = (app?.[1].imports ?? [])
    .filter((entry) => entry.kind === "import-statement")
    .map((entry) => relative(outdir, resolve(ROOT, entry.path)).split(sep).join("/"))
    .sort();
  const links = chunks.map((chunk) => `<link rel="modulepreload" href="${chunk}" />\n    `).join("");
  return new TextEncoder().encode(html.replace(SCRIPT_TAG, `${links}${SCRIPT_TAG}`));
}

/** Every file under `directory`, as paths relative to it. */
async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(directory, join(entry.parentPath, entry.name)).split(sep).join("/"));
}

/** Writes `bytes` to `path` unless it already holds them; the new file replaces the old one whole. */
async function writeIfChanged(path: string, bytes: Uint8Array): Promise<void> {
  const current = await readFile(path).catch(() => null);
  if (current !== null && Buffer.compare(current, bytes) === 0) return;
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${randomBytes(6).toString("hex")}${PARTIAL_SUFFIX}`;
  await writeFile(partial, bytes);
  await rename(partial, path);
}

/**
 * Builds the console into `dist/assets` (or into `directory`) and returns that
 * directory's absolute path. Files the build no longer makes are removed.
 * A local Worker that serves `dist/assets` (dev, dev:stub, the tests' shared
 * stub) reloads on any change there, and a reload loses its running tasks:
 * so an unchanged file is never rewritten.
 */
export async function buildConsole(directory: string = ASSETS_DIR): Promise<string> {
  const { files } = await bundleConsole();
  for (const [path, bytes] of files) await writeIfChanged(join(directory, path), bytes);
  for (const path of await listFiles(directory)) {
    if (!files.has(path) && !path.endsWith(PARTIAL_SUFFIX)) await rm(join(directory, path), { force: true });
  }
  return directory;
}
