/**
 * The Worker: bundled by esbuild at program run (the same function as
 * `npm run build`) and uploaded with, together, its Durable Object bindings
 * (Sandbox, Task, TaskIndex, BranchQueue) and their migrations, `containers`
 * for the Sandbox class, the R2 binding, the task rate limit, the secret
 * bindings (both auth tokens, the Claude credential, the webhook secret and,
 * when configured, the GitHub credential), the plain settings, the compatibility date and flags, observability, and the
 * web console's static assets (built at program run too); then its
 * workers.dev address is turned on. The Worker is protected unless the stack
 * says otherwise: its Durable Objects hold every task's state.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { buildConsole } from "../../console/build.js";
import { type WrittenFile, writeWorkerBundle } from "../../worker/bundle.js";
import {
  COMPATIBILITY_DATE,
  CONSOLE_ASSETS,
  COMPATIBILITY_FLAGS,
  DURABLE_OBJECT_BINDINGS,
  DURABLE_OBJECT_MIGRATIONS,
  RATE_LIMIT_BINDING,
  RESULTS_BUCKET_BINDING,
  SANDBOX_CLASS_NAME,
  SECRET_BINDINGS,
  SETTING_VARS,
  usdText,
} from "../../worker/src/contract.js";
import type { StackConfig } from "../config.js";
import { projectPath } from "../paths.js";
import { buildAssetManifest, readAssetsConfigFiles, type WorkerAssets } from "../providers/worker-assets.js";
import { type PlainBinding, WorkerScript } from "../providers/worker-script.js";

/** The settings the Worker gets as plain-text vars. */
export type WorkerSettings = Pick<
  StackConfig,
  | "allowedHosts"
  | "defaultTimeoutMs"
  | "maxTimeoutMs"
  | "permissionMode"
  | "credentialMode"
  | "queueTimeoutMs"
  | "maxOutputBytes"
  | "maxBudgetUsd"
  | "resultRetentionDays"
  | "allowWebSearch"
  | "rateLimitPerMinute"
  | "githubAppId"
  | "githubRepos"
  | "githubApiUrl"
  | "access"
>;

export interface SandboxWorkerArgs {
  accountId: string;
  workerName: string;
  bucketName: pulumi.Input<string>;
  authToken: pulumi.Output<string>;
  /** Unset before the first rotation. */
  previousAuthToken: pulumi.Output<string> | undefined;
  claudeCredential: StackConfig["claudeCredential"];
  /** The Standard Webhooks signing secret, `whsec_<base64>`. */
  webhookSecret: pulumi.Output<string>;
  /** The GitHub App's private key or a fine-grained token; undefined: no GitHub credential. */
  githubCredential: StackConfig["githubCredential"];
  settings: WorkerSettings;
  /** Whether the first upload may take over a Worker of the same name that exists already. */
  adoptExisting: boolean;
  /** Whether Pulumi refuses to delete or replace the Worker. */
  protect: boolean;
  /** Bundles the Worker to disk; the default is the deployable bundle in dist/worker/. */
  bundle?: () => Promise<{ files: WrittenFile[] }>;
  /** Builds the static assets and returns their directory (absolute); the default builds the web console. */
  buildAssets?: () => Promise<string>;
}

/** The assets input for the directory `directory` (absolute): its manifest, its routing and header files. */
export async function consoleAssets(directory: string): Promise<WorkerAssets> {
  const [manifest, files] = await Promise.all([buildAssetManifest(directory), readAssetsConfigFiles(directory)]);
  return { directory: projectPath(directory), manifest, config: { run_worker_first: [...CONSOLE_ASSETS.runWorkerFirst], ...files } };
}

/** The rate limit's period, in seconds (the API accepts 10 or 60). */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

/**
 * The rate limit's namespace id: a positive integer that must be unique in the
 * account. It is derived from the Worker's name, which is itself unique in the
 * account, so it is the same on every run of a stack and differs between
 * stacks (two names share one with a chance of about 1 in 2^31).
 */
export function rateLimitNamespaceId(workerName: string): string {
  const digest = createHash("sha256").update(`claude-sandbox/${workerName}/${RATE_LIMIT_BINDING}`).digest();
  // 1 000 000 … 2^31 - 1: a positive 32-bit integer, well away from hand-picked small ids.
  return String(1_000_000 + (digest.readUInt32BE(0) % (2 ** 31 - 1_000_000)));
}

/**
 * The plain-text settings bound as vars (never a secret); `MAX_BUDGET_USD` only
 * when there is a cap (as its canonical text, which the Worker reads back), `GITHUB_APP_ID` only with an App, `GITHUB_REPOS` only
 * when it names repositories.
 */
export function settingBindings(settings: WorkerSettings): PlainBinding[] {
  const vars: [string, string | undefined][] = [
    [SETTING_VARS.allowedHosts, settings.allowedHosts.join(",")],
    [SETTING_VARS.defaultTimeoutMs, String(settings.defaultTimeoutMs)],
    [SETTING_VARS.maxTimeoutMs, String(settings.maxTimeoutMs)],
    [SETTING_VARS.permissionMode, settings.permissionMode],
    [SETTING_VARS.credentialMode, settings.credentialMode],
    [SETTING_VARS.queueTimeoutMs, String(settings.queueTimeoutMs)],
    [SETTING_VARS.maxOutputBytes, String(settings.maxOutputBytes)],
    [SETTING_VARS.maxBudgetUsd, settings.maxBudgetUsd === undefined ? undefined : usdText(settings.maxBudgetUsd)],
    [SETTING_VARS.resultRetentionDays, String(settings.resultRetentionDays)],
    [SETTING_VARS.allowWebSearch, String(settings.allowWebSearch)],
    [SETTING_VARS.githubAppId, settings.githubAppId === undefined ? undefined : String(settings.githubAppId)],
    [SETTING_VARS.githubRepos, settings.githubRepos.length === 0 ? undefined : settings.githubRepos.join(",")],
    [SETTING_VARS.githubApiUrl, settings.githubApiUrl],
    [SETTING_VARS.accessTeamDomain, settings.access?.teamDomain],
    [SETTING_VARS.accessAudience, settings.access?.audience],
  ];
  return vars.flatMap(([name, text]) => (text === undefined ? [] : [{ type: "plain_text" as const, name, text }]));
}

/** Every non-secret binding of the upload: Durable Objects, the results bucket, the rate limit and the settings. */
export function workerBindings(workerName: string, bucketName: string, settings: WorkerSettings): PlainBinding[] {
  return [
    ...Object.entries(DURABLE_OBJECT_BINDINGS).map(([name, className]) => ({
      type: "durable_object_namespace" as const,
      name,
      class_name: className,
    })),
    { type: "r2_bucket", name: RESULTS_BUCKET_BINDING, bucket_name: bucketName },
    {
      type: "ratelimit",
      name: RATE_LIMIT_BINDING,
      namespace_id: rateLimitNamespaceId(workerName),
      simple: { limit: settings.rateLimitPerMinute, period: RATE_LIMIT_PERIOD_SECONDS },
    },
    ...settingBindings(settings),
  ];
}

export class SandboxWorker extends pulumi.ComponentResource {
  readonly scriptName: pulumi.Output<string>;
  /** The Worker's workers.dev address. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: SandboxWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("claude-sandbox:index:SandboxWorker", name, {}, opts);

    const written = pulumi.output((args.bundle ?? (() => writeWorkerBundle()))());
    const credentialBinding =
      args.claudeCredential.kind === "oauth" ? SECRET_BINDINGS.claudeOauthToken : SECRET_BINDINGS.anthropicApiKey;
    const github = args.githubCredential;
    const githubBinding = github?.kind === "app" ? SECRET_BINDINGS.githubAppPrivateKey : SECRET_BINDINGS.githubToken;
    const secrets = pulumi.secret(
      pulumi
        .all({
          [SECRET_BINDINGS.authToken]: args.authToken,
          ...(args.previousAuthToken ? { [SECRET_BINDINGS.previousAuthToken]: args.previousAuthToken } : {}),
          [credentialBinding]: args.claudeCredential.value,
          [SECRET_BINDINGS.webhookSecret]: args.webhookSecret,
          ...(github ? { [githubBinding]: github.value } : {}),
        })
        .apply((values) => values as Record<string, string>),
    );

    const script = new WorkerScript(
      `${name}-script`,
      {
        accountId: args.accountId,
        scriptName: args.workerName,
        mainModule: written.apply(({ files }) => files[0]!.name),
        modules: written.apply(({ files }) =>
          files.map(({ name: moduleName, path, contentType, sha256 }) => ({ name: moduleName, path: projectPath(path), contentType, sha256 })),
        ),
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: [...COMPATIBILITY_FLAGS],
        bindings: pulumi.output(args.bucketName).apply((bucketName) => workerBindings(args.workerName, bucketName, args.settings)),
        secrets,
        managedSecretNames: Object.values(SECRET_BINDINGS),
        containerClasses: [SANDBOX_CLASS_NAME],
        migrations: DURABLE_OBJECT_MIGRATIONS,
        observability: true,
        assets: pulumi.output((args.buildAssets ?? buildConsole)()).apply(consoleAssets),
        adoptExisting: args.adoptExisting,
      },
      { parent: this, protect: args.protect },
    );

    const workersDev = new cloudflare.WorkersScriptSubdomain(
      `${name}-workers-dev`,
      { accountId: args.accountId, scriptName: script.scriptName, enabled: true, previewsEnabled: false },
      { parent: this, dependsOn: [script] },
    );

    this.scriptName = script.scriptName;
    // The address answers once the workers.dev route is on.
    this.url = pulumi.all([script.url, workersDev.enabled]).apply(([url]) => url);
    this.registerOutputs({ scriptName: this.scriptName, url: this.url });
  }
}
