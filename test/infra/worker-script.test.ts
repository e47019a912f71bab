/**
 * The Worker upload provider against a local stand-in of the Cloudflare API
 * that behaves like the Workers API where it matters here (an upload keeps the
 * secrets it does not send; migrations must start at the Worker's tag), driven
 * through the real `cloudflare` client: what it sends, which migrations, how it
 * removes secrets no longer wanted, how it decides updates and replacements,
 * and how it fails. Then once more the way Pulumi runs it: serialized, and
 * loaded in a plain `node` process.
 */
import { execFile } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeEach, describe, expect, it } from "vitest";
import { consoleAssets } from "../../infra/components/sandbox-worker.js";
import type { DurableObjectMigration } from "../../worker/src/contract.js";
import {
  deployedSettings,
  migrationsToSend,
  settingsOf,
  type WorkerScriptInputs,
  type WorkerScriptOutputs,
  WorkerScriptProvider,
} from "../../infra/providers/worker-script.js";
import {
  apiError,
  CloudflareApiStandIn,
  echoingApiError,
  type RecordedRequest,
} from "./fixtures/cloudflare-api-stand-in.js";
import { type FakeWorker, FakeWorkersApi, uploadMetadata } from "./fixtures/fake-workers-api.js";
import { workerUploadWorld } from "./fixtures/worker-upload-world.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ACCOUNT = "0123456789abcdef0123456789abcdef";
const TOKEN = "cf-api-token-must-never-leak-4711";
const SCRIPT = "claude-sandbox-dev";
const SCRIPT_PATH = `/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}`;
const MIGRATIONS: readonly DurableObjectMigration[] = [
  { tag: "v1", newSqliteClasses: ["Sandbox"] },
  { tag: "v2", newSqliteClasses: ["Task", "TaskIndex"] },
  { tag: "v3", newSqliteClasses: ["BranchQueue"] },
];
const MANAGED = [
  "SERVER_AUTH_TOKEN",
  "SERVER_AUTH_TOKEN_PREVIOUS",
  "CLAUDE_CODE_OAUTH_TOKEN",
  "ANTHROPIC_API_KEY",
  "WEBHOOK_SECRET",
  "GITHUB_TOKEN",
  "GITHUB_APP_PRIVATE_KEY",
];
const SECRETS = { SERVER_AUTH_TOKEN: "server-token-secret", CLAUDE_CODE_OAUTH_TOKEN: "fake-oauth-secret", WEBHOOK_SECRET: "whsec_ZmFrZQ==" };
const GITHUB_TOKEN = "github_pat_fakeWorkerScriptTokenMustNeverLeak";
/** A GitHub App's key as GitHub issues it: a PKCS#1 PEM of several lines. */
const APP_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString().trim();

const api = new CloudflareApiStandIn();
let dir: string;
let provider: WorkerScriptProvider;

const CODE = "export default { fetch() { return new Response('ok') } }; export class Sandbox {}";

/** The fake Workers API behind the stand-in, fresh for each test. */
let fake: FakeWorkersApi;

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
    compatibilityDate: "2026-11-03",
    compatibilityFlags: ["nodejs_compat"],
    bindings: [
      { type: "durable_object_namespace", name: "Sandbox", class_name: "Sandbox" },
      { type: "r2_bucket", name: "RESULTS", bucket_name: "claude-sandbox-results-dev" },
      { type: "ratelimit", name: "TASK_RATE_LIMIT", namespace_id: "1234567", simple: { limit: 60, period: 60 } },
      { type: "plain_text", name: "CREDENTIAL_MODE", text: "proxy" },
    ],
    secrets: { ...SECRETS },
    managedSecretNames: [...MANAGED],
    containerClasses: ["Sandbox"],
    migrations: MIGRATIONS,
    observability: true,
    adoptExisting: false,
    ...overrides,
  };
}

/** A multipart upload's parts. */
async function formParts(
  rawBody: string,
  contentType: string,
): Promise<{ metadata: Record<string, unknown>; files: Record<string, string> }> {
  const form = await new Request("http://upload", { method: "PUT", body: rawBody, headers: { "content-type": contentType } }).formData();
  const metadata = JSON.parse(await (form.get("metadata") as Blob).text()) as Record<string, unknown>;
  const files: Record<string, string> = {};
  for (const [name, value] of form.entries()) {
    if (name !== "metadata") files[name] = `${(value as File).type}|${await (value as Blob).text()}`;
  }
  return { metadata, files };
}

const uploadParts = (request: RecordedRequest) => formParts(request.rawBody, String(request.headers["content-type"]));

/** The names of the secrets the fake API holds for the test Worker. */
const liveSecrets = () => fake.secretsOf(SCRIPT);

workerUploadWorld(api, TOKEN, (world) => {
  ({ fake, provider, dir } = world);
});

describe("create", () => {
  it("uploads code, bindings, secrets, containers and every migration step in one PUT", async () => {
    const result = await provider.create(await inputs());
    const [put] = api.requestsTo("PUT", SCRIPT_PATH);
    expect(put).toBeDefined();
    expect(put!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const { metadata, files } = await uploadParts(put!);
    expect(metadata).toEqual({
      main_module: "index.js",
      compatibility_date: "2026-11-03",
      compatibility_flags: ["nodejs_compat"],
      bindings: [
        { type: "durable_object_namespace", name: "Sandbox", class_name: "Sandbox" },
        { type: "r2_bucket", name: "RESULTS", bucket_name: "claude-sandbox-results-dev" },
        { type: "ratelimit", name: "TASK_RATE_LIMIT", namespace_id: "1234567", simple: { limit: 60, period: 60 } },
        { type: "plain_text", name: "CREDENTIAL_MODE", text: "proxy" },
        { type: "secret_text", name: "SERVER_AUTH_TOKEN", text: "server-token-secret" },
        { type: "secret_text", name: "CLAUDE_CODE_OAUTH_TOKEN", text: "fake-oauth-secret" },
        { type: "secret_text", name: "WEBHOOK_SECRET", text: "whsec_ZmFrZQ==" },
      ],
      containers: [{ class_name: "Sandbox" }],
      migrations: {
        new_tag: "v3",
        steps: [{ new_sqlite_classes: ["Sandbox"] }, { new_sqlite_classes: ["Task", "TaskIndex"] }, { new_sqlite_classes: ["BranchQueue"] }],
      },
      observability: { enabled: true },
    });
    expect(files).toEqual({ "index.js": `application/javascript+module|${CODE}` });
    expect(result.id).toBe(SCRIPT);
    expect(result.outs).toMatchObject({
      migrationTag: "v3",
      deploymentId: "deployment-1",
      url: `https://${SCRIPT}.example-account.workers.dev`,
    });
    expect(fake.workers.get(SCRIPT)?.migrationTag).toBe("v3");
  });

  it("fails clearly, uploading nothing, when the Worker to adopt has a migration tag this program does not know", async () => {
    fake.workers.set(SCRIPT, { migrationTag: "someone-elses-v7", bindings: [] });
    await expect(provider.create(await inputs({ adoptExisting: true }))).rejects.toThrow(
      `Worker ${SCRIPT} has Durable Object migration tag "someone-elses-v7", which is not one of this program's ("v1", "v2", "v3")`,
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

describe("a Worker that exists already", () => {
  it("is refused by create, untouched, with the setting that would adopt it", async () => {
    fake.workers.set(SCRIPT, { migrationTag: "v3", bindings: [{ type: "plain_text", name: "SOMEONE_ELSES", text: "x" }] });

    const failure = await provider.create(await inputs()).then(
      () => undefined,
      (error: unknown) => error as Error,
    );

    expect(failure?.message).toBe(
      `Worker ${SCRIPT} already exists in account ${ACCOUNT}, and this stack did not create it: it may be someone else's. ` +
        "Choose another workerName, or, to take it over (for example a Worker first deployed with `wrangler deploy`), run " +
        "`pulumi config set --type bool adoptExistingWorker true` and `pulumi up` again.",
    );
    expect(api.requests.filter((request) => request.method !== "GET")).toEqual([]);
    expect(fake.workers.get(SCRIPT)?.bindings).toEqual([{ type: "plain_text", name: "SOMEONE_ELSES", text: "x" }]);
  });

  it("is taken over when the stack says to adopt it: deployed from worker/wrangler.jsonc, it has every migration already", async () => {
    fake.workers.set(SCRIPT, { migrationTag: "v3", bindings: [{ type: "secret_text", name: "HAND_SET", text: "x" }] });

    const result = await provider.create(await inputs({ adoptExisting: true }));

    const metadata = await uploadMetadata(api.requestsTo("PUT", SCRIPT_PATH)[0]!);
    expect(metadata).not.toHaveProperty("migrations");
    expect(metadata.containers).toEqual([{ class_name: "Sandbox" }]);
    expect(result.outs?.migrationTag).toBe("v3");
    // A secret it had that this program does not manage stays.
    expect(liveSecrets()).toContain("HAND_SET");
  });
});

describe("drift: what refresh reads", () => {
  /** Creates the Worker, changes it as `change` says (outside Pulumi), and refreshes. */
  async function refreshedAfter(change: (worker: FakeWorker) => void) {
    const planned = await inputs();
    const created = (await provider.create(planned)).outs!;
    change(fake.workers.get(SCRIPT)!);
    const read = await provider.read(SCRIPT, created);
    return { planned, created, read };
  }

  it("finds what the upload deployed, so a refresh right after `up` changes nothing and a preview shows nothing", async () => {
    const { planned, created, read } = await refreshedAfter(() => undefined);

    expect(read).toEqual({ id: SCRIPT, props: created });
    expect(read.props?.deployed).toEqual(settingsOf(planned));
    expect(read.props?.deployed).toEqual({
      bindings: [
        { name: "CLAUDE_CODE_OAUTH_TOKEN", type: "secret_text" },
        { name: "CREDENTIAL_MODE", type: "plain_text" },
        { name: "RESULTS", type: "r2_bucket" },
        { name: "Sandbox", type: "durable_object_namespace" },
        { name: "SERVER_AUTH_TOKEN", type: "secret_text" },
        { name: "TASK_RATE_LIMIT", type: "ratelimit" },
        { name: "WEBHOOK_SECRET", type: "secret_text" },
      ],
      compatibilityDate: "2026-11-03",
      compatibilityFlags: ["nodejs_compat"],
      observability: true,
      containers: ["Sandbox"],
    });
    expect(await provider.diff(SCRIPT, read.props!, planned)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    const base = `/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}`;
    expect(api.requests.slice(-4).map((request) => `${request.method} ${request.pathname}`)).toEqual([
      `GET /accounts/${ACCOUNT}/workers/scripts`,
      `GET ${base}/settings`,
      `GET ${base}/deployments`,
      `GET ${base}/versions/version-1`,
    ]);
  });

  it.each([
    ["a binding removed", (worker: FakeWorker) => (worker.bindings = worker.bindings.filter((binding) => binding.name !== "RESULTS"))],
    ["a variable added", (worker: FakeWorker) => worker.bindings.push({ type: "plain_text", name: "DEBUG", text: "1" })],
    ["a binding of another type under the same name", (worker: FakeWorker) => {
      worker.bindings = worker.bindings.map((binding) => (binding.name === "RESULTS" ? { type: "kv_namespace", name: "RESULTS" } : binding));
    }],
    ["a managed secret deleted", (worker: FakeWorker) => (worker.bindings = worker.bindings.filter((binding) => binding.name !== "WEBHOOK_SECRET"))],
    ["another compatibility date", (worker: FakeWorker) => (worker.compatibilityDate = "2025-01-01")],
    ["a compatibility flag dropped", (worker: FakeWorker) => (worker.compatibilityFlags = [])],
    ["observability turned off", (worker: FakeWorker) => (worker.observability = false)],
    ["containers turned off (an upload without them)", (worker: FakeWorker) => (worker.containers = [])],
  ])("shows %s outside Pulumi as a change, which the next `up` undoes", async (_, change) => {
    const { planned, created, read } = await refreshedAfter(change);

    expect(read.props?.deployed).not.toEqual(created.deployed);
    expect(await provider.diff(SCRIPT, read.props!, planned)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    const updated = (await provider.update(SCRIPT, read.props!, planned)).outs!;
    expect((await provider.read(SCRIPT, updated)).props?.deployed).toEqual(settingsOf(planned));
  });

  it("leaves secrets set by hand under other names out, so they are never taken for drift", async () => {
    const { planned, read } = await refreshedAfter((worker) => worker.bindings.push({ type: "secret_text", name: "HAND_SET" }));

    expect(await provider.diff(SCRIPT, read.props!, planned)).toMatchObject({ changes: false });
  });

  it("says what failed when the settings cannot be read, never the token", async () => {
    const created = (await provider.create(await inputs())).outs!;
    api.on("GET", "/accounts/:account/workers/scripts/:script/settings", echoingApiError(403, 10000, "Authentication error"));

    const failure = await provider.read(SCRIPT, created).then(
      () => undefined,
      (error: unknown) => error as Error,
    );

    expect(failure?.message).toContain(`Cloudflare API: could not read the deployed settings of Worker ${SCRIPT}: HTTP 403: 10000`);
    expect(failure?.message).not.toContain(TOKEN);
  });
});

describe("deployedSettings", () => {
  it("reads a Worker with no deployment as having no containers, and sorts what it lists", () => {
    expect(
      deployedSettings(
        {
          settings: {
            bindings: [
              { name: "B", type: "plain_text" },
              { name: "A", type: "secret_text" },
              { name: "OWN", type: "secret_text" },
            ],
            compatibility_date: "2026-11-03",
            compatibility_flags: ["z", "a"],
            observability: null,
          },
          containers: undefined,
        },
        ["A"],
      ),
    ).toEqual({
      bindings: [
        { name: "A", type: "secret_text" },
        { name: "B", type: "plain_text" },
      ],
      compatibilityDate: "2026-11-03",
      compatibilityFlags: ["a", "z"],
      observability: false,
      containers: [],
    });
  });
});

describe("update", () => {
  it("applies only the steps after the Worker's tag, from that tag (old_tag), and keeps containers on", async () => {
    fake.workers.set(SCRIPT, { migrationTag: "v1", bindings: [] });
    const before = { ...(await inputs()), migrationTag: "v1", deploymentId: "deployment-0", url: "https://x" };
    const result = await provider.update(SCRIPT, before, await inputs());
    const { metadata } = await uploadParts(api.requestsTo("PUT", SCRIPT_PATH)[0]!);
    expect(metadata.migrations).toEqual({
      old_tag: "v1",
      new_tag: "v3",
      steps: [{ new_sqlite_classes: ["Task", "TaskIndex"] }, { new_sqlite_classes: ["BranchQueue"] }],
    });
    expect(metadata.containers).toEqual([{ class_name: "Sandbox" }]);
    expect(fake.workers.get(SCRIPT)?.migrationTag).toBe("v3");
    expect(result.outs?.migrationTag).toBe("v3");
  });

  it("gives a Worker deployed at v2 only the v3 step, from old_tag v2, with the BranchQueue binding in the same upload", async () => {
    fake.workers.set(SCRIPT, { migrationTag: "v2", bindings: [] });
    const before = { ...(await inputs()), migrations: MIGRATIONS.slice(0, 2), migrationTag: "v2", deploymentId: "deployment-0", url: "https://x" };
    const branchQueue = { type: "durable_object_namespace" as const, name: "BRANCH_QUEUES", class_name: "BranchQueue" };
    const planned = await inputs();
    const result = await provider.update(SCRIPT, before, { ...planned, bindings: [...planned.bindings, branchQueue] });
    const { metadata } = await uploadParts(api.requestsTo("PUT", SCRIPT_PATH)[0]!);
    expect(metadata.migrations).toEqual({ old_tag: "v2", new_tag: "v3", steps: [{ new_sqlite_classes: ["BranchQueue"] }] });
    expect(metadata.bindings).toContainEqual(branchQueue);
    expect(fake.workers.get(SCRIPT)?.migrationTag).toBe("v3");
    expect(result.outs?.migrationTag).toBe("v3");
  });

  it("sends no migrations once the Worker has the last tag", async () => {
    const before = (await provider.create(await inputs())).outs!;
    api.requests.length = 0;
    await provider.update(SCRIPT, before, await inputs({ bindings: [] }));
    const { metadata } = await uploadParts(api.requestsTo("PUT", SCRIPT_PATH)[0]!);
    expect(metadata).not.toHaveProperty("migrations");
    expect(metadata.containers).toEqual([{ class_name: "Sandbox" }]);
  });

  it("removes a managed secret that is no longer configured, and leaves other secrets alone", async () => {
    const before = (await provider.create(await inputs())).outs!;
    // A secret someone set by hand (`wrangler secret put`), which this program does not manage.
    fake.workers.get(SCRIPT)!.bindings.push({ type: "secret_text", name: "HAND_SET", text: "x" });
    const switched = { SERVER_AUTH_TOKEN: "server-token-secret", ANTHROPIC_API_KEY: "fake-apikey-secret", WEBHOOK_SECRET: "whsec_ZmFrZQ==" };

    await provider.update(SCRIPT, before, await inputs({ secrets: switched }));

    expect(liveSecrets()).toEqual(["ANTHROPIC_API_KEY", "HAND_SET", "SERVER_AUTH_TOKEN", "WEBHOOK_SECRET"]);
    expect(api.requests.filter((request) => request.method === "DELETE").map((request) => request.pathname)).toEqual([
      `${SCRIPT_PATH}/secrets/CLAUDE_CODE_OAUTH_TOKEN`,
    ]);
  });

  it.each([
    ["a token to an App", { GITHUB_TOKEN }, { GITHUB_APP_PRIVATE_KEY: APP_KEY }, "GITHUB_TOKEN"],
    ["an App to a token", { GITHUB_APP_PRIVATE_KEY: APP_KEY }, { GITHUB_TOKEN }, "GITHUB_APP_PRIVATE_KEY"],
    ["a token to no GitHub credential", { GITHUB_TOKEN }, {}, "GITHUB_TOKEN"],
  ])("removes the GitHub credential no longer configured, switching from %s", async (_, from, to, removed) => {
    const before = (await provider.create(await inputs({ secrets: { ...SECRETS, ...from } }))).outs!;
    expect(liveSecrets()).toContain(removed);
    await provider.update(SCRIPT, before, await inputs({ secrets: { ...SECRETS, ...to } }));
    expect(liveSecrets()).toEqual(Object.keys({ ...SECRETS, ...to }).sort());
    expect(api.requests.filter((request) => request.method === "DELETE").map((request) => request.pathname)).toEqual([
      `${SCRIPT_PATH}/secrets/${removed}`,
    ]);
  });

  it("removes the previous token's binding when the inputs no longer have one", async () => {
    const before = (await provider.create(await inputs({ secrets: { ...SECRETS, SERVER_AUTH_TOKEN_PREVIOUS: "old" } }))).outs!;
    expect(liveSecrets()).toContain("SERVER_AUTH_TOKEN_PREVIOUS");
    await provider.update(SCRIPT, before, await inputs());
    expect(liveSecrets()).toEqual(["CLAUDE_CODE_OAUTH_TOKEN", "SERVER_AUTH_TOKEN", "WEBHOOK_SECRET"]);
  });
});

describe("diff", () => {
  let olds: WorkerScriptOutputs;
  beforeEach(async () => {
    olds = { ...(await inputs()), migrationTag: "v3", deploymentId: "deployment-1", url: "https://x" };
  });

  it("reports no change for the same inputs in another key order", async () => {
    const same = await inputs();
    const reordered = {
      ...same,
      secrets: { WEBHOOK_SECRET: "whsec_ZmFrZQ==", CLAUDE_CODE_OAUTH_TOKEN: "fake-oauth-secret", SERVER_AUTH_TOKEN: "server-token-secret" },
    };
    expect(await provider.diff(SCRIPT, olds, reordered)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("reports no change for the same code written in another checkout", async () => {
    const elsewhere = (await inputs()).modules.map((module) => ({ ...module, path: `/home/ci/work/other-clone/dist/worker/${module.name}` }));
    expect(await provider.diff(SCRIPT, olds, await inputs({ modules: elsewhere }))).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("reports no change right after a create, given the same inputs (a preview after `up` shows nothing)", async () => {
    const created = (await provider.create(await inputs())).outs!;
    expect((await provider.diff(SCRIPT, created, await inputs())).changes).toBe(false);
  });

  it.each([
    ["new code", { modules: [{ name: "index.js", path: "/x", contentType: "application/javascript+module", sha256: "f".repeat(64) }] }],
    ["a rotated token", { secrets: { ...SECRETS, SERVER_AUTH_TOKEN: "rotated" } }],
    ["a changed setting", { bindings: [{ type: "plain_text" as const, name: "CREDENTIAL_MODE", text: "env" }] }],
    ["a new compatibility date", { compatibilityDate: "2026-05-01" }],
    ["a new migration", { migrations: [...MIGRATIONS, { tag: "v4", newSqliteClasses: ["Extra"] }] }],
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
    fake.workers.set(SCRIPT, { migrationTag: "v3", bindings: [] });
    expect((await provider.read(SCRIPT, olds)).props?.migrationTag).toBe("v3");
    fake.workers.clear();
    expect((await provider.read(SCRIPT, olds)).id).toBe("");
  });

  it("deletes with force and tolerates a Worker already gone", async () => {
    const props = { ...(await inputs()), migrationTag: "v3", deploymentId: "d", url: "u" };
    await provider.delete(SCRIPT, props);
    expect(api.requestsTo("DELETE", SCRIPT_PATH)[0]!.query.get("force")).toBe("true");
    api.on("DELETE", "/accounts/:account/workers/scripts/:script", () => apiError(404, 10007, "This Worker does not exist"));
    await expect(provider.delete(SCRIPT, props)).resolves.toBeUndefined();
  });
});

describe("API failures", () => {
  const withGitHub = { ...SECRETS, GITHUB_TOKEN, GITHUB_APP_PRIVATE_KEY: APP_KEY };
  /** Every secret, and each line of the key: none may appear, whole or in part. */
  const secretValues = [
    TOKEN,
    ...Object.values(withGitHub),
    JSON.stringify(APP_KEY).slice(1, -1),
    ...APP_KEY.split("\n").filter((line) => !line.startsWith("-----")),
  ];

  it.each([
    [403, 10000, "Authentication error"],
    [400, 10021, "Uncaught Error: No such module"],
    [500, 10013, "An unknown error occurred"],
  ])("surfaces HTTP %i with Cloudflare's code and message, never the token or a secret", async (status, code, message) => {
    // The stand-in echoes the whole request, secret bindings included: only redaction keeps them out.
    api.on("PUT", "/accounts/:account/workers/scripts/:script", echoingApiError(status, code, message));
    const failure = await provider.create(await inputs({ secrets: withGitHub })).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(failure!.message).toContain(`Cloudflare API: could not upload Worker ${SCRIPT}: HTTP ${status}: ${code}: ${message}`);
    // The echo did come back: the request's parts are there, with each secret replaced.
    expect(failure!.message).toContain("authorization=Bearer [redacted]");
    expect(failure!.message).toContain('"name":"SERVER_AUTH_TOKEN","text":"[redacted]"');
    expect(failure!.message).toContain('"name":"GITHUB_TOKEN","text":"[redacted]"');
    expect(failure!.message).toContain('"name":"GITHUB_APP_PRIVATE_KEY","text":"[redacted]"');
    for (const secret of secretValues) {
      expect(failure!.message).not.toContain(secret);
      expect(failure!.stack ?? "").not.toContain(secret);
    }
  });

  it("never reveals a secret when removing an unwanted one fails", async () => {
    await provider.create(await inputs({ secrets: { ...SECRETS, ANTHROPIC_API_KEY: "fake-apikey-secret" } }));
    api.on("DELETE", "/accounts/:account/workers/scripts/:script/secrets/:name", echoingApiError(500, 10013, "Internal error"));
    const failure = await provider.create(await inputs({ secrets: withGitHub, adoptExisting: true })).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toContain(`could not remove secret ANTHROPIC_API_KEY from Worker ${SCRIPT}: HTTP 500`);
    for (const secret of secretValues) expect(failure?.message).not.toContain(secret);
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

describe("migrationsToSend", () => {
  it("sends every step to a new Worker, the steps after its tag to an older one, and nothing to a current one", () => {
    expect(migrationsToSend(MIGRATIONS, undefined, SCRIPT)).toEqual({
      new_tag: "v3",
      steps: [{ new_sqlite_classes: ["Sandbox"] }, { new_sqlite_classes: ["Task", "TaskIndex"] }, { new_sqlite_classes: ["BranchQueue"] }],
    });
    expect(migrationsToSend(MIGRATIONS, "v1", SCRIPT)).toEqual({
      old_tag: "v1",
      new_tag: "v3",
      steps: [{ new_sqlite_classes: ["Task", "TaskIndex"] }, { new_sqlite_classes: ["BranchQueue"] }],
    });
    expect(migrationsToSend(MIGRATIONS, "v2", SCRIPT)).toEqual({
      old_tag: "v2",
      new_tag: "v3",
      steps: [{ new_sqlite_classes: ["BranchQueue"] }],
    });
    expect(migrationsToSend(MIGRATIONS, "v3", SCRIPT)).toBeUndefined();
  });

  it("refuses a tag that is not in the list, and an empty list", () => {
    expect(() => migrationsToSend(MIGRATIONS, "v0", SCRIPT)).toThrow(/not deployed by this program/);
    expect(() => migrationsToSend([], undefined, SCRIPT)).toThrow(/list of Durable Object migrations is empty/);
  });
});

describe("in Pulumi's dynamic provider host", () => {
  const run = promisify(execFile);

  /** Declares a WorkerScript in a program run with tsx and mocks; returns its registered inputs, `__provider` included. */
  async function registeredInputs(planned: WorkerScriptInputs): Promise<Record<string, unknown>> {
    const output = join(dir, "registered.json");
    const program = `
      import { writeFileSync } from "node:fs";
      import * as pulumi from "@pulumi/pulumi";
      await pulumi.runtime.setMocks({
        newResource: (args) => {
          writeFileSync(${JSON.stringify(output)}, JSON.stringify(args.inputs));
          return { id: "mock-id", state: args.inputs };
        },
        call: () => ({}),
      }, "claude-sandbox", "test", false);
      const { WorkerScript } = await import("./infra/providers/worker-script.ts");
      new WorkerScript("worker-script", ${JSON.stringify(planned)});
    `;
    // The token is in the environment here to prove it is not captured into the provider.
    await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program], {
      cwd: ROOT,
      env: { ...process.env, CLOUDFLARE_API_TOKEN: TOKEN },
    });
    return JSON.parse(await readFile(output, "utf8")) as Record<string, unknown>;
  }

  it("creates (with the console's assets, hashed and typed by packages it loads there) and then updates from the serialized provider, in a plain node process", async () => {
    const assetsDir = join(dir, "assets");
    await mkdir(join(assetsDir, "console"), { recursive: true });
    await writeFile(join(assetsDir, "console", "index.html"), "<!doctype html><p>console</p>");
    // As the program gives it: a path from the project root, which the provider host's working directory is.
    const planned = await inputs({ assets: await consoleAssets(assetsDir) });
    expect(planned.assets?.directory).not.toMatch(/^\//);
    const registered = await registeredInputs(planned);
    const serialized = registered.__provider;
    expect(typeof serialized).toBe("string");
    expect(String(serialized)).not.toContain(TOKEN);
    const providerFile = join(dir, "provider.js");
    await writeFile(providerFile, String(serialized));

    // Loads the provider as node_modules/@pulumi/pulumi/cmd/dynamic-provider does, with its Config class.
    const host = `
      const { createRequire } = require("node:module");
      const { readFileSync } = require("node:fs");
      const requireHere = createRequire(process.cwd() + "/");
      const requireFromString = requireHere("require-from-string");
      const { Config } = requireHere("@pulumi/pulumi/cmd/dynamic-provider/config");
      const [providerFile, token, baseUrl, created, updated] = process.argv.slice(1);
      const provider = requireFromString(readFileSync(providerFile, "utf8")).handler();
      const config = new Config({ "cloudflare:apiToken": token, "cloudflare:baseUrl": baseUrl }, "claude-sandbox");
      (async () => {
        await provider.configure({ config });
        const create = await provider.create(JSON.parse(created));
        const diff = await provider.diff(create.id, create.outs, JSON.parse(updated));
        const update = await provider.update(create.id, create.outs, JSON.parse(updated));
        process.stdout.write(JSON.stringify({ create, diff, update }));
      })().catch((error) => { console.error(error.message); process.exit(1); });
    `;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CLOUDFLARE_API_TOKEN;
    delete env.CLOUDFLARE_BASE_URL;
    const switched = { ...planned, secrets: { SERVER_AUTH_TOKEN: "server-token-secret", ANTHROPIC_API_KEY: "fake-apikey-secret" } };

    const { stdout } = await run(
      process.execPath,
      ["-e", host, providerFile, TOKEN, api.url, JSON.stringify(planned), JSON.stringify(switched)],
      { cwd: ROOT, env },
    );

    const result = JSON.parse(stdout) as { create: { id: string; outs: WorkerScriptOutputs }; diff: { changes: boolean }; update: unknown };
    expect(result.create).toMatchObject({ id: SCRIPT, outs: { migrationTag: "v3", url: `https://${SCRIPT}.example-account.workers.dev` } });
    expect(result.diff.changes).toBe(true);
    expect(result.update).toMatchObject({ outs: { migrationTag: "v3", secrets: switched.secrets } });
    const puts = api.requestsTo("PUT", SCRIPT_PATH);
    expect(puts).toHaveLength(2);
    expect((await uploadParts(puts[0]!)).metadata.migrations).toMatchObject({ new_tag: "v3" });
    expect((await uploadParts(puts[0]!)).metadata.assets).toEqual({ jwt: fake.issued[0]?.completion, config: planned.assets?.config });
    expect([...fake.assets.values()]).toEqual([
      { contentType: "text/html; charset=utf-8", base64: Buffer.from("<!doctype html><p>console</p>").toString("base64") },
    ]);
    expect((await uploadParts(puts[1]!)).metadata).not.toHaveProperty("migrations");
    expect(puts.every((put) => put.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(liveSecrets()).toEqual(["ANTHROPIC_API_KEY", "SERVER_AUTH_TOKEN"]);
  });
});
