/**
 * A Pulumi dynamic provider that uploads the Worker the way `wrangler deploy`
 * does for container Workers: one multipart `PUT /accounts/{id}/workers/scripts/{name}`
 * whose metadata carries, together, the bindings (Durable Objects, R2, rate
 * limit, secrets, settings), `containers: [{class_name}]` and the Durable
 * Object migrations still to apply. That endpoint applies the migrations
 * atomically with the upload, so a new SQLite class and the binding to it can
 * be created in one step. The native `cloudflare.WorkerVersion` cannot do that
 * (it defers migrations to the deployment and rejects a binding to a class the
 * same version creates), and `cloudflare.WorkersScript` has no `containers`;
 * see docs/architecture.md.
 *
 * Migrations are an ordered list. Like wrangler, the provider reads the tag the
 * Worker has, and sends `old_tag` (that tag) with the steps after it; a new
 * Worker gets every step, an up-to-date one none, and a Worker whose tag is
 * not in the list is refused.
 *
 * The upload endpoint keeps secret bindings that an upload does not send, so
 * after each upload the managed secret names that are no longer wanted (for
 * example the OAuth token after a switch to an API key) are deleted.
 *
 * Module files are read from disk at upload time and checked against the
 * SHA-256 recorded at planning time, so state holds digests, not code; a
 * module is compared by name, type and digest only, so the same code from
 * another checkout is no change. Static assets (the web console) go up first,
 * as wrangler sends them (`./worker-assets.ts`), and are compared by their
 * manifest of hashes. Secret bindings stay secret in state
 * (`additionalSecretOutputs`) and never appear in an error message.
 *
 * `create` refuses a Worker of the same name that this stack did not create
 * (it may be someone else's), unless the stack says `adoptExistingWorker`.
 * `read` (`pulumi refresh`, `preview --refresh`) fetches what is deployed (the
 * bindings' names and types, the compatibility date and flags, observability
 * and the container classes) into `deployed`, which `diff` compares with what
 * the inputs would deploy: a change made outside Pulumi shows as an update.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DurableObjectMigration } from "../../worker/src/contract.js";
import {
  apiFailure,
  type CloudflareConnection,
  connectCloudflare,
  isNotFound,
  type ProviderConfigSource,
} from "./cloudflare-api.js";
import { uploadAssets, type WorkerAssets } from "./worker-assets.js";

/** A module of the upload, read from `path` at upload time. */
export interface WorkerModule {
  /** Module name in the upload, e.g. `index.js`. */
  name: string;
  /** The file: relative to the project root (Pulumi's working directory), or absolute. Where it lives is not part of the diff. */
  path: string;
  /** `application/javascript+module` or `application/source-map`. */
  contentType: string;
  /** SHA-256 (hex) of the file's content when the program ran. */
  sha256: string;
}

/** A non-secret binding, in the Workers API's shape. */
export type PlainBinding =
  | { type: "durable_object_namespace"; name: string; class_name: string }
  | { type: "r2_bucket"; name: string; bucket_name: string }
  | { type: "ratelimit"; name: string; namespace_id: string; simple: { limit: number; period: 10 | 60 } }
  | { type: "plain_text"; name: string; text: string };

/** Resolved inputs of a Worker upload. */
export interface WorkerScriptInputs {
  accountId: string;
  scriptName: string;
  mainModule: string;
  modules: WorkerModule[];
  compatibilityDate: string;
  compatibilityFlags: string[];
  bindings: PlainBinding[];
  /** Secret bindings by name (`secret_text`). */
  secrets: Record<string, string>;
  /** Every secret name this program manages: any of them not in `secrets` is removed from the Worker. */
  managedSecretNames: string[];
  /** Durable Object classes backed by containers. */
  containerClasses: string[];
  /** Every migration, oldest first; the Worker ends at the last one's tag. */
  migrations: readonly DurableObjectMigration[];
  observability: boolean;
  /** Static assets served with the Worker. */
  assets?: WorkerAssets;
  /** Whether `create` may take over a Worker of the same name that already exists (moving from `wrangler deploy`). */
  adoptExisting: boolean;
}

/** One binding as the deployed settings name it. */
export interface BindingName {
  name: string;
  type: string;
}

/** What is deployed, in the terms `read` can fetch and `diff` compares. */
export interface DeployedSettings {
  /** Every binding's name and type, sorted; of the secrets, only those this program manages. */
  bindings: BindingName[];
  compatibilityDate: string;
  /** Sorted. */
  compatibilityFlags: string[];
  observability: boolean;
  /** The Durable Object classes with containers, sorted. */
  containers: string[];
}

/** What state keeps of an upload. */
export interface WorkerScriptOutputs extends WorkerScriptInputs {
  /** What is deployed: what the last upload sent, or what the last refresh found. */
  deployed?: DeployedSettings;
  /** The migration tag the Worker has after the upload. */
  migrationTag: string;
  /** Id of the deployment (version) the upload created. */
  deploymentId: string;
  /** The Worker's workers.dev address. */
  url: string;
}

export type WorkerScriptArgs = { [Key in keyof WorkerScriptInputs]: pulumi.Input<WorkerScriptInputs[Key]> };

/** The `migrations` part of an upload's metadata. */
export interface MigrationsToSend {
  old_tag?: string;
  new_tag: string;
  steps: { new_sqlite_classes: string[] }[];
}

/** Properties whose change needs a new Worker rather than a new upload. */
const REPLACE_ON = ["accountId", "scriptName"] as const;

/** Properties whose change needs a new upload. */
const UPLOAD_ON = [
  "mainModule",
  "modules",
  "compatibilityDate",
  "compatibilityFlags",
  "bindings",
  "secrets",
  "managedSecretNames",
  "containerClasses",
  "migrations",
  "observability",
  "assets",
] as const;

/**
 * Compares two values of a property by content: modules by name, type and
 * digest, assets by manifest and settings, wherever they were written.
 */
function sameValue(key: string, a: unknown, b: unknown): boolean {
  const comparable = (value: unknown) => {
    if (key === "modules" && Array.isArray(value)) {
      return value.map(({ name, contentType, sha256 }: WorkerModule) => ({ name, contentType, sha256 }));
    }
    if (key === "assets" && value && typeof value === "object") {
      const { manifest, config } = value as WorkerAssets;
      return { manifest, config };
    }
    return value;
  };
  return JSON.stringify(canonical(comparable(a))) === JSON.stringify(canonical(comparable(b)));
}

/** Bindings by name, then type. */
function sortedBindings(bindings: BindingName[]): BindingName[] {
  return [...bindings].sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
}

/** What an upload of `inputs` deploys, in the terms of {@link DeployedSettings}. */
export function settingsOf(inputs: WorkerScriptInputs): DeployedSettings {
  return {
    bindings: sortedBindings([
      ...inputs.bindings.map(({ name, type }) => ({ name, type })),
      ...Object.keys(inputs.secrets).map((name) => ({ name, type: "secret_text" })),
    ]),
    compatibilityDate: inputs.compatibilityDate,
    compatibilityFlags: [...inputs.compatibilityFlags].sort(),
    observability: inputs.observability,
    containers: [...inputs.containerClasses].sort(),
  };
}

/** The parts of the deployed Worker `read` fetches. */
interface LiveWorker {
  settings: {
    bindings?: { name: string; type: string }[];
    compatibility_date?: string;
    compatibility_flags?: string[];
    observability?: { enabled?: boolean } | null;
  };
  /** `resources.script_runtime.containers` of the deployed version (what wrangler reads). */
  containers: { class_name: string }[] | undefined;
}

/**
 * The deployed settings from what the API answered. Secrets this program does
 * not manage (set by hand) are left out, so they are never taken for drift.
 */
export function deployedSettings(live: LiveWorker, managedSecretNames: readonly string[]): DeployedSettings {
  const managed = new Set(managedSecretNames);
  return {
    bindings: sortedBindings(
      (live.settings.bindings ?? [])
        .filter((binding) => binding.type !== "secret_text" || managed.has(binding.name))
        .map(({ name, type }) => ({ name, type })),
    ),
    compatibilityDate: live.settings.compatibility_date ?? "",
    compatibilityFlags: [...(live.settings.compatibility_flags ?? [])].sort(),
    observability: live.settings.observability?.enabled === true,
    containers: (live.containers ?? []).map((container) => container.class_name).sort(),
  };
}

/**
 * Fetches what the Worker runs now: its settings, and the containers of its
 * deployed version (the latest deployment's version with the most traffic).
 */
async function fetchLiveWorker({ client, apiToken }: CloudflareConnection, accountId: string, scriptName: string): Promise<LiveWorker> {
  const base = `/accounts/${accountId}/workers/scripts/${scriptName}`;
  try {
    const settings = await client.workers.scripts.scriptAndVersionSettings.get(scriptName, { account_id: accountId });
    const { result: deployments } = (await client.get(`${base}/deployments`)) as {
      result: { deployments?: { versions: { version_id: string; percentage: number }[] }[] };
    };
    const version = [...(deployments.deployments?.[0]?.versions ?? [])].sort((a, b) => b.percentage - a.percentage)[0];
    if (!version) return { settings, containers: undefined };
    const { result } = (await client.get(`${base}/versions/${version.version_id}`)) as {
      result: { resources?: { script_runtime?: { containers?: { class_name: string }[] } } };
    };
    return { settings, containers: result.resources?.script_runtime?.containers };
  } catch (error) {
    throw apiFailure(`read the deployed settings of Worker ${scriptName}`, error, [apiToken]);
  }
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** Whether the Worker exists, and the Durable Object migration tag it has (undefined when none). */
async function appliedMigrationTag(
  { client, apiToken }: CloudflareConnection,
  accountId: string,
  scriptName: string,
): Promise<{ exists: boolean; tag: string | undefined }> {
  try {
    for await (const script of client.workers.scripts.list({ account_id: accountId })) {
      if (script.id === scriptName) return { exists: true, tag: script.migration_tag || undefined };
    }
    return { exists: false, tag: undefined };
  } catch (error) {
    throw apiFailure(`read Worker ${scriptName}`, error, [apiToken]);
  }
}

/**
 * The migrations to send, given the tag the Worker has now: every step for a
 * Worker without one, `old_tag` and the steps after it otherwise, nothing when
 * it has the last tag. A tag that is not in the list means the Worker has a
 * history this program does not know, and is refused.
 */
export function migrationsToSend(
  migrations: readonly DurableObjectMigration[],
  applied: string | undefined,
  scriptName: string,
): MigrationsToSend | undefined {
  const last = migrations.at(-1);
  if (!last) throw new Error(`Worker ${scriptName}: the list of Durable Object migrations is empty.`);
  const step = (migration: DurableObjectMigration) => ({ new_sqlite_classes: [...migration.newSqliteClasses] });
  if (applied === undefined) return { new_tag: last.tag, steps: migrations.map(step) };
  const index = migrations.findIndex((migration) => migration.tag === applied);
  if (index < 0) {
    const known = migrations.map((migration) => `"${migration.tag}"`).join(", ");
    throw new Error(
      `Worker ${scriptName} has Durable Object migration tag "${applied}", which is not one of this program's (${known}): ` +
        "it was not deployed by this program. Choose another workerName, or delete that Worker.",
    );
  }
  if (index === migrations.length - 1) return undefined;
  return { old_tag: applied, new_tag: last.tag, steps: migrations.slice(index + 1).map(step) };
}

/** The upload's metadata part; `assetsJwt` redeems the assets uploaded for it. */
function uploadMetadata(
  inputs: WorkerScriptInputs,
  migrations: MigrationsToSend | undefined,
  assetsJwt: string | undefined,
): Record<string, unknown> {
  return {
    main_module: inputs.mainModule,
    compatibility_date: inputs.compatibilityDate,
    compatibility_flags: inputs.compatibilityFlags,
    bindings: [
      ...inputs.bindings,
      ...Object.entries(inputs.secrets).map(([name, text]) => ({ type: "secret_text", name, text })),
    ],
    // Every upload must carry this: an upload without it turns containers off for the class.
    containers: inputs.containerClasses.map((className) => ({ class_name: className })),
    ...(migrations ? { migrations } : {}),
    observability: { enabled: inputs.observability },
    ...(inputs.assets && assetsJwt ? { assets: { jwt: assetsJwt, config: inputs.assets.config } } : {}),
  };
}

/** Reads each module (a relative path from the project root) and checks it is the content the program planned with. */
async function readModules(modules: WorkerModule[]): Promise<{ module: WorkerModule; content: Buffer }[]> {
  const { readFile } = process.getBuiltinModule("node:fs/promises");
  const { createHash } = process.getBuiltinModule("node:crypto");
  const { resolve } = process.getBuiltinModule("node:path");
  return Promise.all(
    modules.map(async (module) => {
      const content = await readFile(resolve(process.cwd(), module.path));
      const sha256 = createHash("sha256").update(content).digest("hex");
      if (sha256 !== module.sha256) {
        throw new Error(`Worker module ${module.name} (${module.path}) changed since the program ran; run the update again.`);
      }
      return { module, content };
    }),
  );
}

/** Deletes the managed secrets the Worker still has but the inputs no longer want. */
async function removeUnwantedSecrets(connection: CloudflareConnection, inputs: WorkerScriptInputs): Promise<void> {
  const { client, apiToken } = connection;
  const unwanted = new Set(inputs.managedSecretNames.filter((name) => !(name in inputs.secrets)));
  if (unwanted.size === 0) return;
  const params = { account_id: inputs.accountId };
  const redact = [apiToken, ...Object.values(inputs.secrets)];
  const present: string[] = [];
  try {
    for await (const secret of client.workers.scripts.secrets.list(inputs.scriptName, params)) {
      if (unwanted.has(secret.name)) present.push(secret.name);
    }
  } catch (error) {
    throw apiFailure(`list the secrets of Worker ${inputs.scriptName}`, error, redact);
  }
  for (const name of present) {
    try {
      await client.workers.scripts.secrets.delete(name, { ...params, script_name: inputs.scriptName });
    } catch (error) {
      if (!isNotFound(error)) throw apiFailure(`remove secret ${name} from Worker ${inputs.scriptName}`, error, redact);
    }
  }
}

export class WorkerScriptProvider implements pulumi.dynamic.ResourceProvider<WorkerScriptInputs, WorkerScriptOutputs> {
  private config: ProviderConfigSource | undefined;

  async configure(request: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.config = request.config;
  }

  /**
   * An update when an uploaded input changed, or when what is deployed (as the
   * last refresh found it) is not what the inputs would deploy; a replacement
   * for a new account or name.
   */
  async diff(_id: string, olds: WorkerScriptOutputs, news: WorkerScriptInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = REPLACE_ON.filter((key) => !sameValue(key, olds[key], news[key]));
    const updates = UPLOAD_ON.filter((key) => !sameValue(key, olds[key], news[key]));
    if (replaces.length + updates.length > 0) return { changes: true, replaces, deleteBeforeReplace: false };
    // The inputs equal the recorded ones (so none is unknown here): compare what they deploy with what is deployed.
    const drifted = olds.deployed !== undefined && !sameValue("deployed", olds.deployed, settingsOf(news));
    return { changes: drifted, replaces, deleteBeforeReplace: false };
  }

  /** Uploads a new Worker; refuses one that already exists unless the inputs say to adopt it. */
  async create(inputs: WorkerScriptInputs): Promise<pulumi.dynamic.CreateResult<WorkerScriptOutputs>> {
    const connection = await connectCloudflare(this.config);
    const applied = await appliedMigrationTag(connection, inputs.accountId, inputs.scriptName);
    if (applied.exists && !inputs.adoptExisting) {
      throw new Error(
        `Worker ${inputs.scriptName} already exists in account ${inputs.accountId}, and this stack did not create it: it may be ` +
          "someone else's. Choose another workerName, or, to take it over (for example a Worker first deployed with " +
          "`wrangler deploy`), run `pulumi config set --type bool adoptExistingWorker true` and `pulumi up` again.",
      );
    }
    return { id: inputs.scriptName, outs: await this.upload(connection, inputs, applied.tag) };
  }

  async update(_id: string, _olds: WorkerScriptOutputs, news: WorkerScriptInputs): Promise<pulumi.dynamic.UpdateResult<WorkerScriptOutputs>> {
    const connection = await connectCloudflare(this.config);
    const applied = await appliedMigrationTag(connection, news.accountId, news.scriptName);
    return { outs: await this.upload(connection, news, applied.tag) };
  }

  /** The Worker as deployed now: its migration tag and deployed settings; gone when it is not listed. */
  async read(id: string, props?: WorkerScriptOutputs): Promise<pulumi.dynamic.ReadResult<WorkerScriptOutputs>> {
    if (!props) throw new Error(`Worker ${id} cannot be imported: let this program create it (choose an unused workerName).`);
    const connection = await connectCloudflare(this.config);
    const { exists, tag } = await appliedMigrationTag(connection, props.accountId, id);
    if (!exists) return { id: "" };
    const deployed = deployedSettings(await fetchLiveWorker(connection, props.accountId, id), props.managedSecretNames);
    return { id, props: { ...props, migrationTag: tag ?? "", deployed } };
  }

  async delete(id: string, props: WorkerScriptOutputs): Promise<void> {
    const { client, apiToken } = await connectCloudflare(this.config);
    try {
      await client.workers.scripts.delete(id, { account_id: props.accountId, force: true });
    } catch (error) {
      if (!isNotFound(error)) throw apiFailure(`delete Worker ${id}`, error, [apiToken]);
    }
  }

  /** Uploads the assets, then the Worker with the migrations after `appliedTag`; removes the secrets no longer wanted. */
  private async upload(connection: CloudflareConnection, inputs: WorkerScriptInputs, appliedTag: string | undefined): Promise<WorkerScriptOutputs> {
    const modules = await readModules(inputs.modules);
    const migrations = migrationsToSend(inputs.migrations, appliedTag, inputs.scriptName);
    const target = { accountId: inputs.accountId, scriptName: inputs.scriptName };
    const assetsJwt = inputs.assets ? await uploadAssets(connection, target, inputs.assets) : undefined;
    const form = new FormData();
    form.append("metadata", new Blob([JSON.stringify(uploadMetadata(inputs, migrations, assetsJwt))], { type: "application/json" }));
    for (const { module, content } of modules) {
      form.append(module.name, new Blob([content], { type: module.contentType }), module.name);
    }
    let result: { deployment_id?: string; etag?: string; migration_tag?: string } | undefined;
    let subdomain: string;
    try {
      const response = (await connection.client.put(`/accounts/${inputs.accountId}/workers/scripts/${inputs.scriptName}`, {
        body: form,
      })) as { result?: { deployment_id?: string; etag?: string; migration_tag?: string } };
      result = response.result;
      subdomain = (await connection.client.workers.subdomains.get({ account_id: inputs.accountId })).subdomain;
    } catch (error) {
      throw apiFailure(`upload Worker ${inputs.scriptName}`, error, [connection.apiToken, assetsJwt, ...Object.values(inputs.secrets)]);
    }
    await removeUnwantedSecrets(connection, inputs);
    return {
      ...inputs,
      deployed: settingsOf(inputs),
      migrationTag: result?.migration_tag ?? inputs.migrations.at(-1)?.tag ?? "",
      deploymentId: result?.deployment_id ?? result?.etag ?? "",
      url: `https://${inputs.scriptName}.${subdomain}.workers.dev`,
    };
  }
}

/** The Worker upload (a Workers script with its bindings, containers and migrations). */
export class WorkerScript extends pulumi.dynamic.Resource {
  declare readonly scriptName: pulumi.Output<string>;
  declare readonly migrationTag: pulumi.Output<string>;
  declare readonly deploymentId: pulumi.Output<string>;
  declare readonly url: pulumi.Output<string>;

  constructor(name: string, args: WorkerScriptArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      new WorkerScriptProvider(),
      name,
      { ...args, deployed: undefined, migrationTag: undefined, deploymentId: undefined, url: undefined },
      { ...opts, additionalSecretOutputs: ["secrets"] },
      "claude-sandbox",
      "WorkerScript",
    );
  }
}
