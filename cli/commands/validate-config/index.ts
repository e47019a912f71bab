/**
 * `validate-config [dir]`: checks a checkout before a deployment, each check
 * judged by the checkout's own code where it has one:
 *
 * - `pulumi-yaml`: Pulumi.yaml runs the program in `main`, and declares, typed
 *   and described, exactly the keys (and defaults) `infra/config.ts` reads;
 * - `stack-<name>`, one per Pulumi.<name>.yaml: only known keys, values that
 *   `parseConfig` of `infra/config.ts` accepts (Pulumi.yaml's defaults merged),
 *   credentials stored as secrets. Secure values are never decrypted: they
 *   count as set and secret. Plaintext credentials are never printed;
 * - `dockerfile-base`: the sandbox base image tag is the @cloudflare/sandbox version;
 * - `claude-code-pin`: the image installs the exact Claude Code devDependency;
 * - `worker-exports`: worker/src/index.ts exports every Durable Object class
 *   of the contract, ContainerProxy and a default handler (read by esbuild, not
 *   by a pattern);
 * - `bindings`: worker/wrangler.jsonc uses the names of worker/src/contract.ts:
 *   the Durable Object bindings, the migrations in their order, the container's
 *   class, the R2 bucket, the rate limit and the compatibility settings.
 *
 * A missing or broken file fails its check with a message; it never stops the others.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { type CommandResult, failure, UsageError } from "../../lib/result.js";
import { type ConfigCheck, loadConfigModule, loadContractModule, readText } from "./checkout.js";
import { checkClaudeCodePin, checkDockerfileBase, DOCKERFILE, readPackageJson } from "./dockerfile.js";
import { checkPulumiYaml } from "./pulumi-yaml.js";
import { checkStack, stackFiles } from "./stack-file.js";
import { checkWorkerExports } from "./worker-entry.js";
import { checkBindings } from "./wrangler.js";

export type { ConfigCheck } from "./checkout.js";

export interface ValidateConfigOptions {
  /** The checkout to check. */
  dir: string;
}

/** Resolves the directory to check; a missing one is a usage mistake. */
export function resolveCheckout(dir: string): string {
  const absolute = resolve(dir);
  let isDirectory = false;
  try {
    isDirectory = statSync(absolute).isDirectory();
  } catch {
    // Reported below.
  }
  if (!isDirectory) throw new UsageError("directory_not_found", `No directory at ${dir}`, "Give the path of a claude-sandbox checkout (the directory with Pulumi.yaml), or run the command inside it");
  return absolute;
}

export async function validateConfig(options: ValidateConfigOptions): Promise<CommandResult> {
  const dir = resolveCheckout(options.dir);
  const [config, contract] = await Promise.all([loadConfigModule(dir), loadContractModule(dir)]);
  const secrets: string[] = [];

  const project = checkPulumiYaml(dir, config);
  const stacks = stackFiles(dir).map(({ file, stack }) => checkStack(dir, file, stack, config, project.defaults, secrets));
  const dockerfile = readText(dir, DOCKERFILE);
  const pkg = readPackageJson(dir);
  const checks: ConfigCheck[] = [
    project.check,
    ...stacks,
    checkDockerfileBase(dockerfile, pkg),
    checkClaudeCodePin(dockerfile, pkg),
    await checkWorkerExports(dir, contract),
    checkBindings(dir, contract),
  ];
  const failed = checks.filter((check) => !check.ok);
  if (failed.length === 0) return { output: { success: true, dir, checks }, ok: true, secrets };
  const summary = failure({
    code: "config_invalid",
    error: `${failed.length} of ${checks.length} checks failed: ${failed.map((check) => check.name).join(", ")}`,
    hint: [...new Set(failed.map((check) => check.hint ?? ""))].filter(Boolean).join("; "),
  });
  return { output: { ...summary, dir, checks }, ok: false, secrets };
}
