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
import { build } from "esbuild";
import { type ParseError, parse as parseJsonc, printParseErrorCode } from "jsonc-parser";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { type CommandResult, type Json, UsageError } from "../lib/result.js";

export interface ValidateConfigOptions {
  /** The checkout to check. */
  dir: string;
}

/** One check's outcome; `hint` says what to do, null when it passed. */
export interface ConfigCheck {
  name: string;
  ok: boolean;
  message: string;
  hint: string | null;
  [key: string]: Json | undefined;
}

interface Problem {
  message: string;
  hint: string;
}

/** What the check needs of `infra/config.ts`. */
interface ConfigModule {
  PROJECT: string;
  CONFIG_KEYS: readonly string[];
  CONFIG_DEFAULTS: Record<string, unknown>;
  parseConfig(source: { get(key: string): string | undefined; isSecret?(key: string): boolean | undefined }, stack: string): unknown;
  ConfigError: new (key: string, problem: string) => Error;
  /** The keys whose values must be set as secrets. */
  SECRET_CONFIG_KEYS?: readonly string[];
}

/** What the check needs of `worker/src/contract.ts`. */
interface ContractModule {
  /** The class the container is attached to. */
  SANDBOX_CLASS_NAME: string;
  /** Binding name → Durable Object class name. */
  DURABLE_OBJECT_BINDINGS: Readonly<Record<string, string>>;
  /** Every migration, oldest first. */
  DURABLE_OBJECT_MIGRATIONS: readonly { tag: string; newSqliteClasses: readonly string[] }[];
  RATE_LIMIT_BINDING: string;
  RESULTS_BUCKET_BINDING: string;
  COMPATIBILITY_DATE: string;
  COMPATIBILITY_FLAGS: readonly string[];
}

type Loaded<T> = { module: T; error?: undefined } | { module?: undefined; error: string };

const PROJECT_NAME = "claude-sandbox";
const CONFIG_MODULE = "infra/config.ts";
const CONTRACT_MODULE = "worker/src/contract.ts";
const DOCKERFILE = "container/Dockerfile";
const WORKER_ENTRY = "worker/src/index.ts";
const WRANGLER = "worker/wrangler.jsonc";
/** The Claude credential's keys: one of them must be set. */
const CREDENTIAL_KEYS = ["claudeOauthToken", "anthropicApiKey"] as const;

/** An RSA key that stands in for an encrypted GitHub App key (the program checks the key is one). */
let placeholderKey: string | undefined;
function rsaPlaceholder(): string {
  placeholderKey ??= generateKeyPairSync("rsa", { modulusLength: 1024, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
  return placeholderKey;
}
/** Stands in for a secure (encrypted) value, which is never decrypted. */
const SECURE_PLACEHOLDER = "secure-value-not-decrypted";
/** Stands in for a missing account id so that the other keys are still judged. */
const ACCOUNT_PLACEHOLDER = "0".repeat(32);
/** The Pulumi types a project config key may declare. */
const PULUMI_TYPES = ["string", "integer", "boolean", "array", "object"];
const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function finish(name: string, problems: Problem[], okMessage: string, extra: { [key: string]: Json | undefined } = {}): ConfigCheck {
  if (problems.length === 0) return { name, ok: true, message: okMessage, hint: null, ...extra };
  const hints = [...new Set(problems.map((problem) => problem.hint))];
  return { name, ok: false, message: problems.map((problem) => problem.message).join("; "), hint: hints.join("; "), ...extra };
}

function fail(name: string, message: string, hint: string): ConfigCheck {
  return { name, ok: false, message, hint };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A file of the checkout, or null when it is not there. */
function readText(dir: string, file: string): string | null {
  const path = join(dir, file);
  try {
    return statSync(path).isFile() ? readFileSync(path, "utf8") : null;
  } catch {
    return null;
  }
}

let typeScriptImports: Promise<void> | undefined;

/**
 * Lets this process import TypeScript: run from its sources (tsx, vitest) it
 * already can; the built CLI registers tsx the first time it needs to.
 */
function enableTypeScriptImports(): Promise<void> {
  typeScriptImports ??= import.meta.url.endsWith(".ts") ? Promise.resolve() : import("tsx/esm/api").then(({ register }) => void register());
  return typeScriptImports;
}

/** Imports a TypeScript module of the checked directory. */
async function importFromDir<T>(dir: string, file: string, validate: (module: Record<string, unknown>) => string | null): Promise<Loaded<T>> {
  const path = join(dir, file);
  if (!existsSync(path)) return { error: `${file} not found` };
  let module: Record<string, unknown>;
  try {
    await enableTypeScriptImports();
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    return { error: `${file} could not be loaded: ${errorText(error)}` };
  }
  const problem = validate(module);
  return problem === null ? { module: module as T } : { error: `${file} ${problem}` };
}

function loadConfigModule(dir: string): Promise<Loaded<ConfigModule>> {
  return importFromDir<ConfigModule>(dir, CONFIG_MODULE, (module) => {
    const missing = [
      typeof module.PROJECT === "string" ? null : "PROJECT",
      Array.isArray(module.CONFIG_KEYS) ? null : "CONFIG_KEYS",
      isRecord(module.CONFIG_DEFAULTS) ? null : "CONFIG_DEFAULTS",
      typeof module.parseConfig === "function" ? null : "parseConfig",
      typeof module.ConfigError === "function" ? null : "ConfigError",
    ].filter((name) => name !== null);
    return missing.length === 0 ? null : `does not export ${missing.join(", ")}`;
  });
}

function loadContractModule(dir: string): Promise<Loaded<ContractModule>> {
  return importFromDir<ContractModule>(dir, CONTRACT_MODULE, (module) => {
    const names = ["SANDBOX_CLASS_NAME", "RATE_LIMIT_BINDING", "RESULTS_BUCKET_BINDING", "COMPATIBILITY_DATE"];
    const missing = names.filter((name) => typeof module[name] !== "string");
    if (!isRecord(module.DURABLE_OBJECT_BINDINGS)) missing.push("DURABLE_OBJECT_BINDINGS");
    if (!Array.isArray(module.DURABLE_OBJECT_MIGRATIONS)) missing.push("DURABLE_OBJECT_MIGRATIONS");
    if (!Array.isArray(module.COMPATIBILITY_FLAGS)) missing.push("COMPATIBILITY_FLAGS");
    return missing.length === 0 ? null : `does not export ${missing.join(", ")}`;
  });
}

/** A config value as the Pulumi SDK hands it to the program: text, JSON for lists and objects. */
function configText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Whether a stack file value is an encrypted one (`{ secure: "…" }`). */
function isSecure(value: unknown): boolean {
  return isRecord(value) && Object.keys(value).length === 1 && typeof value.secure === "string";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  return known.find((candidate) => candidate.toLowerCase() === lower) ?? known.find((candidate) => editDistance(candidate.toLowerCase(), lower) <= 2);
}

// ---------------------------------------------------------------------------
// Pulumi.yaml

interface ProjectFacts {
  check: ConfigCheck;
  /** The declared defaults, as config text, to merge under each stack's values. */
  defaults: Record<string, string>;
}

function checkPulumiYaml(dir: string, config: Loaded<ConfigModule>): ProjectFacts {
  const name = "pulumi-yaml";
  const defaults: Record<string, string> = {};
  const file = ["Pulumi.yaml", "Pulumi.yml"].find((candidate) => readText(dir, candidate) !== null);
  const text = file === undefined ? null : readText(dir, file);
  if (file === undefined || text === null) {
    return {
      check: fail(name, `Pulumi.yaml not found in ${dir}`, "Run validate-config in the repository root (the directory with Pulumi.yaml), or restore it: `git checkout -- Pulumi.yaml`"),
      defaults,
    };
  }
  let project: unknown;
  try {
    project = parseYaml(text);
  } catch (error) {
    return { check: fail(name, `${file} is not valid YAML: ${errorText(error)}`, `Fix the YAML syntax of ${file}`), defaults };
  }
  if (!isRecord(project)) return { check: fail(name, `${file} is not a YAML mapping`, `Restore ${file}: \`git checkout -- ${file}\``), defaults };

  const problems: Problem[] = [];
  const expectedName = config.module?.PROJECT ?? PROJECT_NAME;
  if (project.name !== expectedName) {
    problems.push({
      message: `name is ${JSON.stringify(project.name ?? null)}, not "${expectedName}" (the namespace of every config key)`,
      hint: `Set \`name: ${expectedName}\` in ${file}`,
    });
  }
  const runtime = isRecord(project.runtime) ? project.runtime.name : project.runtime;
  if (runtime !== "nodejs") {
    problems.push({ message: `runtime is ${JSON.stringify(runtime ?? null)}, not nodejs`, hint: `Set \`runtime: { name: nodejs }\` in ${file}` });
  }
  if (typeof project.main !== "string" || project.main.trim() === "") {
    problems.push({ message: "main is not set, so Pulumi would look for the program in the repository root", hint: `Set \`main: infra/index.ts\` in ${file}` });
  } else {
    // The program's entry file, or a directory whose index.ts is.
    const main = join(dir, project.main);
    const entry = existsSync(main) && statSync(main).isDirectory() ? join(main, "index.ts") : main;
    if (!/\.[cm]?[jt]s$/.test(entry) || !existsSync(entry) || !statSync(entry).isFile()) {
      problems.push({
        message: `main is "${project.main}", which is neither the program's entry file nor a directory with index.ts`,
        hint: `Point \`main\` in ${file} at the program (infra/index.ts)`,
      });
    }
  }

  const declarations: Record<string, unknown> = {};
  if (!isRecord(project.config)) {
    problems.push({ message: `${file} declares no config keys`, hint: `Restore the \`config:\` section of ${file}: \`git checkout -- ${file}\`` });
  } else {
    for (const [rawKey, schema] of Object.entries(project.config)) {
      // Values for other namespaces (a provider's keys) are settings, not declarations of the program.
      const colon = rawKey.indexOf(":");
      if (colon !== -1 && rawKey.slice(0, colon) !== expectedName) continue;
      const key = colon === -1 ? rawKey : rawKey.slice(colon + 1);
      declarations[key] = schema;
      if (!isRecord(schema)) {
        problems.push({ message: `config key ${key} is a bare value, not a declaration with type and description`, hint: `Declare ${key} in ${file} with \`type:\`, \`description:\` and \`default:\`` });
        continue;
      }
      if (typeof schema.type !== "string" || !PULUMI_TYPES.includes(schema.type)) {
        problems.push({
          message: `config key ${key} has ${schema.type === undefined ? "no type" : `type ${JSON.stringify(schema.type)}, not one of ${PULUMI_TYPES.join(", ")}`}`,
          hint: `Give ${key} a \`type:\` in ${file}`,
        });
      }
      if (typeof schema.description !== "string" || schema.description.trim() === "") {
        problems.push({ message: `config key ${key} has no description`, hint: `Give ${key} a \`description:\` in ${file} (what it does and what it accepts)` });
      }
      if ("default" in schema) defaults[key] = configText(schema.default);
    }
  }

  if (config.error !== undefined) {
    problems.push({ message: `cannot compare with the program: ${config.error}`, hint: `Run \`npm ci\` in ${dir}, and fix ${CONFIG_MODULE}` });
  } else if (isRecord(project.config)) {
    const programKeys = config.module.CONFIG_KEYS;
    for (const key of programKeys) {
      if (!(key in declarations)) {
        problems.push({ message: `config key ${key} is read by ${CONFIG_MODULE} but not declared`, hint: `Declare ${key} in ${file} (type, description, default)` });
      }
    }
    for (const key of Object.keys(declarations)) {
      if (!programKeys.includes(key)) {
        problems.push({ message: `config key ${key} is declared but ${CONFIG_MODULE} does not read it`, hint: `Remove ${key} from ${file}, or read it in ${CONFIG_MODULE}` });
      }
    }
    for (const [key, programDefault] of Object.entries(config.module.CONFIG_DEFAULTS)) {
      const schema = declarations[key];
      if (!isRecord(schema)) continue;
      if (!("default" in schema)) {
        problems.push({
          message: `config key ${key} has no default, so Pulumi would require it; the program's default is ${JSON.stringify(programDefault)}`,
          hint: `Set \`default: ${JSON.stringify(programDefault)}\` for ${key} in ${file}`,
        });
      } else if (!isDeepStrictEqual(schema.default, programDefault)) {
        problems.push({
          message: `config key ${key} defaults to ${JSON.stringify(schema.default)} but ${CONFIG_MODULE} to ${JSON.stringify(programDefault)}`,
          hint: `Make the default of ${key} the same in ${file} and ${CONFIG_MODULE}`,
        });
      }
    }
  }
  const keyCount = Object.keys(declarations).length;
  return { check: finish(name, problems, `${file} runs ${String(project.main)} with nodejs and declares the ${keyCount} keys ${CONFIG_MODULE} reads, each typed and described`), defaults };
}

// ---------------------------------------------------------------------------
// Pulumi.<stack>.yaml

function stackFiles(dir: string): { file: string; stack: string }[] {
  return readdirSync(dir)
    .map((file) => ({ file, stack: /^Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1] }))
    .filter((entry): entry is { file: string; stack: string } => entry.stack !== undefined)
    .sort((a, b) => a.file.localeCompare(b.file));
}

function checkStack(dir: string, file: string, stack: string, config: Loaded<ConfigModule>, projectDefaults: Record<string, string>, secrets: string[]): ConfigCheck {
  const name = `stack-${stack}`;
  const text = readText(dir, file);
  if (text === null) return fail(name, `${file} could not be read`, `Check the permissions of ${file}`);
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    return fail(name, `${file} is not valid YAML: ${errorText(error)}`, `Fix the YAML syntax of ${file}`);
  }
  if (parsed !== null && !isRecord(parsed)) return fail(name, `${file} is not a YAML mapping`, `Fix ${file}: it holds \`config:\` with namespaced keys`);
  const entries = parsed?.config ?? {};
  if (!isRecord(entries)) return fail(name, `${file}: \`config\` is not a mapping`, `Fix ${file}: \`config:\` maps namespaced keys to values`);
  if (config.error !== undefined) {
    return fail(name, `${file} cannot be judged: ${config.error}`, `Run \`npm ci\` in ${dir}, and fix ${CONFIG_MODULE}`);
  }
  const { PROJECT, CONFIG_KEYS, ConfigError, parseConfig } = config.module;
  /** The keys whose values must be stored encrypted (the program's list, when it has one). */
  const secretConfigKeys: readonly string[] = config.module.SECRET_CONFIG_KEYS ?? CREDENTIAL_KEYS;
  const placeholderFor = (key: string) => (key === "githubAppPrivateKey" ? rsaPlaceholder() : SECURE_PLACEHOLDER);
  const configError = (key: string, problem: string): string => new ConfigError(key, problem).message;
  const environments = parsed?.environment;
  const importsEnvironment = environments !== undefined && environments !== null;

  const problems: Problem[] = [];
  const notes: string[] = [];
  const values: Record<string, string> = {};
  /** Keys parseConfig is told are secret; `encrypted`: keys the file really stores encrypted. */
  const secretKeys = new Set<string>();
  const encrypted = new Set<string>();
  for (const [fullKey, value] of Object.entries(entries)) {
    const colon = fullKey.indexOf(":");
    const namespace = colon === -1 ? "" : fullKey.slice(0, colon);
    const key = fullKey.slice(colon + 1);
    const secure = isSecure(value);
    if (namespace === "cloudflare") {
      if (key === "apiToken" && !secure && configText(value) !== "") {
        secrets.push(configText(value));
        problems.push({
          message: "cloudflare:apiToken is stored in plain text",
          hint: `Store it encrypted: \`pulumi config set --secret cloudflare:apiToken <token> --stack ${stack}\`, and roll the token (it was written in plain text)`,
        });
      }
      continue;
    }
    if (namespace !== PROJECT || !CONFIG_KEYS.includes(key)) {
      const suggestion = namespace === PROJECT || namespace === "" ? closest(key, CONFIG_KEYS) : undefined;
      problems.push({
        message:
          namespace === ""
            ? `${fullKey} is not a namespaced key (<namespace>:<name>)`
            : namespace === PROJECT
              ? configError(key, "is not a key of this program")
              : `${fullKey} is not a key of this project (${PROJECT}:*) or of the Cloudflare provider (cloudflare:*)`,
        hint: `Remove it: \`pulumi config rm ${fullKey} --stack ${stack}\`${suggestion ? ` (did you mean ${PROJECT}:${suggestion}?)` : ""}`,
      });
      continue;
    }
    if (secure) {
      secretKeys.add(key);
      encrypted.add(key);
      if (secretConfigKeys.includes(key)) values[key] = placeholderFor(key);
      else if (key === "accountId") values[key] = ACCOUNT_PLACEHOLDER;
      else notes.push(`${key} is encrypted, so its value is not checked`);
      continue;
    }
    const plain = configText(value);
    values[key] = plain;
    if (secretConfigKeys.includes(key) && plain.trim() !== "") {
      secrets.push(plain);
      problems.push({
        message: configError(key, `is stored in plain text: set it with \`pulumi config set --secret ${key} <value>\``),
        hint: `Store it encrypted: \`pulumi config set --secret ${key} <value> --stack ${stack}\`, and roll the credential (it was written in plain text)`,
      });
      // Judged as a secret from here on, so the same problem is not reported twice.
      values[key] = placeholderFor(key);
      secretKeys.add(key);
    }
  }

  // The program's own validation, on Pulumi.yaml's defaults overlaid with the stack's values.
  // It stops at the first mistake: set that key aside and ask again, to report them all.
  const working: Record<string, string> = { ...projectDefaults, ...values };
  const seen = new Set<string>();
  for (let round = 0; round <= CONFIG_KEYS.length + 1; round += 1) {
    try {
      parseConfig({ get: (key) => working[key], isSecret: (key) => secretKeys.has(key) }, stack);
      break;
    } catch (error) {
      const message = errorText(error);
      const key = new RegExp(`^Invalid config ${PROJECT}:(\\w+):`).exec(message)?.[1];
      const isConfigError = error instanceof ConfigError || (error instanceof Error && error.name === "ConfigError");
      if (!isConfigError || key === undefined || seen.has(key)) {
        problems.push({ message: isConfigError ? message : `${CONFIG_MODULE} parseConfig failed: ${message}`, hint: `Fix ${file} or ${CONFIG_MODULE}` });
        break;
      }
      seen.add(key);
      const credentialMissing = (CREDENTIAL_KEYS as readonly string[]).includes(key) && CREDENTIAL_KEYS.every((credential) => !(working[credential] ?? "").trim());
      const missing = key === "accountId" ? !(working.accountId ?? "").trim() : credentialMissing;
      if (missing && importsEnvironment) {
        notes.push(`${key === "accountId" ? "accountId" : "the Claude credential"} is not in ${file}; it may come from the imported environment`);
      } else if (key === "accountId" && missing) {
        problems.push({ message, hint: `pulumi config set accountId <id> --stack ${stack}` });
      } else if (credentialMissing) {
        problems.push({ message, hint: `pulumi config set --secret claudeOauthToken <token from \`claude setup-token\`> --stack ${stack} (or anthropicApiKey)` });
      } else {
        problems.push({ message, hint: `pulumi config set ${key} <value> --stack ${stack} (docs/configuration.md lists what each key accepts)` });
      }
      if (key === "accountId") working.accountId = ACCOUNT_PLACEHOLDER;
      else if (credentialMissing) {
        working.claudeOauthToken = SECURE_PLACEHOLDER;
        secretKeys.add("claudeOauthToken");
      } else delete working[key];
    }
  }
  const setKeys = Object.keys(entries).length;
  const okMessage = `${file}: ${setKeys} key${setKeys === 1 ? "" : "s"} set, all known and valid${encrypted.size > 0 ? `, ${[...encrypted].sort().join(", ")} encrypted` : ""}`;
  return finish(name, problems, notes.length > 0 ? `${okMessage} (${notes.join("; ")})` : okMessage, { file });
}

// ---------------------------------------------------------------------------
// container/Dockerfile

/** The Dockerfile's instructions: continuation lines joined, comments dropped, ARG defaults substituted. */
function dockerInstructions(text: string): string[] {
  const lines = text
    .split(/\r?\n/)
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\r?\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  const args: Record<string, string> = {};
  return lines.map((line) => {
    const substituted = line.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => args[braced ?? bare ?? ""] ?? whole);
    const arg = /^ARG\s+(\w+)=("?)([^"\s]*)\2\s*$/i.exec(substituted);
    if (arg?.[1] !== undefined && arg[3] !== undefined) args[arg[1]] = arg[3];
    return substituted;
  });
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  version?: string;
}

function readPackageJson(dir: string): { pkg: PackageJson; error?: undefined } | { pkg?: undefined; error: string } {
  const text = readText(dir, "package.json");
  if (text === null) return { error: `package.json not found in ${dir}` };
  try {
    const pkg = JSON.parse(text) as unknown;
    return isRecord(pkg) ? { pkg: pkg as PackageJson } : { error: "package.json is not a JSON object" };
  } catch (error) {
    return { error: `package.json is not valid JSON: ${errorText(error)}` };
  }
}

function checkDockerfileBase(dockerfile: string | null, pkg: ReturnType<typeof readPackageJson>): ConfigCheck {
  const name = "dockerfile-base";
  if (dockerfile === null) return fail(name, `${DOCKERFILE} not found`, `Restore it: \`git checkout -- ${DOCKERFILE}\``);
  if (pkg.error !== undefined) return fail(name, pkg.error, "Restore package.json: `git checkout -- package.json`");
  const wanted = pkg.pkg.dependencies?.["@cloudflare/sandbox"];
  if (wanted === undefined) return fail(name, "package.json has no dependency @cloudflare/sandbox", "Restore it: `npm install --save-exact @cloudflare/sandbox@<version>`");
  const bases = dockerInstructions(dockerfile)
    .map((line) => /^FROM\s+(?:--\S+\s+)*(\S+)/i.exec(line)?.[1])
    .filter((image): image is string => image !== undefined);
  const base = bases.find((image) => /^(docker\.io\/)?cloudflare\/sandbox(:|@|$)/.test(image));
  if (base === undefined) {
    return fail(name, `${DOCKERFILE} is not built FROM docker.io/cloudflare/sandbox (found: ${bases.join(", ") || "no FROM"})`, `Start ${DOCKERFILE} with \`FROM docker.io/cloudflare/sandbox:${wanted}\``);
  }
  const tag = /^[^@]*?:([^:@/]+)(@|$)/.exec(base)?.[1];
  const problems: Problem[] = [];
  if (!EXACT_VERSION.test(wanted)) {
    problems.push({ message: `package.json asks for @cloudflare/sandbox "${wanted}", a range, not one version`, hint: `Pin it exactly: \`npm install --save-exact @cloudflare/sandbox@${tag ?? "<version>"}\`` });
  } else if (tag !== wanted && !tag?.startsWith(`${wanted}-`)) {
    problems.push({
      message: `${DOCKERFILE} is built FROM ${base}, but package.json has @cloudflare/sandbox ${wanted}: the runtime in the image and the SDK in the Worker must be the same version`,
      hint: `Use \`FROM docker.io/cloudflare/sandbox:${wanted}\` (or upgrade the package to the image's version; upgrade both together, see docs/operations.md)`,
    });
  }
  return finish(name, problems, `${DOCKERFILE} is built FROM ${base}, the @cloudflare/sandbox version in package.json`);
}

function checkClaudeCodePin(dockerfile: string | null, pkg: ReturnType<typeof readPackageJson>): ConfigCheck {
  const name = "claude-code-pin";
  if (dockerfile === null) return fail(name, `${DOCKERFILE} not found`, `Restore it: \`git checkout -- ${DOCKERFILE}\``);
  if (pkg.error !== undefined) return fail(name, pkg.error, "Restore package.json: `git checkout -- package.json`");
  const wanted = pkg.pkg.devDependencies?.["@anthropic-ai/claude-code"];
  const installs = dockerInstructions(dockerfile)
    .filter((line) => /^RUN\s/i.test(line))
    // A package spec is a word of its own; `--allow-scripts=@anthropic-ai/claude-code` names it in a flag value.
    .flatMap((line) => [...line.matchAll(/(?<![=\w/-])@anthropic-ai\/claude-code(?:@([^\s&|;'"]+))?/g)].map((match) => match[1] ?? null));
  if (installs.length === 0) {
    return fail(name, `${DOCKERFILE} does not install @anthropic-ai/claude-code`, `Install it pinned: \`RUN npm install --global @anthropic-ai/claude-code@${wanted ?? "<version>"}\``);
  }
  const problems: Problem[] = [];
  if (wanted === undefined) {
    problems.push({ message: "package.json has no devDependency @anthropic-ai/claude-code to pin the image's Claude Code to", hint: "Add it: `npm install --save-dev --save-exact @anthropic-ai/claude-code@<version>`" });
  } else if (!EXACT_VERSION.test(wanted)) {
    problems.push({ message: `package.json asks for @anthropic-ai/claude-code "${wanted}", a range, not one version`, hint: "Pin it exactly: `npm install --save-dev --save-exact @anthropic-ai/claude-code@<version>`" });
  }
  for (const version of new Set(installs)) {
    if (version === null || !EXACT_VERSION.test(version)) {
      problems.push({
        message: `${DOCKERFILE} installs @anthropic-ai/claude-code${version === null ? "" : `@${version}`}, not one exact version, so every build may get a different Claude Code`,
        hint: `Pin it: \`@anthropic-ai/claude-code@${wanted ?? "<x.y.z>"}\` in ${DOCKERFILE}`,
      });
    } else if (wanted !== undefined && EXACT_VERSION.test(wanted) && version !== wanted) {
      problems.push({
        message: `${DOCKERFILE} installs @anthropic-ai/claude-code@${version}, but package.json's devDependency is ${wanted}`,
        hint: `Use the same version in both: \`@anthropic-ai/claude-code@${wanted}\` in ${DOCKERFILE}, or \`npm install --save-dev --save-exact @anthropic-ai/claude-code@${version}\``,
      });
    }
  }
  return finish(name, problems, `${DOCKERFILE} installs @anthropic-ai/claude-code@${String(wanted)}, the devDependency in package.json`);
}

// ---------------------------------------------------------------------------
// worker/src/index.ts and worker/wrangler.jsonc

async function checkWorkerExports(dir: string, contract: Loaded<ContractModule>): Promise<ConfigCheck> {
  const name = "worker-exports";
  if (readText(dir, WORKER_ENTRY) === null) return fail(name, `${WORKER_ENTRY} not found`, `Restore it: \`git checkout -- ${WORKER_ENTRY}\``);
  let exports: string[];
  try {
    const result = await build({
      entryPoints: [join(dir, WORKER_ENTRY)],
      absWorkingDir: dir,
      bundle: false,
      write: false,
      metafile: true,
      format: "esm",
      logLevel: "silent",
    });
    exports = Object.values(result.metafile.outputs).flatMap((output) => output.exports);
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { line: number } | null }[] }).errors?.[0];
    const detail = first ? `${first.text}${first.location ? ` (line ${first.location.line})` : ""}` : errorText(error);
    return fail(name, `${WORKER_ENTRY} does not compile: ${detail}`, `Fix ${WORKER_ENTRY} (npm run typecheck shows the details)`);
  }
  // Without a readable contract, the classes of the Worker as it was first released.
  const classes = contract.module ? [...new Set(Object.values(contract.module.DURABLE_OBJECT_BINDINGS))] : ["Sandbox"];
  const required: [string, string, string][] = [
    ...classes.map((className): [string, string, string] => [className, `the Durable Object class ${className}`, `export { ${className} } from "./<its module>.js";`]),
    ["ContainerProxy", "ContainerProxy, which carries the container's outbound traffic", 'export { ContainerProxy } from "@cloudflare/sandbox";'],
    ["default", "a default export (the fetch handler)", "export default { fetch: … }"],
  ];
  const problems: Problem[] = required
    .filter(([exported]) => !exports.includes(exported))
    .map(([, what, code]) => ({ message: `${WORKER_ENTRY} does not export ${what}`, hint: `Add \`${code}\` to ${WORKER_ENTRY}` }));
  return finish(name, problems, `${WORKER_ENTRY} exports ${classes.join(", ")}, ContainerProxy and a default handler`, { exports: [...exports].sort() });
}

interface WranglerConfig {
  compatibility_date?: unknown;
  compatibility_flags?: unknown;
  containers?: unknown;
  durable_objects?: { bindings?: unknown };
  migrations?: unknown;
  r2_buckets?: unknown;
  ratelimits?: unknown;
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function checkBindings(dir: string, contract: Loaded<ContractModule>): ConfigCheck {
  const name = "bindings";
  const text = readText(dir, WRANGLER);
  if (text === null) return fail(name, `${WRANGLER} not found`, `Restore it: \`git checkout -- ${WRANGLER}\``);
  if (contract.error !== undefined) return fail(name, `cannot compare ${WRANGLER}: ${contract.error}`, `Run \`npm ci\` in ${dir}, and fix ${CONTRACT_MODULE}`);
  const errors: ParseError[] = [];
  const parsed = parseJsonc(text, errors, { allowTrailingComma: true }) as unknown;
  if (errors.length > 0 || !isRecord(parsed)) {
    const first = errors[0];
    return fail(name, `${WRANGLER} is not valid JSONC${first ? `: ${printParseErrorCode(first.error)} at offset ${first.offset}` : ""}`, `Fix the syntax of ${WRANGLER}`);
  }
  const wrangler = parsed as WranglerConfig;
  const c = contract.module;
  const fix = `Make ${WRANGLER} and ${CONTRACT_MODULE} agree (the Pulumi program deploys with the names in ${CONTRACT_MODULE})`;
  const problems: Problem[] = [];

  const bindings = list(wrangler.durable_objects?.bindings);
  const describe = (entries: Record<string, unknown>[]) => entries.map((entry) => `${String(entry.name)} → ${String(entry.class_name)}`).join(", ") || "none";
  for (const [bindingName, className] of Object.entries(c.DURABLE_OBJECT_BINDINGS)) {
    const binding = bindings.find((entry) => entry.name === bindingName);
    if (binding === undefined) {
      problems.push({ message: `no Durable Object binding named ${bindingName} (DURABLE_OBJECT_BINDINGS); found: ${describe(bindings)}`, hint: fix });
    } else if (binding.class_name !== className) {
      problems.push({ message: `the Durable Object binding ${bindingName} uses class ${String(binding.class_name)}, not ${className} (DURABLE_OBJECT_BINDINGS)`, hint: fix });
    }
  }
  const unknown = bindings.filter((entry) => typeof entry.name !== "string" || !(entry.name in c.DURABLE_OBJECT_BINDINGS));
  if (unknown.length > 0) {
    problems.push({ message: `Durable Object bindings that ${CONTRACT_MODULE} does not name: ${describe(unknown)} (DURABLE_OBJECT_BINDINGS)`, hint: fix });
  }

  // Migrations apply in order and are never edited once released: the same steps, in the same order.
  const migrations = list(wrangler.migrations).map((migration) => ({ tag: migration.tag, new_sqlite_classes: migration.new_sqlite_classes }));
  const expectedMigrations = c.DURABLE_OBJECT_MIGRATIONS.map((migration) => ({ tag: migration.tag, new_sqlite_classes: [...migration.newSqliteClasses] }));
  if (!isDeepStrictEqual(migrations, expectedMigrations)) {
    problems.push({
      message: `migrations are ${JSON.stringify(migrations)}, not ${JSON.stringify(expectedMigrations)} (DURABLE_OBJECT_MIGRATIONS, oldest first)`,
      hint: `${fix}; a released migration is never edited or removed, only new ones appended`,
    });
  }

  const containers = list(wrangler.containers);
  if (!containers.some((container) => container.class_name === c.SANDBOX_CLASS_NAME)) {
    const found = containers.map((container) => String(container.class_name)).join(", ") || "none";
    problems.push({ message: `no container is attached to class ${c.SANDBOX_CLASS_NAME}; containers' class_name: ${found}`, hint: fix });
  }

  const buckets = list(wrangler.r2_buckets);
  if (!buckets.some((bucket) => bucket.binding === c.RESULTS_BUCKET_BINDING)) {
    const found = buckets.map((bucket) => String(bucket.binding)).join(", ") || "none";
    problems.push({ message: `no R2 bucket bound as ${c.RESULTS_BUCKET_BINDING} (RESULTS_BUCKET_BINDING); found: ${found}`, hint: fix });
  }

  const ratelimits = list(wrangler.ratelimits);
  if (!ratelimits.some((ratelimit) => ratelimit.name === c.RATE_LIMIT_BINDING)) {
    const found = ratelimits.map((ratelimit) => String(ratelimit.name)).join(", ") || "none";
    problems.push({ message: `no rate limit bound as ${c.RATE_LIMIT_BINDING} (RATE_LIMIT_BINDING); found: ${found}`, hint: fix });
  }

  if (wrangler.compatibility_date !== c.COMPATIBILITY_DATE) {
    problems.push({ message: `compatibility_date is ${JSON.stringify(wrangler.compatibility_date ?? null)}, not ${c.COMPATIBILITY_DATE} (COMPATIBILITY_DATE)`, hint: fix });
  }
  const flags = Array.isArray(wrangler.compatibility_flags) ? [...(wrangler.compatibility_flags as unknown[])].map(String).sort() : null;
  if (!isDeepStrictEqual(flags, [...c.COMPATIBILITY_FLAGS].sort())) {
    problems.push({
      message: `compatibility_flags are ${JSON.stringify(wrangler.compatibility_flags ?? null)}, not ${JSON.stringify(c.COMPATIBILITY_FLAGS)} (COMPATIBILITY_FLAGS)`,
      hint: fix,
    });
  }
  return finish(
    name,
    problems,
    `${WRANGLER} binds ${describe(bindings)} (migrations ${expectedMigrations.map((migration) => migration.tag).join(", ")}; container attached to ${c.SANDBOX_CLASS_NAME}), ${c.RESULTS_BUCKET_BINDING} and ${c.RATE_LIMIT_BINDING}, compatibility ${c.COMPATIBILITY_DATE} [${c.COMPATIBILITY_FLAGS.join(", ")}], as ${CONTRACT_MODULE} says`,
  );
}

// ---------------------------------------------------------------------------

/** Resolves the directory to check; a missing one is a usage mistake. */
export function resolveCheckout(dir: string): string {
  const absolute = resolve(dir);
  let isDirectory = false;
  try {
    isDirectory = statSync(absolute).isDirectory();
  } catch {
    // Reported below.
  }
  if (!isDirectory) throw new UsageError(`No directory at ${dir}`, "Give the path of a claude-sandbox checkout (the directory with Pulumi.yaml), or run the command inside it");
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
  const ok = checks.every((check) => check.ok);
  return { output: { success: ok, dir, checks }, ok, secrets };
}
