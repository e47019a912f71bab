/**
 * The web console's static assets go up with the Worker as wrangler sends
 * them: the manifest of hashes, an upload session, only the missing files in
 * buckets authorized by the session's JWT, and the completion token in the
 * Worker upload's metadata with the routing settings. Checked against a fake
 * of the Workers API on the Cloudflare API stand-in, and against what the
 * pinned wrangler itself sends for the same directory.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, symlink, truncate, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { consoleAssets } from "../../infra/components/sandbox-worker.js";
import {
  assetContentType,
  AssetsError,
  buildAssetManifest,
  MAX_ASSET_BYTES,
  readAssetsConfigFiles,
} from "../../infra/providers/worker-assets.js";
import { type WorkerScriptInputs, WorkerScriptProvider } from "../../infra/providers/worker-script.js";
import { CONSOLE_ASSETS } from "../../worker/src/contract.js";
import { apiError, CloudflareApiStandIn, echoingApiError, type RecordedRequest } from "./fixtures/cloudflare-api-stand-in.js";
import { FakeWorkersApi, multipartParts, uploadMetadata } from "./fixtures/fake-workers-api.js";
import { workerUploadWorld } from "./fixtures/worker-upload-world.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ACCOUNT = "0123456789abcdef0123456789abcdef";
const TOKEN = "cf-assets-test-token-never-shown-5521";
const SCRIPT = "claude-sandbox-dev";
const CODE = "export default { fetch() { return new Response('ok') } };";
const SESSION = `/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}/assets-upload-session`;
const UPLOAD = `/accounts/${ACCOUNT}/workers/assets/upload`;

/** The console as a build leaves it: pages, script, style, a font, a file without extension, and the headers file. */
const CONSOLE_FILES: Record<string, string | Buffer> = {
  "console/index.html": '<!doctype html><html lang="en"><title>claude-sandbox</title><script type="module" src="app.js"></script></html>\n',
  "console/app.js": "import('./chunk-1.js');console.log('console');\n",
  "console/chunk-1.js": "export const x = 1;\n",
  "console/app.css": "body{font-family:system-ui}\n",
  "console/favicon.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
  "console/fonts/mono.woff2": Buffer.from([0x77, 0x4f, 0x46, 0x32, 0x00, 0xff, 0x10, 0x80, 0x7f]),
  "console/LICENSE": "MIT\n",
  "console/_headers": "/* this nested file is an asset: only the root one is the headers file */\n",
  _headers: "/console/*\n  Content-Security-Policy: default-src 'self'\n  X-Frame-Options: DENY\n",
  _redirects: "/ /console/ 302\n",
};

const api = new CloudflareApiStandIn();
let fake: FakeWorkersApi;
let provider: WorkerScriptProvider;
let scratch: string;
let count = 0;

/** A new directory holding `files`. */
async function directoryWith(files: Record<string, string | Buffer>): Promise<string> {
  const directory = join(scratch, `assets-${++count}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(directory, path)), { recursive: true });
    await writeFile(join(directory, path), content);
  }
  return directory;
}

/** Worker upload inputs with the assets of `directory`, as the program plans them. */
async function inputsWith(directory: string, overrides: Partial<WorkerScriptInputs> = {}): Promise<WorkerScriptInputs> {
  const code = join(scratch, "index.js");
  await writeFile(code, CODE);
  return {
    accountId: ACCOUNT,
    scriptName: SCRIPT,
    mainModule: "index.js",
    modules: [{ name: "index.js", path: code, contentType: "application/javascript+module", sha256: createHash("sha256").update(CODE).digest("hex") }],
    compatibilityDate: "2026-11-03",
    compatibilityFlags: ["nodejs_compat"],
    bindings: [],
    secrets: { SERVER_AUTH_TOKEN: "server-token-secret" },
    managedSecretNames: ["SERVER_AUTH_TOKEN"],
    containerClasses: ["Sandbox"],
    migrations: [{ tag: "v1", newSqliteClasses: ["Sandbox"] }],
    observability: true,
    assets: await consoleAssets(directory),
    adoptExisting: false,
    ...overrides,
  };
}

/** The bucket uploads' parts, in the order sent. */
async function uploadedParts(requests: RecordedRequest[]) {
  return (await Promise.all(requests.map(multipartParts))).flat();
}

/** What a promise rejects with. */
function failureOf(promise: Promise<unknown>): Promise<Error | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
}

workerUploadWorld(api, TOKEN, (world) => {
  ({ fake, provider, dir: scratch } = world);
});

describe("the manifest", () => {
  it("lists every file by URL path with its size and wrangler's hash; the root headers and redirects files configure instead", async () => {
    const directory = await directoryWith(CONSOLE_FILES);
    const manifest = await buildAssetManifest(directory);

    expect(Object.keys(manifest).sort()).toEqual(
      [
        "/console/LICENSE",
        "/console/_headers",
        "/console/app.css",
        "/console/app.js",
        "/console/chunk-1.js",
        "/console/favicon.svg",
        "/console/fonts/mono.woff2",
        "/console/index.html",
      ].sort(),
    );
    expect(manifest["/console/fonts/mono.woff2"]).toEqual({ hash: expect.stringMatching(/^[0-9a-f]{32}$/), size: 9 });
    expect(await readAssetsConfigFiles(directory)).toEqual({ _headers: CONSOLE_FILES._headers, _redirects: CONSOLE_FILES._redirects });
  });

  it("hashes the content with the extension: the same bytes under two extensions differ, under two names with one extension do not", async () => {
    const manifest = await buildAssetManifest(await directoryWith({ "a.js": "x", "b.js": "x", "c.css": "x" }));
    expect(manifest["/a.js"]!.hash).toBe(manifest["/b.js"]!.hash);
    expect(manifest["/a.js"]!.hash).not.toBe(manifest["/c.css"]!.hash);
  });

  it("follows a link to a file, as wrangler does", async () => {
    const directory = await directoryWith({ "console/index.html": "<p>page</p>" });
    await symlink(join(directory, "console/index.html"), join(directory, "console/alias.html"));
    const manifest = await buildAssetManifest(directory);
    expect(manifest["/console/alias.html"]).toEqual(manifest["/console/index.html"]);
  });

  it.each([
    ["an ignore file, which this program does not read", { ".assetsignore": "*.map\n", "a.js": "x" }, ".assetsignore: ignore files are not supported"],
    ["server code that would become public", { "_worker.js": "export default {}", "a.js": "x" }, "_worker.js would publish server code"],
    ["no file at all", { _headers: "/*\n  X: y\n" }, "holds no file to publish"],
  ])("refuses a directory with %s", async (_, files, message) => {
    const failure = await failureOf(buildAssetManifest(await directoryWith(files)));
    expect(failure).toBeInstanceOf(AssetsError);
    expect(failure?.message).toContain(message);
  });

  it("refuses a file larger than Workers serve, and a directory that is not there", async () => {
    const directory = await directoryWith({ "big.bin": "" });
    await truncate(join(directory, "big.bin"), MAX_ASSET_BYTES + 1);
    expect((await failureOf(buildAssetManifest(directory)))?.message).toContain(`is ${MAX_ASSET_BYTES + 1} bytes`);
    expect((await failureOf(buildAssetManifest(join(scratch, "missing"))))?.message).toContain("cannot be read");
  });

  it.each([
    ["index.html", "text/html; charset=utf-8"],
    ["app.js", "text/javascript; charset=utf-8"],
    ["app.css", "text/css; charset=utf-8"],
    ["favicon.svg", "image/svg+xml"],
    ["mono.woff2", "font/woff2"],
    ["LICENSE", "application/null"],
  ])("gives %s the content type %s", (path, type) => {
    expect(assetContentType(path)).toBe(type);
  });
});

describe("the upload", () => {
  it("starts a session with the manifest, uploads the missing files in the buckets asked for with the session's token, and redeems the completion token", async () => {
    const planned = await inputsWith(await directoryWith(CONSOLE_FILES));

    await provider.create(planned);

    const [session] = api.requestsTo("POST", SESSION);
    expect(session?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(session?.body).toEqual({ manifest: planned.assets!.manifest });
    const uploads = api.requestsTo("POST", UPLOAD);
    // Eight files, two a bucket in this fake: four uploads, each with the session's token, not the API token.
    expect(uploads).toHaveLength(4);
    const [{ session: sessionJwt, completion }] = fake.issued as [{ session: string; completion: string }];
    for (const upload of uploads) {
      expect(upload.query.get("base64")).toBe("true");
      expect(upload.headers.authorization).toBe(`Bearer ${sessionJwt}`);
    }
    // Each file is stored as it was, with its content type, under its hash.
    for (const [path, entry] of Object.entries(planned.assets!.manifest)) {
      const stored = fake.assets.get(entry.hash);
      const original = CONSOLE_FILES[path.slice(1)]!;
      expect(Buffer.from(stored!.base64, "base64").equals(Buffer.from(original)), path).toBe(true);
      expect(stored!.contentType).toBe(assetContentType(path));
    }
    const metadata = await uploadMetadata(api.requestsTo("PUT", `/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}`)[0]!);
    expect(metadata.assets).toEqual({
      jwt: completion,
      config: { run_worker_first: ["/*", "!/console/*"], _headers: CONSOLE_FILES._headers, _redirects: CONSOLE_FILES._redirects },
    });
    expect(fake.workers.get(SCRIPT)?.assetsConfig).toEqual((metadata.assets as { config: unknown }).config);
  });

  it("routes the Worker first everywhere but the console, as the contract says", async () => {
    const planned = await inputsWith(await directoryWith({ "console/index.html": "<p>x</p>" }));
    expect(planned.assets!.config.run_worker_first).toEqual([...CONSOLE_ASSETS.runWorkerFirst]);
  });

  it("uploads no file again when only the Worker's code changed, and redeems the session's own token", async () => {
    const directory = await directoryWith(CONSOLE_FILES);
    const created = (await provider.create(await inputsWith(directory))).outs!;
    api.requests.length = 0;
    const code = join(scratch, "index.js");
    const newCode = `${CODE}// v2`;
    await writeFile(code, newCode);
    const changedCode = await inputsWith(directory);
    changedCode.modules = [{ ...changedCode.modules[0]!, sha256: createHash("sha256").update(newCode).digest("hex") }];
    await writeFile(code, newCode);

    await provider.update(SCRIPT, created, changedCode);

    expect(api.requestsTo("POST", SESSION)).toHaveLength(1);
    expect(api.requestsTo("POST", UPLOAD)).toEqual([]);
    const metadata = await uploadMetadata(api.requestsTo("PUT", `/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}`)[0]!);
    expect((metadata.assets as { jwt: string }).jwt).toBe(fake.issued[1]?.session);
  });

  it("uploads only the file that changed", async () => {
    const first = await inputsWith(await directoryWith(CONSOLE_FILES));
    const created = (await provider.create(first)).outs!;
    api.requests.length = 0;
    const second = await inputsWith(await directoryWith({ ...CONSOLE_FILES, "console/app.js": "console.log('v2');\n" }));

    await provider.update(SCRIPT, created, second);

    const parts = await uploadedParts(api.requestsTo("POST", UPLOAD));
    expect(parts.map((part) => part.name)).toEqual([second.assets!.manifest["/console/app.js"]!.hash]);
    expect(Buffer.from(parts[0]!.text, "base64").toString()).toBe("console.log('v2');\n");
  });

  it("stops before any request when a file changed after the program planned it", async () => {
    const directory = await directoryWith(CONSOLE_FILES);
    const planned = await inputsWith(directory);
    await writeFile(join(directory, "console/app.css"), "body{color:red}\n");

    const failure = await failureOf(provider.create(planned));

    expect(failure?.message).toBe(`The assets in ${directory} changed since the program ran; run the update again.`);
    expect(api.requests.filter((request) => request.method !== "GET")).toEqual([]);
  });

  it("refuses a bucket that asks for a file the manifest does not have", async () => {
    api.on("POST", "/accounts/:account/workers/scripts/:script/assets-upload-session", () => ({
      result: { jwt: "a.b.c", buckets: [["0".repeat(32)]] },
    }));
    const failure = await failureOf(provider.create(await inputsWith(await directoryWith(CONSOLE_FILES))));
    expect(failure?.message).toContain(`asked for a file this upload does not have (${"0".repeat(32)})`);
    expect(api.requestsTo("PUT", `/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}`)).toEqual([]);
  });

  it("keeps the API token and the session's token out of a failed upload's error", async () => {
    api.on("POST", "/accounts/:account/workers/assets/upload", echoingApiError(400, 10013, "storage unavailable"));
    const failure = await failureOf(provider.create(await inputsWith(await directoryWith({ "console/index.html": "<p>x</p>" }))));
    expect(failure?.message).toContain(`Cloudflare API: could not upload 1 asset(s) of Worker ${SCRIPT}: HTTP 400: 10013: storage unavailable`);
    expect(failure?.message).toContain("authorization=Bearer [redacted]");
    expect(failure?.message).not.toContain(TOKEN);
    expect(failure?.message).not.toMatch(/Bearer [\w-]+\.[\w-]+\.[\w-]+/);
  });

  it("says what failed when the session cannot start", async () => {
    api.on("POST", "/accounts/:account/workers/scripts/:script/assets-upload-session", () => apiError(403, 10000, "Authentication error"));
    const failure = await failureOf(provider.create(await inputsWith(await directoryWith({ "console/index.html": "<p>x</p>" }))));
    expect(failure?.message).toBe(`Cloudflare API: could not start the asset upload of Worker ${SCRIPT}: HTTP 403: 10000: Authentication error`);
  });
});

describe("the diff", () => {
  it("shows no change for the same files in another folder, and a change for another file or other headers", async () => {
    const created = (await provider.create(await inputsWith(await directoryWith(CONSOLE_FILES)))).outs!;
    const elsewhere = await inputsWith(await directoryWith(CONSOLE_FILES));
    expect(elsewhere.assets!.directory).not.toBe(created.assets!.directory);
    expect(await provider.diff(SCRIPT, created, elsewhere)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });

    const edited = await inputsWith(await directoryWith({ ...CONSOLE_FILES, "console/index.html": "<p>new</p>" }));
    expect((await provider.diff(SCRIPT, created, edited)).changes).toBe(true);
    const headers = await inputsWith(await directoryWith({ ...CONSOLE_FILES, _headers: "/console/*\n  X-Frame-Options: SAMEORIGIN\n" }));
    expect((await provider.diff(SCRIPT, created, headers)).changes).toBe(true);
  });
});

describe("compared with wrangler", () => {
  const run = promisify(execFile);

  /** Runs the pinned wrangler's `deploy` of `directory` as the Worker's assets against the stand-in; returns its requests. */
  async function wranglerDeploy(directory: string): Promise<RecordedRequest[]> {
    const project = join(scratch, `wrangler-${++count}`);
    const home = join(project, "home");
    await mkdir(join(home, "tmp", "update-check"), { recursive: true });
    // wrangler's update check reads this cache first: a fresh entry keeps it off the network.
    await writeFile(join(home, "tmp", "update-check", "wrangler-latest.json"), JSON.stringify({ lastUpdate: Date.now(), latest: null }));
    await writeFile(join(project, "index.js"), CODE);
    await writeFile(
      join(project, "wrangler.jsonc"),
      JSON.stringify({
        name: SCRIPT,
        main: "index.js",
        compatibility_date: "2026-11-03",
        assets: { directory, run_worker_first: [...CONSOLE_ASSETS.runWorkerFirst] },
      }),
    );
    // What a first deploy reads before uploading: no such Worker yet, no settings to keep.
    api
      .on("GET", "/accounts/:account/workers/services/:script", () => apiError(404, 10090, "This Worker does not exist"))
      .on("GET", "/accounts/:account/workers/scripts/:script/settings", () => ({ result: { bindings: [] } }));
    await run(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy"], {
      cwd: project,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: home,
        TMPDIR: join(home, "tmp"),
        XDG_CONFIG_HOME: join(home, "config"),
        CLOUDFLARE_API_TOKEN: TOKEN,
        CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
        CLOUDFLARE_API_BASE_URL: api.url,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_SEND_ERROR_REPORTS: "false",
        CI: "true",
      },
      timeout: 120_000,
      // After the upload, wrangler goes on to routes and triggers this fake does not answer: only what it sent matters.
    }).catch(() => undefined);
    return [...api.requests];
  }

  /** What an upload sent about its assets. */
  async function assetsSent(requests: RecordedRequest[]) {
    const pick = (method: string, pathname: string) => requests.filter((request) => request.method === method && request.pathname === pathname);
    const [session] = pick("POST", SESSION);
    const uploads = pick("POST", UPLOAD);
    const [put] = pick("PUT", `/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}`);
    if (!session || !put) throw new Error(`the upload did not reach the session and the Worker upload: ${requests.map((r) => `${r.method} ${r.path}`).join(", ")}`);
    const parts = (await uploadedParts(uploads)).sort((a, b) => a.name.localeCompare(b.name));
    const metadata = (await uploadMetadata(put)).assets as { jwt: string; config: unknown };
    return {
      manifest: (session.body as { manifest: unknown }).manifest,
      uploads: uploads.map((upload) => ({ query: upload.query.toString(), authorization: upload.headers.authorization?.split(" ")[0] })),
      parts,
      config: metadata.config,
      redeems: metadata.jwt,
    };
  }

  it("sends the same manifest, the same files with the same types, and the same settings as wrangler 4.164 for the same directory", async () => {
    const directory = await directoryWith(CONSOLE_FILES);

    const wrangler = await assetsSent(await wranglerDeploy(directory));
    const wranglerStored = new Map(fake.assets);
    const wranglerCompletion = fake.issued[0]?.completion;

    api.reset();
    fake = new FakeWorkersApi(api);
    fake.install();
    await provider.create(await inputsWith(directory));
    const ours = await assetsSent([...api.requests]);

    expect(ours.manifest).toEqual(wrangler.manifest);
    expect(ours.parts).toEqual(wrangler.parts);
    expect(ours.uploads).toEqual(wrangler.uploads);
    expect(ours.config).toEqual(wrangler.config);
    expect(new Map(fake.assets)).toEqual(wranglerStored);
    // Both redeem the completion token the fake issued for their own session.
    expect(wrangler.redeems).toBe(wranglerCompletion);
    expect(ours.redeems).toBe(fake.issued[0]?.completion);
  }, 120_000);
});
