/**
 * `npm run build`: writes the deployable Worker bundle (the same one the Pulumi
 * program uploads) to dist/worker/ and the web console's static assets to
 * dist/assets/ (console/build.ts, which the program calls too), and prints
 * each file's size, raw and gzip, and the Worker's runtime imports.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { buildConsole } from "../console/build.js";
import { writeWorkerBundle } from "../worker/bundle.js";

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const line = (path: string, bytes: Uint8Array) =>
  `${relative(process.cwd(), path)}: ${kib(bytes.byteLength)} raw, ${kib(gzipSync(bytes, { level: 9 }).byteLength)} gzip`;

const [{ bundle, files }, assets] = await Promise.all([writeWorkerBundle(), buildConsole()]);
for (const file of files) console.log(line(file.path, await readFile(file.path)));
console.log(`runtime imports: ${bundle.runtimeImports.join(", ") || "none"}`);
for (const entry of await readdir(assets, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const path = join(entry.parentPath, entry.name);
  console.log(line(path, await readFile(path)));
}
