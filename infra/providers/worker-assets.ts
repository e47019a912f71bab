/**
 * A Worker's static assets (the web console), uploaded the way wrangler 4.164
 * uploads them (`deploy-helpers/src/deploy/helpers/assets.ts` in workers-sdk):
 *
 * 1. a manifest of every file, `/<path>: {hash, size}`, where the hash is the
 *    first 32 hex digits of BLAKE3 over the file's base64 text and its
 *    extension; `_headers`, `_redirects` and `.assetsignore` are not assets;
 * 2. `POST /accounts/{id}/workers/scripts/{name}/assets-upload-session` with the
 *    manifest: Cloudflare answers a session JWT and buckets of the hashes it
 *    does not have yet (none when nothing changed);
 * 3. each bucket as one multipart `POST /accounts/{id}/workers/assets/upload?base64=true`,
 *    authorized by the session JWT, one part per file named by its hash, holding
 *    its base64 text with the file's content type; the last answer carries the
 *    completion token;
 * 4. the Worker upload's metadata then holds `assets: {jwt, config}`, with the
 *    completion token (or the session JWT when nothing was uploaded) and the
 *    routing settings, `_headers` and `_redirects` included.
 *
 * The manifest is computed when the program runs and checked again at upload
 * time, as the Worker's modules are, so state holds hashes and the same files
 * from another checkout are no change. Everything here loads its modules at
 * call time: the provider that calls it is serialized into the Pulumi state.
 */
import { apiFailure, type CloudflareConnection, loadPackage } from "./cloudflare-api.js";

/** One file of the manifest. */
export interface AssetManifestEntry {
  /** 32 hex digits of BLAKE3, as wrangler computes them. */
  hash: string;
  size: number;
}

/** Every asset by its URL path (`/console/index.html`). */
export type AssetManifest = Record<string, AssetManifestEntry>;

/** The assets' settings sent with the Worker upload (`metadata.assets.config`). */
export interface AssetsConfig {
  /** Paths (or all, with `true`) where the Worker runs before any asset is looked up. */
  run_worker_first: string[] | boolean;
  html_handling?: "auto-trailing-slash" | "force-trailing-slash" | "drop-trailing-slash" | "none";
  not_found_handling?: "single-page-application" | "404-page" | "none";
  /** The directory's `_headers` file, as text. */
  _headers?: string;
  /** The directory's `_redirects` file, as text. */
  _redirects?: string;
}

/** The assets input of a Worker upload. */
export interface WorkerAssets {
  /** The assets directory: relative to the project root, or absolute. Where it lives is not part of the diff. */
  directory: string;
  manifest: AssetManifest;
  config: AssetsConfig;
}

/** The largest asset Workers serve: 25 MiB. */
export const MAX_ASSET_BYTES = 25 * 1024 * 1024;

/** Files of the directory's root that configure the assets instead of being assets. */
const CONFIG_FILES = { headers: "_headers", redirects: "_redirects", ignore: ".assetsignore" } as const;

/** The Pages-style server code file wrangler refuses to publish as an asset. */
const PAGES_WORKER_FILE = "_worker.js";

/** Uploads of one bucket may run three at once, as wrangler's bulk uploads do. */
const UPLOAD_CONCURRENCY = 3;

/** Attempts per bucket, as wrangler makes (the client's own retries, with its back-off). */
const UPLOAD_ATTEMPTS = 5;

/** The asset hash: BLAKE3 of the base64 text and the extension (without its dot), 32 hex digits. */
export function assetHash(content: Buffer, filePath: string): string {
  const { extname } = process.getBuiltinModule("node:path");
  const { blake3 } = loadPackage<typeof import("@noble/hashes/blake3.js")>("@noble/hashes/blake3.js");
  const digest = blake3(Buffer.from(content.toString("base64") + extname(filePath).slice(1)));
  return Buffer.from(digest).toString("hex").slice(0, 32);
}

/**
 * The content type an asset is uploaded (and served) with: wrangler's mime
 * lookup, `; charset=utf-8` added to text types, `application/null` (no
 * Content-Type when served) when the extension is unknown.
 */
export function assetContentType(filePath: string): string {
  const mime = loadPackage<typeof import("mime")>("mime").default;
  const type = mime.getType(filePath);
  if (type === null) return "application/null";
  return type.startsWith("text/") && !type.includes("charset") ? `${type}; charset=utf-8` : type;
}

/** An assets directory wrangler would refuse, or one it would read differently from this program. */
export class AssetsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssetsError";
  }
}

/**
 * The manifest of `directory` (absolute), as wrangler builds it: every file
 * below it, symbolic links followed, keyed by `/` and its relative path.
 */
export async function buildAssetManifest(directory: string): Promise<AssetManifest> {
  const { readdir, readFile, stat } = process.getBuiltinModule("node:fs/promises");
  const { join, sep } = process.getBuiltinModule("node:path");
  let entries: string[];
  try {
    entries = (await readdir(directory, { recursive: true })).sort();
  } catch (error) {
    throw new AssetsError(`The assets directory ${directory} cannot be read: ${(error as Error).message}`);
  }
  if (entries.includes(CONFIG_FILES.ignore)) {
    throw new AssetsError(`${join(directory, CONFIG_FILES.ignore)}: ignore files are not supported; build the directory with only the files to publish.`);
  }
  const manifest: AssetManifest = {};
  for (const entry of entries) {
    if (entry === CONFIG_FILES.headers || entry === CONFIG_FILES.redirects) continue;
    const path = join(directory, entry);
    const info = await stat(path);
    if (info.isDirectory()) continue;
    if (entry === PAGES_WORKER_FILE || entry.startsWith(`${PAGES_WORKER_FILE}${sep}`)) {
      throw new AssetsError(`${path} would publish server code as a public asset; remove it from the assets directory.`);
    }
    if (info.size > MAX_ASSET_BYTES) {
      throw new AssetsError(`${path} is ${info.size} bytes; Workers serve assets of at most ${MAX_ASSET_BYTES} bytes (25 MiB).`);
    }
    manifest[`/${entry.split(sep).join("/")}`] = { hash: assetHash(await readFile(path), path), size: info.size };
  }
  if (Object.keys(manifest).length === 0) throw new AssetsError(`The assets directory ${directory} holds no file to publish.`);
  return manifest;
}

/** The `_headers` and `_redirects` files of `directory` (absolute), as the config sends them. */
export async function readAssetsConfigFiles(directory: string): Promise<Pick<AssetsConfig, "_headers" | "_redirects">> {
  const { readFile } = process.getBuiltinModule("node:fs/promises");
  const { join } = process.getBuiltinModule("node:path");
  const read = (name: string) =>
    readFile(join(directory, name), "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
  const [headers, redirects] = await Promise.all([read(CONFIG_FILES.headers), read(CONFIG_FILES.redirects)]);
  return { ...(headers === undefined ? {} : { _headers: headers }), ...(redirects === undefined ? {} : { _redirects: redirects }) };
}

/** The part of an upload session's answer read here. */
interface UploadSession {
  jwt?: string;
  buckets?: string[][];
}

/**
 * Uploads the assets Cloudflare does not have yet and returns the token the
 * Worker upload redeems (`metadata.assets.jwt`). Files that changed since the
 * program planned them stop the upload before anything is sent.
 */
export async function uploadAssets(
  connection: CloudflareConnection,
  target: { accountId: string; scriptName: string },
  assets: WorkerAssets,
): Promise<string> {
  const { readFile } = process.getBuiltinModule("node:fs/promises");
  const { join, resolve } = process.getBuiltinModule("node:path");
  const { isDeepStrictEqual } = process.getBuiltinModule("node:util");
  const directory = resolve(process.cwd(), assets.directory);
  if (!isDeepStrictEqual(await buildAssetManifest(directory), assets.manifest)) {
    throw new AssetsError(`The assets in ${directory} changed since the program ran; run the update again.`);
  }
  const { client, apiToken } = connection;
  let session: UploadSession;
  try {
    session = await client.workers.scripts.assets.upload.create(target.scriptName, {
      account_id: target.accountId,
      manifest: assets.manifest,
    });
  } catch (error) {
    throw apiFailure(`start the asset upload of Worker ${target.scriptName}`, error, [apiToken]);
  }
  const sessionJwt = session.jwt;
  if (!sessionJwt) throw new AssetsError(`Cloudflare API: the asset upload of Worker ${target.scriptName} started without a token; run the update again.`);
  const pathsByHash = new Map(Object.entries(assets.manifest).map(([path, entry]) => [entry.hash, path]));
  const buckets = (session.buckets ?? []).filter((bucket) => bucket.length > 0);
  if (buckets.length === 0) return sessionJwt;

  const uploadBucket = async (bucket: string[]): Promise<string | undefined> => {
    const form = new FormData();
    for (const hash of bucket) {
      const path = pathsByHash.get(hash);
      if (path === undefined) {
        throw new AssetsError(`Cloudflare API: the asset upload of Worker ${target.scriptName} asked for a file this upload does not have (${hash}).`);
      }
      const content = (await readFile(join(directory, path))).toString("base64");
      form.append(hash, new File([content], hash, { type: assetContentType(path) }), hash);
    }
    try {
      const response = (await client.post(`/accounts/${target.accountId}/workers/assets/upload`, {
        query: { base64: true },
        body: form,
        headers: { Authorization: `Bearer ${sessionJwt}` },
        maxRetries: UPLOAD_ATTEMPTS - 1,
      })) as { result?: { jwt?: string } };
      return response.result?.jwt || undefined;
    } catch (error) {
      throw apiFailure(`upload ${bucket.length} asset(s) of Worker ${target.scriptName}`, error, [apiToken, sessionJwt]);
    }
  };

  let completion: string | undefined;
  const queue = [...buckets];
  await Promise.all(
    Array.from({ length: Math.min(UPLOAD_CONCURRENCY, queue.length) }, async () => {
      for (let bucket = queue.shift(); bucket !== undefined; bucket = queue.shift()) {
        completion = (await uploadBucket(bucket)) ?? completion;
      }
    }),
  );
  if (!completion) throw new AssetsError(`Cloudflare API: the asset upload of Worker ${target.scriptName} did not complete; run the update again.`);
  return completion;
}
