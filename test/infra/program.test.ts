/**
 * The whole Pulumi program under mocks (no Pulumi CLI, no network): every
 * resource and its key inputs, the Worker upload's bindings, containers and
 * migration together, secrets kept secret, and the stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { rateLimitNamespaceId } from "../../infra/components/sandbox-worker.js";
import { buildAssetManifest, type WorkerAssets } from "../../infra/providers/worker-assets.js";
import { COMPATIBILITY_DATE, SECRET_BINDINGS } from "../../worker/src/contract.js";
import {
  installMocks,
  isSecretInput,
  MOCK_DIGEST,
  MOCK_WORKERS_DEV,
  mockRandomHex,
  type RecordedResource,
  unwrap,
  valueOf,
} from "./fixtures/pulumi-mocks.js";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const CREDENTIAL = "fake-oauth-program-test-credential-value";
/** The GitHub App's private key, as GitHub issues it (PKCS#1 PEM, several lines). */
const APP_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString().trim();

/** The webhook secret the mocked random provider gives `webhook-secret-bytes`. */
const WEBHOOK_SECRET = `whsec_${Buffer.from(mockRandomHex("webhook-secret-bytes", undefined), "hex").toString("base64")}`;

let resources: RecordedResource[];
let program: typeof import("../../infra/index.js");

beforeAll(async () => {
  resources = await installMocks({
    config: {
      "claude-sandbox:accountId": ACCOUNT,
      "claude-sandbox:claudeOauthToken": CREDENTIAL,
      "claude-sandbox:authTokenGeneration": "2",
      "claude-sandbox:instanceType": "standard-2",
      "claude-sandbox:maxInstances": "7",
      "claude-sandbox:resultRetentionDays": "14",
      "claude-sandbox:allowedHosts": JSON.stringify(["api.anthropic.com", "github.com"]),
      "claude-sandbox:maxTimeoutMs": "600000",
      "claude-sandbox:rateLimitPerMinute": "25",
      "claude-sandbox:githubAppId": "123456",
      "claude-sandbox:githubAppPrivateKey": APP_KEY,
      "claude-sandbox:githubRepos": JSON.stringify(["Acme/Website", "acme/api"]),
      "claude-sandbox:githubApiUrl": "https://github.example.com/api/v3",
    },
    secretKeys: ["claude-sandbox:claudeOauthToken", "claude-sandbox:githubAppPrivateKey"],
    // A preview: the image is neither built nor pushed, so no registry credentials are fetched.
    preview: true,
  });
  // The program runs when its module is evaluated: evaluate it afresh for these mocks.
  vi.resetModules();
  program = await import("../../infra/index.js");
  // Let every registration reach the mocks.
  await valueOf(program.containerApplicationId);
}, 60_000);

/** URNs of every custom resource the mock engine registered (the stack and components excluded). */
function registeredUrns(): string[] {
  const monitor = (pulumi.runtime as unknown as { getMonitor(): { getRegisteredResources(): Map<string, unknown> } }).getMonitor();
  return [...monitor.getRegisteredResources().keys()].filter(
    (urn) => !urn.split("::")[2]!.split("$").pop()!.startsWith("claude-sandbox:index:") && !urn.includes("pulumi:pulumi:Stack"),
  );
}

/** The base64 lines of a PEM key: any one of them in plain text would leak part of it. */
function keyLines(pem: string): string[] {
  return pem.split("\n").filter((line) => line.length > 20 && !line.startsWith("-----"));
}

function only(typeSuffix: string): RecordedResource {
  const matches = resources.filter((resource) => resource.type.endsWith(typeSuffix));
  expect(matches, typeSuffix).toHaveLength(1);
  return matches[0]!;
}

describe("resources", () => {
  it("creates exactly the expected resources, each inside its component", async () => {
    expect(resources.map((resource) => `${resource.type} ${resource.name}`).sort()).toEqual(
      [
        "claude-sandbox:index:AuthTokens api-tokens",
        "claude-sandbox:index:ResultsBucket results",
        "claude-sandbox:index:WebhookSecret webhook-secret",
        "claude-sandbox:index:SandboxContainers sandbox-containers",
        "claude-sandbox:index:SandboxImage sandbox-image",
        "claude-sandbox:index:SandboxWorker worker",
        "cloudflare:index/r2Bucket:R2Bucket results-bucket",
        "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle results-retention",
        "cloudflare:index/workersScriptSubdomain:WorkersScriptSubdomain worker-workers-dev",
        "docker:index/image:Image sandbox-image-image",
        "pulumi-nodejs:dynamic/claude-sandbox:ContainerApplication sandbox-containers-application",
        "pulumi-nodejs:dynamic/claude-sandbox:TokenGeneration api-tokens-generation",
        "pulumi-nodejs:dynamic/claude-sandbox:WorkerScript worker-script",
        "random:index/randomBytes:RandomBytes api-tokens-slot-a",
        "random:index/randomBytes:RandomBytes api-tokens-slot-b",
        "random:index/randomBytes:RandomBytes webhook-secret-bytes",
      ].sort(),
    );
    // A URN's type names its parents: `claude-sandbox:index:ResultsBucket$cloudflare:...::results-bucket`.
    const components = new Map(
      resources.filter((item) => item.type.startsWith("claude-sandbox:index:")).map((item) => [item.name, item.type]),
    );
    const urns = registeredUrns();
    expect(urns).toHaveLength(resources.length - components.size);
    for (const urn of urns) {
      const [, , qualifiedType, name] = urn.split("::") as [string, string, string, string];
      const parentType = qualifiedType.split("$").slice(-2, -1)[0];
      const component = [...components.keys()].find((candidate) => name.startsWith(`${candidate}-`));
      expect(component, `${name} is named from a component`).toBeDefined();
      expect(parentType, `${name} is a child of ${component}`).toBe(components.get(component!));
    }
  });

  it("takes back a bucket retained by `pulumi destroy` and imported at the stack's top level, as docs/operations.md says", () => {
    const bucket = only("R2Bucket");
    expect(bucket.options.retainOnDelete).toBe(true);
    expect(bucket.options.aliases).toEqual([{ noParent: true, name: "", type: "" }]);
    expect(readFileSync("docs/operations.md", "utf8")).toContain(`pulumi import cloudflare:index/r2Bucket:R2Bucket ${bucket.name} \\`);
  });

  it("keeps results in an R2 bucket named for the stack, deleted after the retention", () => {
    expect(only("R2Bucket").inputs).toMatchObject({ accountId: ACCOUNT, name: "claude-sandbox-results-dev" });
    const lifecycle = only("R2BucketLifecycle").inputs as { bucketName: string; rules: Record<string, unknown>[] };
    expect(lifecycle.bucketName).toBe("claude-sandbox-results-dev");
    expect(lifecycle.rules).toEqual([
      expect.objectContaining({
        enabled: true,
        conditions: { prefix: "tasks/" },
        deleteObjectsTransition: { condition: { type: "Age", maxAge: 14 * 86_400 } },
      }),
    ]);
  });

  it("retains the bucket and its retention rule on delete, so a rename or a destroy never deletes results", () => {
    expect(only("R2Bucket").options.retainOnDelete).toBe(true);
    expect(only("R2BucketLifecycle").options.retainOnDelete).toBe(true);
  });

  it("records the token generation, and changes no token slot before that record accepts the value", () => {
    const guard = only(":TokenGeneration");
    expect(guard.inputs.generation).toBe(2);
    const guardUrn = registeredUrns().find((urn) => urn.endsWith("::api-tokens-generation"));
    expect(guardUrn).toBeDefined();
    for (const slot of resources.filter((resource) => resource.name.startsWith("api-tokens-slot-"))) {
      expect(slot.options.dependencies, slot.name).toContain(guardUrn);
      expect(new Set(slot.options.additionalSecretOutputs)).toEqual(new Set(["hex", "base64"]));
    }
  });

  it("makes the webhook secret from 32 random bytes, kept secret", () => {
    const bytes = resources.find((resource) => resource.name === "webhook-secret-bytes")!;
    expect(bytes.inputs).toEqual({ length: 32 });
    expect(new Set(bytes.options.additionalSecretOutputs)).toEqual(new Set(["hex", "base64"]));
  });

  it("builds container/Dockerfile for linux/amd64 into the account's registry namespace", () => {
    const image = only("docker:index/image:Image").inputs as {
      imageName: string;
      build: { platform: string; dockerfile: string };
      registry: unknown;
      buildOnPreview: boolean;
    };
    expect(image.imageName).toMatch(new RegExp(`^registry\\.cloudflare\\.com/${ACCOUNT}/claude-sandbox-dev:sandbox-[0-9a-f]{16}$`));
    expect(image.build.platform).toBe("linux/amd64");
    expect(readFileSync(image.build.dockerfile, "utf8")).toMatch(/^FROM docker\.io\/cloudflare\/sandbox:/m);
    // From the project root, so another checkout of the same commit builds from the same inputs.
    expect(image.build).toMatchObject({ context: "container", dockerfile: "container/Dockerfile" });
    expect(image.buildOnPreview).toBe(false);
    // The registry password is a secret.
    expect(isSecretInput(image.registry)).toBe(true);
  });

  it("gives the container application the image digest, instance type, max instances and class, and lets running tasks end through a rollout", () => {
    const application = only(":ContainerApplication").inputs;
    expect(application).not.toHaveProperty("workerVersion");
    expect(application).toMatchObject({
      accountId: ACCOUNT,
      name: "claude-sandbox-dev",
      image: `registry.cloudflare.com/${ACCOUNT}/claude-sandbox-dev@${MOCK_DIGEST}`,
      instanceType: "standard-2",
      maxInstances: 7,
      className: "Sandbox",
      scriptName: "claude-sandbox-dev",
      // maxTimeoutMs 600 s, the task object's 30 s and a repository task's two 600 s steps.
      rolloutGracePeriodSeconds: 600 + 30 + 1_200,
    });
  });
});

describe("the Worker upload", () => {
  const upload = () => only(":WorkerScript").inputs;

  it("carries containers for Sandbox only, every Durable Object binding and the ordered migrations together", () => {
    const inputs = upload();
    expect(inputs.containerClasses).toEqual(["Sandbox"]);
    expect(inputs.migrations).toEqual([
      { tag: "v1", newSqliteClasses: ["Sandbox"] },
      { tag: "v2", newSqliteClasses: ["Task", "TaskIndex"] },
      { tag: "v3", newSqliteClasses: ["BranchQueue"] },
    ]);
    const durableObjects = (inputs.bindings as { type: string }[]).filter((binding) => binding.type === "durable_object_namespace");
    expect(durableObjects).toEqual([
      { type: "durable_object_namespace", name: "Sandbox", class_name: "Sandbox" },
      { type: "durable_object_namespace", name: "TASKS", class_name: "Task" },
      { type: "durable_object_namespace", name: "TASK_INDEX", class_name: "TaskIndex" },
      { type: "durable_object_namespace", name: "BRANCH_QUEUES", class_name: "BranchQueue" },
    ]);
  });

  it("binds the task rate limit, per minute, in a namespace of this stack's own", () => {
    const limits = (upload().bindings as { type: string }[]).filter((binding) => binding.type === "ratelimit");
    expect(limits).toEqual([
      { type: "ratelimit", name: "TASK_RATE_LIMIT", namespace_id: rateLimitNamespaceId("claude-sandbox-dev"), simple: { limit: 25, period: 60 } },
    ]);
  });

  it("binds the results bucket under RESULTS", () => {
    expect(upload().bindings).toContainEqual({ type: "r2_bucket", name: "RESULTS", bucket_name: "claude-sandbox-results-dev" });
  });

  it("binds the settings as plain text", () => {
    const plain = Object.fromEntries(
      (upload().bindings as { type: string; name: string; text?: string }[])
        .filter((binding) => binding.type === "plain_text")
        .map((binding) => [binding.name, binding.text]),
    );
    // MAX_BUDGET_USD only with a cap; ALLOW_INSECURE_CALLBACKS is for local development only.
    expect(plain).toEqual({
      ALLOWED_HOSTS: "api.anthropic.com,github.com",
      DEFAULT_TIMEOUT_MS: "300000",
      MAX_TIMEOUT_MS: "600000",
      PERMISSION_MODE: "bypassPermissions",
      CREDENTIAL_MODE: "proxy",
      QUEUE_TIMEOUT_MS: "600000",
      MAX_OUTPUT_BYTES: "1048576",
      RESULT_RETENTION_DAYS: "14",
      ALLOW_WEB_SEARCH: "true",
      GITHUB_APP_ID: "123456",
      GITHUB_REPOS: "acme/website,acme/api",
      GITHUB_API_URL: "https://github.example.com/api/v3",
    });
  });

  it("binds both tokens, the Claude credential, the webhook secret and the GitHub App's key as secrets", () => {
    const secrets = upload().secrets;
    expect(isSecretInput(secrets)).toBe(true);
    expect(unwrap(secrets)).toEqual({
      SERVER_AUTH_TOKEN: mockRandomHex("api-tokens-slot-b", { generation: "2" }),
      SERVER_AUTH_TOKEN_PREVIOUS: mockRandomHex("api-tokens-slot-a", { generation: "1" }),
      CLAUDE_CODE_OAUTH_TOKEN: CREDENTIAL,
      WEBHOOK_SECRET: WEBHOOK_SECRET,
      GITHUB_APP_PRIVATE_KEY: APP_KEY,
    });
    expect(Buffer.from(WEBHOOK_SECRET.slice("whsec_".length), "base64")).toHaveLength(32);
  });

  it("manages every secret binding name, the GitHub ones included, so one no longer configured is removed", () => {
    expect(upload().managedSecretNames).toEqual(Object.values(SECRET_BINDINGS));
    expect(upload().managedSecretNames).toEqual(expect.arrayContaining(["GITHUB_TOKEN", "GITHUB_APP_PRIVATE_KEY"]));
  });

  it("puts no secret in a plain binding or any other plain input", () => {
    const { secrets: _secrets, ...plainInputs } = upload();
    const text = JSON.stringify(plainInputs);
    const tokens = Object.values(unwrap<Record<string, string>>(upload().secrets));
    expect(tokens).toContain(APP_KEY);
    for (const secret of [...tokens, ...keyLines(APP_KEY)]) expect(text).not.toContain(secret);
  });

  it("uses the compatibility date and nodejs_compat, with observability on", () => {
    expect(upload()).toMatchObject({
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ["nodejs_compat"],
      observability: true,
      mainModule: "index.js",
    });
  });

  it("uploads the esbuild bundle written at program run, by its path from the project root and its digest", () => {
    const modules = upload().modules as { name: string; path: string; contentType: string; sha256: string }[];
    expect(modules.map((module) => [module.name, module.path, module.contentType])).toEqual([
      ["index.js", "dist/worker/index.js", "application/javascript+module"],
      ["index.js.map", "dist/worker/index.js.map", "application/source-map"],
    ]);
    for (const module of modules) {
      expect(createHash("sha256").update(readFileSync(module.path)).digest("hex")).toBe(module.sha256);
    }
  });

  it("uploads the web console built at program run as static assets, by hash, routed as the contract says", async () => {
    const assets = upload().assets as WorkerAssets;
    expect(assets.directory).toBe("dist/assets");
    expect(assets.manifest).toEqual(await buildAssetManifest(resolve(assets.directory)));
    expect(assets.manifest).toHaveProperty(["/console/index.html"]);
    expect(assets.config.run_worker_first).toEqual(["/*", "!/console/*"]);
  });

  it("protects the Worker, and does not take over one that exists already", () => {
    expect(only(":WorkerScript").options.protect).toBe(true);
    expect(upload().adoptExisting).toBe(false);
    // Only the Worker: the other resources hold nothing a redeploy cannot restore, or are retained.
    expect(resources.filter((resource) => resource.options.protect).map((resource) => resource.name)).toEqual(["worker-script"]);
  });

  it("turns on the workers.dev address", () => {
    expect(only("WorkersScriptSubdomain").inputs).toMatchObject({
      accountId: ACCOUNT,
      scriptName: "claude-sandbox-dev",
      enabled: true,
      previewsEnabled: false,
    });
  });
});

describe("stack outputs", () => {
  /** Every export of the program that is a Pulumi output: the stack outputs. */
  const stackOutputs = () =>
    Object.entries(program as Record<string, unknown>).filter((entry): entry is [string, pulumi.Output<unknown>] =>
      pulumi.Output.isInstance(entry[1]),
    );

  it("exports url, consoleUrl, mcpUrl, the secrets, the token generation and slots, bucketName, image, workerName, containerApplicationId", async () => {
    expect(stackOutputs().map(([name]) => name).sort()).toEqual(
      [
        "authTokenGeneration",
        "consoleUrl",
        "mcpUrl",
        "bucketName",
        "containerApplicationId",
        "currentTokenSlot",
        "image",
        "previousTokenSlot",
        "serverAuthToken",
        "url",
        "webhookSecret",
        "workerName",
      ].sort(),
    );
    expect(await valueOf(program.url)).toBe(`https://claude-sandbox-dev.${MOCK_WORKERS_DEV}`);
    expect(await valueOf(program.consoleUrl)).toBe(`https://claude-sandbox-dev.${MOCK_WORKERS_DEV}/console/`);
    expect(await valueOf(program.mcpUrl)).toBe(`https://claude-sandbox-dev.${MOCK_WORKERS_DEV}/mcp`);
    // The deployed generation, as the update recorded it: what the rotate-token workflow reads.
    expect(await valueOf(program.authTokenGeneration)).toBe(2);
    expect(await valueOf(program.bucketName)).toBe("claude-sandbox-results-dev");
    expect(await valueOf(program.image)).toBe(`registry.cloudflare.com/${ACCOUNT}/claude-sandbox-dev@${MOCK_DIGEST}`);
    expect(await valueOf(program.workerName)).toBe("claude-sandbox-dev");
    expect(await valueOf(program.containerApplicationId)).toBe("application-1");
    expect(await valueOf(program.serverAuthToken)).toBe(mockRandomHex("api-tokens-slot-b", { generation: "2" }));
    expect(await valueOf(program.webhookSecret)).toBe(WEBHOOK_SECRET);
  });

  it("names the URN of each token slot, the current one (b at generation 2) and the previous one", async () => {
    const slotUrn = (slot: string) =>
      `urn:pulumi:dev::claude-sandbox::claude-sandbox:index:AuthTokens$random:index/randomBytes:RandomBytes::api-tokens-slot-${slot}`;
    expect(await valueOf(program.currentTokenSlot)).toBe(slotUrn("b"));
    expect(await valueOf(program.previousTokenSlot)).toBe(slotUrn("a"));
    expect(registeredUrns()).toEqual(expect.arrayContaining([slotUrn("a"), slotUrn("b")]));
    // docs/operations.md gives both, for any stack.
    const operations = readFileSync("docs/operations.md", "utf8");
    for (const slot of ["a", "b"]) expect(operations).toContain(slotUrn(slot).replace("urn:pulumi:dev::", "urn:pulumi:<stack>::"));
  });

  it("keeps the token and the webhook secret secret, and every other output plain", async () => {
    for (const [name, output] of stackOutputs()) {
      expect(await pulumi.isSecret(output), name).toBe(name === "serverAuthToken" || name === "webhookSecret");
    }
  });

  it("never exports the Claude credential or the GitHub App's key, and no secret in a plain output", async () => {
    const secrets = [CREDENTIAL, ...Object.values(unwrap<Record<string, string>>(only(":WorkerScript").inputs.secrets))];
    for (const [name, output] of stackOutputs()) {
      const text = JSON.stringify(await valueOf(output as pulumi.Output<unknown>));
      for (const credential of [CREDENTIAL, APP_KEY, JSON.stringify(APP_KEY).slice(1, -1), ...keyLines(APP_KEY)]) {
        expect(text, name).not.toContain(credential);
      }
      if (!(await pulumi.isSecret(output))) for (const secret of secrets) expect(text, name).not.toContain(secret);
    }
  });
});
