/**
 * `npm run build`: writes the deployable Worker bundle (the same one the Pulumi
 * program uploads) to dist/worker/ and prints its size, raw and gzip, and the
 * runtime modules it imports.
 */
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { gzipSync } from "node:zlib";
import { writeWorkerBundle } from "../worker/bundle.js";

const { bundle, files } = await writeWorkerBundle();
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
for (const file of files) {
  const gzip = gzipSync(await readFile(file.path), { level: 9 }).byteLength;
  console.log(`${relative(process.cwd(), file.path)}: ${kib(file.bytes)} raw, ${kib(gzip)} gzip`);
}
console.log(`runtime imports: ${bundle.runtimeImports.join(", ") || "none"}`);
