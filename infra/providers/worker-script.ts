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
 * another checkout is no change. Secret bindings stay secret in state
 * (`additionalSecretOutputs`) and never appear in an error message.
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

/** A module of the upload, read from `path` at upload time. */
export interface WorkerModule {
  /** Module name in the upload, e.g. `index.js`. */
  name: string;
  /** Absolute path of the file; where it lives is not part of the diff. */
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
}

/** What state keeps of an upload. */
export interface WorkerScriptOutputs extends WorkerScriptInputs {
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
] as const;

/** Compares two values of a property by content; modules by name, type and digest, wherever they were written. */
function sameValue(key: string, a: unknown, b: unknown): boolean {
  const comparable = (value: unknown) =>
    key === "modules" && Array.isArray(value)
      ? value.map(({ name, contentType, sha256 }: WorkerModule) => ({ name, contentType, sha256 }))
      : value;
  return JSON.stringify(canonical(comparable(a))) === JSON.stringify(canonical(comparable(b)));
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

/** The upload's metadata part. */
function uploadMetadata(inputs: WorkerScriptInputs, migrations: MigrationsToSend | undefined): Record<string, unknown> {
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
  };
}

/** Reads each module and checks it is the content the program planned with. */
async function readModules(modules: WorkerModule[]): Promise<{ module: WorkerModule; content: Buffer }[]> {
  const { readFile } = process.getBuiltinModule("node:fs/promises");
  const { createHash } = process.getBuiltinModule("node:crypto");
  return Promise.all(
    modules.map(async (module) => {
      const content = await readFile(module.path);
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

  async diff(_id: string, olds: WorkerScriptOutputs, news: WorkerScriptInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = REPLACE_ON.filter((key) => !sameValue(key, olds[key], news[key]));
    const updates = UPLOAD_ON.filter((key) => !sameValue(key, olds[key], news[key]));
    return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
  }

  async create(inputs: WorkerScriptInputs): Promise<pulumi.dynamic.CreateResult<WorkerScriptOutputs>> {
    const outs = await this.upload(inputs);
    return { id: inputs.scriptName, outs };
  }

  async update(_id: string, _olds: WorkerScriptOutputs, news: WorkerScriptInputs): Promise<pulumi.dynamic.UpdateResult<WorkerScriptOutputs>> {
    return { outs: await this.upload(news) };
  }

  async read(id: string, props?: WorkerScriptOutputs): Promise<pulumi.dynamic.ReadResult<WorkerScriptOutputs>> {
    if (!props) throw new Error(`Worker ${id} cannot be imported: let this program create it (choose an unused workerName).`);
    const { exists, tag } = await appliedMigrationTag(await connectCloudflare(this.config), props.accountId, id);
    return exists ? { id, props: { ...props, migrationTag: tag ?? "" } } : { id: "" };
  }

  async delete(id: string, props: WorkerScriptOutputs): Promise<void> {
    const { client, apiToken } = await connectCloudflare(this.config);
    try {
      await client.workers.scripts.delete(id, { account_id: props.accountId, force: true });
    } catch (error) {
      if (!isNotFound(error)) throw apiFailure(`delete Worker ${id}`, error, [apiToken]);
    }
  }

  private async upload(inputs: WorkerScriptInputs): Promise<WorkerScriptOutputs> {
    const connection = await connectCloudflare(this.config);
    const modules = await readModules(inputs.modules);
    const applied = await appliedMigrationTag(connection, inputs.accountId, inputs.scriptName);
    const migrations = migrationsToSend(inputs.migrations, applied.tag, inputs.scriptName);
    const form = new FormData();
    form.append("metadata", new Blob([JSON.stringify(uploadMetadata(inputs, migrations))], { type: "application/json" }));
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
      throw apiFailure(`upload Worker ${inputs.scriptName}`, error, [connection.apiToken, ...Object.values(inputs.secrets)]);
    }
    await removeUnwantedSecrets(connection, inputs);
    return {
      ...inputs,
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
      { ...args, migrationTag: undefined, deploymentId: undefined, url: undefined },
      { ...opts, additionalSecretOutputs: ["secrets"] },
      "claude-sandbox",
      "WorkerScript",
    );
  }
}
