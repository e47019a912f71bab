/** Stack configuration: defaults, validation messages, and agreement with Pulumi.yaml. */
import * as pulumi from "@pulumi/pulumi";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_DEFAULTS, CONFIG_KEYS, type ConfigSource, parseConfig, PROJECT, SECRET_CONFIG_KEYS } from "../../infra/config.js";
import { INSTANCE_TYPES } from "../../infra/providers/container-application.js";
import { DEFAULT_ALLOWED_HOSTS, PERMISSION_MODES } from "../../worker/src/contract.js";
import { installMocks, valueOf } from "./fixtures/pulumi-mocks.js";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const BASE = { accountId: ACCOUNT, claudeOauthToken: "fake-oauth-config-test" };

beforeAll(async () => {
  // pulumi.secret() needs a (mocked) engine.
  await installMocks({ config: {} });
});

/** A GitHub App's key as GitHub issues it (PKCS#1), and the same key as PKCS#8. */
const { privateKey: APP_KEY } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const APP_KEY_PKCS1 = APP_KEY.export({ type: "pkcs1", format: "pem" }).toString();
const APP_KEY_PKCS8 = APP_KEY.export({ type: "pkcs8", format: "pem" }).toString();
const APP_PUBLIC_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
const EC_KEY = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const ENCRYPTED_KEY = APP_KEY.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "passphrase" }).toString();
const GITHUB_TOKEN = "github_pat_11AAAAAAA0fakeConfigTestTokenMustNotLeak";

function source(values: Record<string, string | undefined>, secretKeys: string[] = [...SECRET_CONFIG_KEYS]): ConfigSource {
  return { get: (key) => values[key], isSecret: (key) => secretKeys.includes(key) };
}

const parseWith = (values: Record<string, string | undefined>, stack = "dev") => parseConfig(source({ ...BASE, ...values }), stack);

describe("defaults", () => {
  it("derives names from the stack and applies the documented defaults", () => {
    const config = parseWith({}, "Prod_EU");
    expect(config).toMatchObject({
      accountId: ACCOUNT,
      workerName: "claude-sandbox-prod-eu",
      bucketName: "claude-sandbox-results-prod-eu",
      resultRetentionDays: 30,
      instanceType: "standard-1",
      maxInstances: 5,
      sandboxImage: undefined,
      authTokenGeneration: 1,
      allowedHosts: [...DEFAULT_ALLOWED_HOSTS],
      defaultTimeoutMs: 300_000,
      maxTimeoutMs: 900_000,
      permissionMode: "bypassPermissions",
      credentialMode: "proxy",
      queueTimeoutMs: 600_000,
      maxOutputBytes: 1_048_576,
      maxBudgetUsd: undefined,
      rateLimitPerMinute: 60,
      allowWebSearch: true,
      githubCredential: undefined,
      githubAppId: undefined,
      githubRepos: [],
      access: undefined,
      adoptExistingWorker: false,
      protectWorker: true,
    });
  });

  it("reads the task settings", () => {
    expect(
      parseWith({
        queueTimeoutMs: "120000",
        maxOutputBytes: "8388608",
        maxBudgetUsd: "2.50",
        rateLimitPerMinute: "10",
        allowWebSearch: "false",
      }),
    ).toMatchObject({ queueTimeoutMs: 120_000, maxOutputBytes: 8_388_608, maxBudgetUsd: 2.5, rateLimitPerMinute: 10, allowWebSearch: false });
  });

  it.each(["", "0", "0.00"])("reads a budget cap of %j as no cap", (maxBudgetUsd) => {
    expect(parseWith({ maxBudgetUsd }).maxBudgetUsd).toBeUndefined();
  });

  it("keeps the Claude credential secret", async () => {
    const config = parseWith({});
    expect(config.claudeCredential.kind).toBe("oauth");
    expect(await pulumi.isSecret(config.claudeCredential.value)).toBe(true);
    expect(await valueOf(config.claudeCredential.value)).toBe("fake-oauth-config-test");
  });

  it("uses an API key when no OAuth token is set", () => {
    const config = parseConfig(source({ accountId: ACCOUNT, anthropicApiKey: "fake-apikey-key" }), "dev");
    expect(config.claudeCredential.kind).toBe("apiKey");
  });
});

describe("GitHub credentials and repositories", () => {
  it("keeps a fine-grained token secret, with no App id", async () => {
    const config = parseWith({ githubToken: GITHUB_TOKEN });
    expect(config.githubCredential?.kind).toBe("token");
    expect(config.githubAppId).toBeUndefined();
    expect(await pulumi.isSecret(config.githubCredential!.value)).toBe(true);
    expect(await valueOf(config.githubCredential!.value)).toBe(GITHUB_TOKEN);
  });

  it.each([
    ["PKCS#1, as GitHub issues it", APP_KEY_PKCS1],
    ["PKCS#8", APP_KEY_PKCS8],
    ["pasted on one line with \\n", APP_KEY_PKCS1.trim().replaceAll("\n", "\\n")],
  ])("keeps a GitHub App's private key (%s) secret, with its id", async (_, key) => {
    const config = parseWith({ githubAppId: "123456", githubAppPrivateKey: key });
    expect(config.githubCredential?.kind).toBe("app");
    expect(config.githubAppId).toBe(123_456);
    expect(await pulumi.isSecret(config.githubCredential!.value)).toBe(true);
    expect(await valueOf(config.githubCredential!.value)).toBe(key.trim());
  });

  it("reads an App id of 0 (Pulumi.yaml's default) as no App", () => {
    expect(parseWith({ githubAppId: "0" })).toMatchObject({ githubCredential: undefined, githubAppId: undefined });
  });

  it("lower-cases the repositories and drops repeats", () => {
    expect(parseWith({ githubRepos: JSON.stringify(["Acme/Website", "acme/website", " octo-org/my_repo.js "]) }).githubRepos).toEqual([
      "acme/website",
      "octo-org/my_repo.js",
    ]);
    expect(parseWith({ githubRepos: "[]" }).githubRepos).toEqual([]);
  });

  it("reads a GitHub Enterprise API URL without its trailing slash, and none by default", () => {
    expect(parseWith({ githubApiUrl: "https://github.example.com/api/v3/" }).githubApiUrl).toBe("https://github.example.com/api/v3");
    expect(parseWith({}).githubApiUrl).toBeUndefined();
  });
});

describe("Cloudflare Access, adoption and protection", () => {
  const AUDIENCE = "4714a7d8c9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081920";

  it("reads the team domain and audience together, in lower case", () => {
    expect(parseWith({ accessTeamDomain: " Acme-Corp.CloudflareAccess.com ", accessAudience: AUDIENCE.toUpperCase() }).access).toEqual({
      teamDomain: "acme-corp.cloudflareaccess.com",
      audience: AUDIENCE,
    });
  });

  it.each([
    [{ accessTeamDomain: "acme.cloudflareaccess.com" }, 'Invalid config claude-sandbox:accessAudience: is required with accessTeamDomain'],
    [{ accessAudience: AUDIENCE }, "Invalid config claude-sandbox:accessTeamDomain: is required with accessAudience"],
    [
      { accessTeamDomain: "https://acme.cloudflareaccess.com", accessAudience: AUDIENCE },
      'Invalid config claude-sandbox:accessTeamDomain: "https://acme.cloudflareaccess.com" is not a Cloudflare Access team domain',
    ],
    [{ accessTeamDomain: "acme.example.com", accessAudience: AUDIENCE }, "is not a Cloudflare Access team domain: <team>.cloudflareaccess.com"],
    [{ accessTeamDomain: "evil.cloudflareaccess.com.example.com", accessAudience: AUDIENCE }, "is not a Cloudflare Access team domain"],
    [{ accessTeamDomain: "-acme.cloudflareaccess.com", accessAudience: AUDIENCE }, "is not a Cloudflare Access team domain"],
    [{ accessTeamDomain: "acme.cloudflareaccess.com", accessAudience: "aud" }, 'Invalid config claude-sandbox:accessAudience: "aud" is not an Access Application Audience (AUD) tag'],
    [{ accessTeamDomain: "acme.cloudflareaccess.com", accessAudience: `${AUDIENCE}0` }, "is not an Access Application Audience (AUD) tag"],
  ])("refuses %j", (values, message) => {
    expect(() => parseWith(values)).toThrow(message);
  });

  it.each([
    ["adoptExistingWorker", "true", true],
    ["protectWorker", "false", false],
  ] as const)("reads %s %s", (key, value, expected) => {
    expect(parseWith({ [key]: value })[key]).toBe(expected);
  });

  it.each(["adoptExistingWorker", "protectWorker"])("refuses %s that is not true or false", (key) => {
    expect(() => parseWith({ [key]: "yes" })).toThrow(`Invalid config claude-sandbox:${key}: "yes" is not true or false`);
  });
});

describe("bad values fail with the key and what it accepts", () => {
  it.each([
    [{ accountId: undefined }, "Invalid config claude-sandbox:accountId: is not set: `pulumi config set accountId <id>`, with the 32 hex characters of your Cloudflare account id"],
    [{ accountId: "not-an-account" }, 'Invalid config claude-sandbox:accountId: "not-an-account" is not a Cloudflare account id'],
    [{ claudeOauthToken: undefined }, "Invalid config claude-sandbox:claudeOauthToken: a Claude credential is required"],
    [{ claudeOauthToken: "two words" }, "Invalid config claude-sandbox:claudeOauthToken: must be a single token without spaces"],
    [{ instanceType: "huge" }, `Invalid config claude-sandbox:instanceType: "huge" is not one of ${INSTANCE_TYPES.join(", ")}`],
    [{ maxInstances: "0" }, 'Invalid config claude-sandbox:maxInstances: "0" is not an integer from 1 to 1000'],
    [{ maxInstances: "2.5" }, 'Invalid config claude-sandbox:maxInstances: "2.5" is not an integer from 1 to 1000'],
    [{ maxInstances: "five" }, 'Invalid config claude-sandbox:maxInstances: "five" is not an integer from 1 to 1000'],
    [{ maxInstances: "1001" }, 'Invalid config claude-sandbox:maxInstances: "1001" is not an integer from 1 to 1000'],
    [{ resultRetentionDays: "0" }, 'Invalid config claude-sandbox:resultRetentionDays: "0" is not an integer from 1 to 3650'],
    [{ resultRetentionDays: "3651" }, 'Invalid config claude-sandbox:resultRetentionDays: "3651" is not an integer from 1 to 3650'],
    [{ authTokenGeneration: "0" }, 'Invalid config claude-sandbox:authTokenGeneration: "0" is not an integer from 1 to 1000000'],
    [{ defaultTimeoutMs: "999" }, 'Invalid config claude-sandbox:defaultTimeoutMs: "999" is not an integer from 1000 to 3600000'],
    [{ maxTimeoutMs: "3600001" }, 'Invalid config claude-sandbox:maxTimeoutMs: "3600001" is not an integer from 1000 to 3600000'],
    [
      { defaultTimeoutMs: "600000", maxTimeoutMs: "300000" },
      "Invalid config claude-sandbox:defaultTimeoutMs: 600000 is above maxTimeoutMs (300000); the default timeout must not exceed the maximum",
    ],
    [{ permissionMode: "yolo" }, `Invalid config claude-sandbox:permissionMode: "yolo" is not one of ${PERMISSION_MODES.join(", ")}`],
    [{ credentialMode: "plaintext" }, 'Invalid config claude-sandbox:credentialMode: "plaintext" is not one of proxy, env'],
    [{ workerName: "Claude_Sandbox" }, 'Invalid config claude-sandbox:workerName: "Claude_Sandbox" must be 1-63 lowercase letters'],
    [{ bucketName: "ab" }, 'Invalid config claude-sandbox:bucketName: "ab" must be 3-63 lowercase letters'],
    [{ sandboxImage: "not an image" }, 'Invalid config claude-sandbox:sandboxImage: "not an image" is not a digest-pinned image reference'],
    [
      { sandboxImage: "registry.cloudflare.com/acct/sandbox:latest" },
      'Invalid config claude-sandbox:sandboxImage: "registry.cloudflare.com/acct/sandbox:latest" is not a digest-pinned image reference',
    ],
    [{ allowedHosts: "github.com" }, "Invalid config claude-sandbox:allowedHosts: must be a list of host names"],
    [{ allowedHosts: "[]" }, "Invalid config claude-sandbox:allowedHosts: must be a non-empty list of host names"],
    [{ allowedHosts: '["github.com/path"]' }, 'Invalid config claude-sandbox:allowedHosts: "github.com/path" is not a host name'],
    [{ queueTimeoutMs: "999" }, 'Invalid config claude-sandbox:queueTimeoutMs: "999" is not an integer from 1000 to 86400000'],
    [{ maxOutputBytes: "8388609" }, 'Invalid config claude-sandbox:maxOutputBytes: "8388609" is not an integer from 1024 to 8388608'],
    [{ maxOutputBytes: "1k" }, 'Invalid config claude-sandbox:maxOutputBytes: "1k" is not an integer from 1024 to 8388608'],
    [{ maxBudgetUsd: "-1" }, 'Invalid config claude-sandbox:maxBudgetUsd: "-1" is not an amount in USD from 0 to 1000000'],
    [{ maxBudgetUsd: "$5" }, 'Invalid config claude-sandbox:maxBudgetUsd: "$5" is not an amount in USD'],
    [{ maxBudgetUsd: "1e3" }, 'Invalid config claude-sandbox:maxBudgetUsd: "1e3" is not an amount in USD'],
    [{ maxBudgetUsd: "1e-7" }, 'Invalid config claude-sandbox:maxBudgetUsd: "1e-7" is not an amount in USD'],
    [{ maxBudgetUsd: "1000000.01" }, 'Invalid config claude-sandbox:maxBudgetUsd: "1000000.01" is not an amount in USD from 0 to 1000000'],
    [
      { maxBudgetUsd: "0.0000001" },
      'Invalid config claude-sandbox:maxBudgetUsd: "0.0000001" has 7 decimals; at most 6 are kept (0.000001 USD is the smallest step)',
    ],
    [{ maxBudgetUsd: "2.5000000" }, 'Invalid config claude-sandbox:maxBudgetUsd: "2.5000000" has 7 decimals; at most 6 are kept'],
    [{ rateLimitPerMinute: "0" }, 'Invalid config claude-sandbox:rateLimitPerMinute: "0" is not an integer from 1 to 100000'],
    [{ allowWebSearch: "yes" }, 'Invalid config claude-sandbox:allowWebSearch: "yes" is not true or false'],
  ])("%j", (values, message) => {
    expect(() => parseWith(values)).toThrow(message);
  });

  it.each([
    ["an App id that is not a number", { githubAppId: "12a" }, 'githubAppId: "12a" is not a GitHub App id (a positive integer'],
    ["a negative App id", { githubAppId: "-5" }, 'githubAppId: "-5" is not a GitHub App id'],
    ["an App id without a key", { githubAppId: "123456" }, "githubAppId: is set, but githubAppPrivateKey is not"],
    ["an App key without an id", { githubAppPrivateKey: APP_KEY_PKCS1 }, "githubAppPrivateKey: is set, but githubAppId is not"],
    [
      "a PEM block that holds no key",
      { githubAppId: "1", githubAppPrivateKey: "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----" },
      "githubAppPrivateKey: is not an unencrypted RSA private key in PEM",
    ],
    ["a public key", { githubAppId: "1", githubAppPrivateKey: APP_PUBLIC_KEY }, "githubAppPrivateKey: is not an unencrypted RSA private key in PEM"],
    ["an EC key", { githubAppId: "1", githubAppPrivateKey: EC_KEY }, "githubAppPrivateKey: is not an unencrypted RSA private key in PEM"],
    ["an encrypted key", { githubAppId: "1", githubAppPrivateKey: ENCRYPTED_KEY }, "githubAppPrivateKey: is not an unencrypted RSA private key in PEM"],
    [
      "a token and an App",
      { githubToken: GITHUB_TOKEN, githubAppId: "1", githubAppPrivateKey: APP_KEY_PKCS1 },
      "githubToken: set either githubToken or a GitHub App (githubAppId and githubAppPrivateKey), not both",
    ],
    ["a token and an App id", { githubToken: GITHUB_TOKEN, githubAppId: "1" }, "githubToken: set either githubToken or a GitHub App"],
    ["a token with a space", { githubToken: "ghp_a b" }, "githubToken: is not a GitHub token"],
    ["repositories as one string", { githubRepos: "acme/website" }, "githubRepos: must be a list of owner/repo names"],
    ["repositories as a JSON string", { githubRepos: '"acme/website"' }, "githubRepos: must be a list of owner/repo names"],
    ["an owner alone", { githubRepos: '["acme"]' }, 'githubRepos: "acme" is not a GitHub repository as owner/repo, such as acme/website'],
    ["a URL", { githubRepos: '["https://github.com/acme/website"]' }, 'githubRepos: "https://github.com/acme/website" is not a GitHub'],
    ["a space", { githubRepos: '["acme/web site"]' }, 'githubRepos: "acme/web site" is not a GitHub'],
    ["an owner starting with a dash", { githubRepos: '["-acme/website"]' }, 'githubRepos: "-acme/website" is not a GitHub'],
    ["an owner of 40 characters", { githubRepos: JSON.stringify([`${"a".repeat(40)}/x`]) }, `githubRepos: "${"a".repeat(40)}/x" is not a GitHub`],
    ["a repository named ..", { githubRepos: '["acme/.."]' }, 'githubRepos: "acme/.." is not a GitHub'],
    ["a path", { githubRepos: '["acme/website/extra"]' }, 'githubRepos: "acme/website/extra" is not a GitHub'],
    ["a number", { githubRepos: "[42]" }, 'githubRepos: "42" is not a GitHub'],
    ["a plain http API", { githubApiUrl: "http://github.example.com/api/v3" }, "githubApiUrl: must be the https:// URL of a GitHub API"],
    ["an API URL with credentials", { githubApiUrl: "https://user:pass@github.example.com/api/v3" }, "githubApiUrl: must be the https:// URL"],
    ["an API URL with a query", { githubApiUrl: "https://github.example.com/api/v3?x=1" }, "githubApiUrl: must be the https:// URL"],
    ["not a URL", { githubApiUrl: "github.example.com" }, "githubApiUrl: must be the https:// URL"],
  ])("GitHub: refuses %s", (_, values, message) => {
    expect(() => parseWith(values)).toThrow(`Invalid config claude-sandbox:${message}`);
  });

  it("refuses a credential stored in plain text", () => {
    expect(() => parseConfig(source(BASE, []), "dev")).toThrow(
      "Invalid config claude-sandbox:claudeOauthToken: is stored in plain text: set it with `pulumi config set --secret claudeOauthToken <value>`",
    );
  });

  it.each([
    ["githubToken", { githubToken: GITHUB_TOKEN }],
    ["githubAppPrivateKey", { githubAppId: "123456", githubAppPrivateKey: APP_KEY_PKCS1 }],
  ])("refuses %s stored in plain text, without its value", (key, values) => {
    const error = thrownBy(() => parseConfig(source({ ...BASE, ...values }, ["claudeOauthToken"]), "dev"));
    expect(error.message).toBe(`Invalid config claude-sandbox:${key}: is stored in plain text: set it with \`pulumi config set --secret ${key} <value>\``);
  });

  /** The error `parse` throws; fails the test when it throws none. */
  function thrownBy(parse: () => unknown): Error {
    try {
      parse();
    } catch (error) {
      if (error instanceof Error) return error;
      throw new Error(`threw a non-Error: ${String(error)}`);
    }
    throw new Error("expected an error, but the configuration was accepted");
  }

  it.each([
    ["a credential with a space", { claudeOauthToken: "fake-oauth-must-not-leak x" }, "claudeOauthToken"],
    ["an API key with a space", { claudeOauthToken: undefined, anthropicApiKey: "fake-oauth-must-not-leak x" }, "anthropicApiKey"],
    ["another key's mistake", { claudeOauthToken: "fake-oauth-must-not-leak", instanceType: "huge" }, "instanceType"],
  ])("never puts a credential in an error message: %s", (_, values, key) => {
    const error = thrownBy(() => parseWith(values));
    expect(error.message).toContain(`Invalid config claude-sandbox:${key}:`);
    expect(`${error.message}\n${error.stack ?? ""}`).not.toContain("fake-oauth-must-not-leak");
  });

  /** A secret value that fails validation; the error must hold no part of it. */
  const LEAKY_TOKEN = "github_pat_fakeMustNotLeak-with-dashes";
  const LEAKY_KEY = APP_KEY_PKCS1.replace("-----END RSA PRIVATE KEY-----", "fakeMustNotLeak\n-----END RSA PRIVATE KEY-----");
  /** Lines of the key long enough to identify it. */
  const keyLines = (pem: string) => pem.split("\n").filter((line) => line.length > 20 && !line.startsWith("-----"));

  it.each([
    ["a malformed GitHub token", { githubToken: LEAKY_TOKEN }, "githubToken"],
    ["a token with an App", { githubToken: LEAKY_TOKEN, githubAppId: "7", githubAppPrivateKey: LEAKY_KEY }, "githubToken"],
    ["a malformed App key", { githubAppId: "7", githubAppPrivateKey: LEAKY_KEY }, "githubAppPrivateKey"],
    ["an App key without its id", { githubAppPrivateKey: LEAKY_KEY }, "githubAppPrivateKey"],
    ["another key's mistake", { githubAppId: "7", githubAppPrivateKey: APP_KEY_PKCS1, githubRepos: '["nope"]' }, "githubRepos"],
  ])("never puts a GitHub credential in an error message: %s", (_, values, key) => {
    const error = thrownBy(() => parseWith(values));
    expect(error.message).toContain(`Invalid config claude-sandbox:${key}:`);
    const text = `${error.message}\n${error.stack ?? ""}\n${String(error.cause ?? "")}`;
    expect(text).not.toContain("fakeMustNotLeak");
    for (const line of [...keyLines(LEAKY_KEY), ...keyLines(APP_KEY_PKCS1)]) expect(text).not.toContain(line);
  });

  it("never puts a credential stored in plain text in its error message", () => {
    const error = thrownBy(() => parseConfig(source({ ...BASE, claudeOauthToken: "fake-oauth-plain-text" }, []), "dev"));
    expect(error.message).toContain("is stored in plain text");
    expect(error.message).not.toContain("fake-oauth-plain-text");
  });

  it("accepts prebuilt images pinned to a digest", () => {
    for (const image of [
      `registry.cloudflare.com/${ACCOUNT}/sandbox@sha256:${"0".repeat(64)}`,
      `registry.cloudflare.com/${ACCOUNT}/sandbox:1.2.3@sha256:${"a".repeat(64)}`,
    ]) {
      expect(parseWith({ sandboxImage: image }).sandboxImage).toBe(image);
    }
  });
});

describe("Pulumi.yaml", () => {
  const project = parse(readFileSync("Pulumi.yaml", "utf8")) as {
    name: string;
    main: string;
    runtime: { name: string; options: Record<string, unknown> };
    config: Record<string, { type: string; default?: unknown; description: string; secret?: boolean; items?: unknown }>;
  };

  it("runs the TypeScript program infra/index.ts with tsx", () => {
    expect(project.name).toBe(PROJECT);
    expect(project.main).toBe("infra/index.ts");
    expect(existsSync(project.main)).toBe(true);
    expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: false, nodeargs: "--import tsx", packagemanager: "npm" } });
  });

  it("declares exactly the keys the program reads, each described", () => {
    expect(Object.keys(project.config).sort()).toEqual([...CONFIG_KEYS].sort());
    for (const [key, schema] of Object.entries(project.config)) expect(schema.description.length, key).toBeGreaterThan(20);
  });

  it("declares the same defaults as the program", () => {
    for (const [key, value] of Object.entries(CONFIG_DEFAULTS)) {
      expect(project.config[key]?.default, key).toEqual(value);
    }
  });

  it("requires only accountId (so a stack without it fails early), and no secret carries a plaintext default", () => {
    const required = Object.entries(project.config).filter(([, schema]) => !("default" in schema)).map(([key]) => key);
    expect(required).toEqual(["accountId"]);
    for (const schema of Object.values(project.config)) expect(schema.secret).toBeUndefined();
  });

  it("types every key so Pulumi checks stack values", () => {
    for (const [key, schema] of Object.entries(project.config)) {
      const value = (CONFIG_DEFAULTS as Record<string, unknown>)[key];
      const expected = Array.isArray(value) ? "array" : typeof value === "number" ? "integer" : typeof value === "boolean" ? "boolean" : "string";
      expect(schema.type, key).toBe(expected);
    }
  });
});

describe("docs/configuration.md", () => {
  const docs = readFileSync("docs/configuration.md", "utf8");

  it.each([...CONFIG_KEYS])("documents %s in the table of keys, with its default", (key) => {
    const row = docs.split("\n").find((line) => line.startsWith(`| \`${key}\` |`));
    expect(row, key).toBeDefined();
    const value = (CONFIG_DEFAULTS as Record<string, unknown>)[key];
    if (typeof value === "number" || typeof value === "boolean") expect(row).toContain(`\`${String(value)}\``);
  });
});

describe("Pulumi.dev.yaml", () => {
  const stack = parse(readFileSync("Pulumi.dev.yaml", "utf8")) as { config: Record<string, unknown> };

  it("uses only known keys, holds no secret, and its values validate", () => {
    const values: Record<string, string> = {};
    for (const [fullKey, value] of Object.entries(stack.config)) {
      const [namespace, key] = fullKey.split(":");
      expect(namespace).toBe(PROJECT);
      expect(CONFIG_KEYS as readonly string[]).toContain(key);
      expect(SECRET_CONFIG_KEYS as readonly string[]).not.toContain(key);
      values[key!] = typeof value === "string" ? value : JSON.stringify(value);
    }
    expect(() => parseWith(values)).not.toThrow();
  });
});
