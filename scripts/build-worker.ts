/**
 * `npm run build`: writes the deployable Worker bundle to dist/worker/ and prints
 * its size (raw and gzip) and the runtime modules it imports.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { bundleWorker } from "../worker/bundle.js";

const bundle = await bundleWorker();
await mkdir("dist/worker", { recursive: true });
await writeFile(`dist/worker/${bundle.mainModule}`, bundle.code);
await writeFile(`dist/worker/${bundle.mainModule}.map`, bundle.sourceMap);

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const raw = Buffer.byteLength(bundle.code);
const gzip = gzipSync(bundle.code, { level: 9 }).byteLength;
console.log(`dist/worker/${bundle.mainModule}: ${kib(raw)} raw, ${kib(gzip)} gzip`);
console.log(`dist/worker/${bundle.mainModule}.map: ${kib(Buffer.byteLength(bundle.sourceMap))}`);
console.log(`runtime imports: ${bundle.runtimeImports.join(", ") || "none"}`);
