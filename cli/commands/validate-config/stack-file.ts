/**
 * The `stack-<name>` checks, one per Pulumi.<name>.yaml: only known keys,
 * values that `parseConfig` of `infra/config.ts` accepts (Pulumi.yaml's
 * defaults merged), credentials stored as secrets. Secure values are never
 * decrypted: they count as set and secret. Plaintext credentials are never
 * printed: they are handed back to be redacted.
 */
import { generateKeyPairSync } from "node:crypto";
import { readdirSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { CONFIG_MODULE, type ConfigCheck, type ConfigModule, configText, errorText, fail, finish, isRecord, type Loaded, type Problem, readText } from "./checkout.js";

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

/** The stack files of the checkout (`Pulumi.<stack>.yaml`), by name. */
export function stackFiles(dir: string): { file: string; stack: string }[] {
  return readdirSync(dir)
    .map((file) => ({ file, stack: /^Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1] }))
    .filter((entry): entry is { file: string; stack: string } => entry.stack !== undefined)
    .sort((a, b) => a.file.localeCompare(b.file));
}

/**
 * Judges one stack file; a plaintext credential it finds is pushed to `secrets`
 * so that the output never shows it.
 */
export function checkStack(dir: string, file: string, stack: string, config: Loaded<ConfigModule>, projectDefaults: Record<string, string>, secrets: string[]): ConfigCheck {
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
        problems.push({
          message: `${PROJECT}:accountId is not set: the stack needs your Cloudflare account id (32 hex characters, shown in the Cloudflare dashboard)`,
          hint: `pulumi config set accountId <id> --stack ${stack}`,
        });
      } else if (credentialMissing) {
        problems.push({ message, hint: `pulumi config set --secret claudeOauthToken <token from \`npx claude setup-token\`> --stack ${stack} (or anthropicApiKey)` });
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
