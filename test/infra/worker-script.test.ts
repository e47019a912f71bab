/**
 * The Worker upload provider against a local stand-in of the Cloudflare API,
 * driven through the real `cloudflare` client: what it sends, when it sends the
 * migration, how it decides updates and replacements, and how it fails.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  migrationToSend,
  type WorkerScriptInputs,
  type WorkerScriptOutputs,
  WorkerScriptProvider,
} from "../../infra/providers/worker-script.js";
import { apiError, CloudflareApiStandIn, type RecordedRequest } from "./fixtures/cloudflare-api-stand-in.js";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const TOKEN = "cf-api-token-must-never-leak-4711";
const SCRIPT = "claude-sandbox-dev";
const SCRIPT_PATH = `/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}`;

const api = new CloudflareApiStandIn();
let dir: string;
let provider: WorkerScriptProvider;
let scripts: { id: string; migration_tag?: string }[];

const CODE = "export default { fetch() { return new Response('ok') } }; export class Sandbox {}";

async function inputs(overrides: Partial<WorkerScriptInputs> = {}): Promise<WorkerScriptInputs> {
  const path = join(dir, "index.js");
  await writeFile(path, CODE);
  return {
    accountId: ACCOUNT,
    scriptName: SCRIPT,
    mainModule: "index.js",
    modules: [
      { name: "index.js", path, contentType: "application/javascript+module", sha256: createHash("sha256").update(CODE).digest("hex") },
    ],
    compatibilityDate: "2026-04-22",
    compatibilityFlags: ["nodejs_compat"],
    bindings: [
      { type: "durable_object_namespace", name: "Sandbox", class_name: "Sandbox" },
      { type: "r2_bucket", name: "RESULTS", bucket_name: "claude-sandbox-results-dev" },
      { type: "plain_text", name: "CREDENTIAL_MODE", text: "proxy" },
    ],
    secrets: { SERVER_AUTH_TOKEN: "server-token-secret", CLAUDE_CODE_OAUTH_TOKEN: "fake-oauth-secret" },
    containerClasses: ["Sandbox"],
    migration: { tag: "v1", newSqliteClasses: ["Sandbox"] },
    observability: true,
    ...overrides,
  };
}

/** The multipart upload's parts. */
async function uploadParts(request: RecordedRequest): Promise<{ metadata: Record<string, unknown>; files: Record<string, string> }> {
  const form = await new Request("http://upload", {
    method: "PUT",
    body: request.rawBody,
    headers: { "content-type": String(request.headers["content-type"]) },
  }).formData();
  const metadata = JSON.parse(await (form.get("metadata") as Blob).text()) as Record<string, unknown>;
  const files: Record<string, string> = {};
  for (const [name, value] of form.entries()) {
    if (name !== "metadata") files[name] = `${(value as File).type}|${await (value as Blob).text()}`;
  }
  return { metadata, files };
}

beforeAll(async () => {
  await api.start();
  dir = await mkdtemp(join(tmpdir(), "worker-script-"));
});
afterAll(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  api.reset();
  scripts = [];
  api
    .on("GET", "/accounts/:account/workers/scripts", () => ({ result: scripts }))
    .on("PUT", "/accounts/:account/workers/scripts/:script", (_request, params) => {
      scripts = [{ id: params.script!, migration_tag: "v1" }];
      return { result: { id: params.script, etag: "etag-1", deployment_id: "deployment-1", migration_tag: "v1" } };
    })
    .on("GET", "/accounts/:account/workers/subdomain", () => ({ result: { subdomain: "example-account" } }))
    .on("DELETE", "/accounts/:account/workers/scripts/:script", () => ({ result: null }));
  provider = new WorkerScriptProvider();
  await provider.configure({
    config: {
      get: (key: string) => ({ "cloudflare:apiToken": TOKEN, "cloudflare:baseUrl": api.url })[key],
      require: (key: string) => key,
    },
  } as never);
});

describe("create", () => {
  it("uploads code, bindings, secrets, containers and the migration in one PUT", async () => {
    const result = await provider.create(await inputs());
    const [put] = api.requestsTo("PUT", SCRIPT_PATH);
    expect(put).toBeDefined();
    expect(put!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const { metadata, files } = await uploadParts(put!);
    expect(metadata).toEqual({
      main_module: "index.js",
      compatibility_date: "2026-04-22",
      compatibility_flags: ["nodejs_compat"],
      bindings: [
        { type: "durable_object_namespace", name: "Sandbox", class_name: "Sandbox" },
        { type: "r2_bucket", name: "RESULTS", bucket_name: "claude-sandbox-results-dev" },
        { type: "plain_text", name: "CREDENTIAL_MODE", text: "proxy" },
        { type: "secret_text", name: "SERVER_AUTH_TOKEN", text: "server-token-secret" },
        { type: "secret_text", name: "CLAUDE_CODE_OAUTH_TOKEN", text: "fake-oauth-secret" },
      ],
      containers: [{ class_name: "Sandbox" }],
      migrations: { new_tag: "v1", new_sqlite_classes: ["Sandbox"] },
      observability: { enabled: true },
    });
    expect(files).toEqual({ "index.js": `application/javascript+module|${CODE}` });
    expect(result.id).toBe(SCRIPT);
    expect(result.outs).toMatchObject({
      migrationTag: "v1",
      deploymentId: "deployment-1",
      url: `https://${SCRIPT}.example-account.workers.dev`,
    });
  });

  it("fails clearly, uploading nothing, when the Worker has another migration history", async () => {
    scripts = [{ id: SCRIPT, migration_tag: "someone-elses-v7" }];
    await expect(provider.create(await inputs())).rejects.toThrow(
      `Worker ${SCRIPT} has Durable Object migration tag "someone-elses-v7", not "v1"`,
    );
    expect(api.requestsTo("PUT", SCRIPT_PATH)).toEqual([]);
  });

  it("refuses a module that changed since the program planned it", async () => {
    const planned = await inputs();
    await writeFile(planned.modules[0]!.path, `${CODE}// edited`);
    await expect(provider.create(planned)).rejects.toThrow("Worker module index.js");
    expect(api.requestsTo("PUT", SCRIPT_PATH)).toEqual([]);
  });
});

describe("update", () => {
  it("sends no migration once the Worker has the tag, and keeps containers on every upload", async () => {
    scripts = [{ id: SCRIPT, migration_tag: "v1" }];
    const before = (await provider.create(await inputs())).outs;
    api.requests.length = 0;
    await provider.update(SCRIPT, before!, await inputs({ bindings: [] }));
    const { metadata } = await uploadParts(api.requestsTo("PUT", SCRIPT_PATH)[0]!);
    expect(metadata).not.toHaveProperty("migrations");
    expect(metadata.containers).toEqual([{ class_name: "Sandbox" }]);
  });
});

describe("diff", () => {
  let olds: WorkerScriptOutputs;
  beforeEach(async () => {
    olds = { ...(await inputs()), migrationTag: "v1", deploymentId: "deployment-1", url: "https://x" };
  });

  it("reports no change for the same inputs in another key order", async () => {
    const same = await inputs();
    const reordered = { ...same, secrets: { CLAUDE_CODE_OAUTH_TOKEN: "fake-oauth-secret", SERVER_AUTH_TOKEN: "server-token-secret" } };
    expect(await provider.diff(SCRIPT, olds, reordered)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it.each([
    ["new code", { modules: [{ name: "index.js", path: "/x", contentType: "application/javascript+module", sha256: "f".repeat(64) }] }],
    ["a rotated token", { secrets: { SERVER_AUTH_TOKEN: "rotated", CLAUDE_CODE_OAUTH_TOKEN: "fake-oauth-secret" } }],
    ["a changed setting", { bindings: [{ type: "plain_text" as const, name: "CREDENTIAL_MODE", text: "env" }] }],
    ["a new compatibility date", { compatibilityDate: "2026-05-01" }],
  ])("updates in place for %s", async (_name, change) => {
    expect(await provider.diff(SCRIPT, olds, await inputs(change))).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });

  it.each([
    ["scriptName", { scriptName: "other-name" }],
    ["accountId", { accountId: "f".repeat(32) }],
  ])("replaces for a new %s", async (key, change) => {
    const result = await provider.diff(SCRIPT, olds, await inputs(change));
    expect(result.replaces).toEqual([key]);
  });
});

describe("read and delete", () => {
  it("reads the applied migration tag, and reports a Worker gone when it is not listed", async () => {
    const olds = { ...(await inputs()), migrationTag: "", deploymentId: "d", url: "u" };
    scripts = [{ id: SCRIPT, migration_tag: "v1" }];
    expect((await provider.read(SCRIPT, olds)).props?.migrationTag).toBe("v1");
    scripts = [];
    expect((await provider.read(SCRIPT, olds)).id).toBe("");
  });

  it("deletes with force and tolerates a Worker already gone", async () => {
    const props = { ...(await inputs()), migrationTag: "v1", deploymentId: "d", url: "u" };
    await provider.delete(SCRIPT, props);
    expect(api.requestsTo("DELETE", SCRIPT_PATH)[0]!.query.get("force")).toBe("true");
    api.on("DELETE", "/accounts/:account/workers/scripts/:script", () => apiError(404, 10007, "This Worker does not exist"));
    await expect(provider.delete(SCRIPT, props)).resolves.toBeUndefined();
  });
});

describe("API failures", () => {
  it.each([
    [403, 10000, "Authentication error"],
    [400, 10021, "Uncaught Error: No such module"],
    [500, 10013, "An unknown error occurred"],
  ])("surfaces HTTP %i with Cloudflare's code and message, never the token or a secret", async (status, code, message) => {
    api.on("PUT", "/accounts/:account/workers/scripts/:script", () => apiError(status, code, message));
    const failure = await provider.create(await inputs()).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toContain(`Cloudflare API: could not upload Worker ${SCRIPT}: HTTP ${status}: ${code}: ${message}`);
    for (const secret of [TOKEN, "server-token-secret", "fake-oauth-secret"]) expect(failure?.message).not.toContain(secret);
  });

  it("asks for a token when none is configured", async () => {
    const bare = new WorkerScriptProvider();
    const saved = process.env.CLOUDFLARE_API_TOKEN;
    delete process.env.CLOUDFLARE_API_TOKEN;
    try {
      await bare.configure({ config: { get: () => undefined, require: () => "" } } as never);
      await expect(bare.create(await inputs())).rejects.toThrow(/cloudflare:apiToken.*CLOUDFLARE_API_TOKEN/);
    } finally {
      if (saved !== undefined) process.env.CLOUDFLARE_API_TOKEN = saved;
    }
  });
});

describe("migrationToSend", () => {
  it("sends the migration only while the Worker lacks the tag", () => {
    const wanted = { tag: "v1", newSqliteClasses: ["Sandbox"] };
    expect(migrationToSend(wanted, undefined, SCRIPT)).toEqual({ new_tag: "v1", new_sqlite_classes: ["Sandbox"] });
    expect(migrationToSend(wanted, "v1", SCRIPT)).toBeUndefined();
    expect(() => migrationToSend(wanted, "v0", SCRIPT)).toThrow(/not deployed by this program/);
  });
});
