/**
 * The Worker: bundled by esbuild at program run (the same function as
 * `npm run build`) and uploaded with, together, the Sandbox Durable Object
 * binding and its migration, `containers` for that class, the R2 binding, the
 * secret bindings (both auth tokens and the Claude credential), the plain
 * settings, the compatibility date and flags, and observability; then its
 * workers.dev address is turned on.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { type WrittenFile, writeWorkerBundle } from "../../worker/bundle.js";
import {
  COMPATIBILITY_DATE,
  COMPATIBILITY_FLAGS,
  RESULTS_BUCKET_BINDING,
  SANDBOX_BINDING,
  SANDBOX_CLASS_NAME,
  SANDBOX_MIGRATION_TAG,
  SECRET_BINDINGS,
  SETTING_VARS,
} from "../../worker/src/contract.js";
import type { StackConfig } from "../config.js";
import { type PlainBinding, WorkerScript } from "../providers/worker-script.js";

export interface SandboxWorkerArgs {
  accountId: string;
  workerName: string;
  bucketName: pulumi.Input<string>;
  authToken: pulumi.Output<string>;
  /** Unset before the first rotation. */
  previousAuthToken: pulumi.Output<string> | undefined;
  claudeCredential: StackConfig["claudeCredential"];
  settings: Pick<StackConfig, "allowedHosts" | "defaultTimeoutMs" | "maxTimeoutMs" | "permissionMode" | "credentialMode">;
  /** Bundles the Worker to disk; the default is the deployable bundle in dist/worker/. */
  bundle?: () => Promise<{ files: WrittenFile[] }>;
}

/** The plain-text settings bound as vars (never a secret). */
export function settingBindings(settings: SandboxWorkerArgs["settings"]): PlainBinding[] {
  return [
    { type: "plain_text", name: SETTING_VARS.allowedHosts, text: settings.allowedHosts.join(",") },
    { type: "plain_text", name: SETTING_VARS.defaultTimeoutMs, text: String(settings.defaultTimeoutMs) },
    { type: "plain_text", name: SETTING_VARS.maxTimeoutMs, text: String(settings.maxTimeoutMs) },
    { type: "plain_text", name: SETTING_VARS.permissionMode, text: settings.permissionMode },
    { type: "plain_text", name: SETTING_VARS.credentialMode, text: settings.credentialMode },
  ];
}

export class SandboxWorker extends pulumi.ComponentResource {
  readonly scriptName: pulumi.Output<string>;
  /** The Worker's workers.dev address. */
  readonly url: pulumi.Output<string>;
  /** Id of the deployment the last upload created. */
  readonly deploymentId: pulumi.Output<string>;

  constructor(name: string, args: SandboxWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("claude-sandbox:index:SandboxWorker", name, {}, opts);

    const written = pulumi.output((args.bundle ?? (() => writeWorkerBundle()))());
    const credentialBinding =
      args.claudeCredential.kind === "oauth" ? SECRET_BINDINGS.claudeOauthToken : SECRET_BINDINGS.anthropicApiKey;
    const secrets = pulumi.secret(
      pulumi
        .all({
          [SECRET_BINDINGS.authToken]: args.authToken,
          ...(args.previousAuthToken ? { [SECRET_BINDINGS.previousAuthToken]: args.previousAuthToken } : {}),
          [credentialBinding]: args.claudeCredential.value,
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
          files.map(({ name: moduleName, path, contentType, sha256 }) => ({ name: moduleName, path, contentType, sha256 })),
        ),
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: [...COMPATIBILITY_FLAGS],
        bindings: pulumi.output(args.bucketName).apply((bucketName): PlainBinding[] => [
          { type: "durable_object_namespace", name: SANDBOX_BINDING, class_name: SANDBOX_CLASS_NAME },
          { type: "r2_bucket", name: RESULTS_BUCKET_BINDING, bucket_name: bucketName },
          ...settingBindings(args.settings),
        ]),
        secrets,
        containerClasses: [SANDBOX_CLASS_NAME],
        migration: { tag: SANDBOX_MIGRATION_TAG, newSqliteClasses: [SANDBOX_CLASS_NAME] },
        observability: true,
      },
      { parent: this },
    );

    const workersDev = new cloudflare.WorkersScriptSubdomain(
      `${name}-workers-dev`,
      { accountId: args.accountId, scriptName: script.scriptName, enabled: true, previewsEnabled: false },
      { parent: this, dependsOn: [script] },
    );

    this.scriptName = script.scriptName;
    this.deploymentId = script.deploymentId;
    // The address answers once the workers.dev route is on.
    this.url = pulumi.all([script.url, workersDev.enabled]).apply(([url]) => url);
    this.registerOutputs({ scriptName: this.scriptName, url: this.url, deploymentId: this.deploymentId });
  }
}
