/**
 * A Pulumi dynamic provider that uploads the Worker the way `wrangler deploy`
 * does for container Workers: one multipart `PUT /accounts/{id}/workers/scripts/{name}`
 * whose metadata carries, together, the bindings (the Sandbox Durable Object,
 * R2, secrets, settings), `containers: [{class_name}]` and the Durable Object
 * migration. That endpoint applies the migration atomically with the upload, so
 * a new SQLite class and the binding to it can be created in one step. The
 * native `cloudflare.WorkerVersion` cannot do that (it defers migrations to the
 * deployment and rejects a binding to a class the same version creates), and
 * `cloudflare.WorkersScript` has no `containers`; see docs/architecture.md.
 *
 * The migration is sent only while the Worker's applied migration tag is not
 * yet the one asked for, as wrangler does. Module files are read from disk at
 * upload time and checked against the SHA-256 recorded at planning time, so
 * state holds digests, not code. Secret bindings stay secret in state
 * (`additionalSecretOutputs`).
 */
import * as pulumi from "@pulumi/pulumi";
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
  /** Absolute path of the file. */
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
  | { type: "plain_text"; name: string; text: string };

/** The Durable Object migration the Worker needs. */
export interface WorkerMigration {
  tag: string;
  newSqliteClasses: string[];
}

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
  /** Durable Object classes backed by containers. */
  containerClasses: string[];
  migration: WorkerMigration;
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
  "containerClasses",
  "migration",
  "observability",
] as const;

/** Compares two JSON-like values by content. */
function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
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
    throw apiFailure(`read Worker ${scriptName}`, error, apiToken);
  }
}

/** The migration to send, given the tag the Worker has now. */
export function migrationToSend(
  wanted: WorkerMigration,
  applied: string | undefined,
  scriptName: string,
): { new_tag: string; new_sqlite_classes: string[] } | undefined {
  if (applied === wanted.tag) return undefined;
  if (applied !== undefined) {
    throw new Error(
      `Worker ${scriptName} has Durable Object migration tag "${applied}", not "${wanted.tag}": it was not deployed by this program. Choose another workerName, or delete that Worker.`,
    );
  }
  return { new_tag: wanted.tag, new_sqlite_classes: wanted.newSqliteClasses };
}

/** The upload's metadata part. */
export function uploadMetadata(inputs: WorkerScriptInputs, migration: ReturnType<typeof migrationToSend>): Record<string, unknown> {
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
    ...(migration ? { migrations: migration } : {}),
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

export class WorkerScriptProvider implements pulumi.dynamic.ResourceProvider<WorkerScriptInputs, WorkerScriptOutputs> {
  private config: ProviderConfigSource | undefined;

  async configure(request: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.config = request.config;
  }

  async diff(_id: string, olds: WorkerScriptOutputs, news: WorkerScriptInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = REPLACE_ON.filter((key) => !sameValue(olds[key], news[key]));
    const updates = UPLOAD_ON.filter((key) => !sameValue(olds[key], news[key]));
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
      if (!isNotFound(error)) throw apiFailure(`delete Worker ${id}`, error, apiToken);
    }
  }

  private async upload(inputs: WorkerScriptInputs): Promise<WorkerScriptOutputs> {
    const connection = await connectCloudflare(this.config);
    const modules = await readModules(inputs.modules);
    const applied = await appliedMigrationTag(connection, inputs.accountId, inputs.scriptName);
    const migration = migrationToSend(inputs.migration, applied.tag, inputs.scriptName);
    const form = new FormData();
    form.append("metadata", new Blob([JSON.stringify(uploadMetadata(inputs, migration))], { type: "application/json" }));
    for (const { module, content } of modules) {
      form.append(module.name, new Blob([content], { type: module.contentType }), module.name);
    }
    try {
      const response = (await connection.client.put(`/accounts/${inputs.accountId}/workers/scripts/${inputs.scriptName}`, {
        body: form,
      })) as { result?: { deployment_id?: string; etag?: string; migration_tag?: string } };
      const subdomain = await connection.client.workers.subdomains.get({ account_id: inputs.accountId });
      return {
        ...inputs,
        migrationTag: response.result?.migration_tag ?? inputs.migration.tag,
        deploymentId: response.result?.deployment_id ?? response.result?.etag ?? "",
        url: `https://${inputs.scriptName}.${subdomain.subdomain}.workers.dev`,
      };
    } catch (error) {
      throw apiFailure(`upload Worker ${inputs.scriptName}`, error, connection.apiToken);
    }
  }
}

/** The Worker upload (a Workers script with its bindings, containers and migration). */
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
