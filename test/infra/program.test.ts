/**
 * The whole Pulumi program under mocks (no Pulumi CLI, no network): every
 * resource and its key inputs, the Worker upload's bindings, containers and
 * migration together, secrets kept secret, and the stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { COMPATIBILITY_DATE } from "../../worker/src/contract.js";
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
    },
    secretKeys: ["claude-sandbox:claudeOauthToken"],
    // A preview: the image is neither built nor pushed, so no registry credentials are fetched.
    preview: true,
  });
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
        "claude-sandbox:index:SandboxContainers sandbox-containers",
        "claude-sandbox:index:SandboxImage sandbox-image",
        "claude-sandbox:index:SandboxWorker worker",
        "cloudflare:index/r2Bucket:R2Bucket results-bucket",
        "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle results-retention",
        "cloudflare:index/workersScriptSubdomain:WorkersScriptSubdomain worker-workers-dev",
        "docker:index/image:Image sandbox-image-image",
        "pulumi-nodejs:dynamic/claude-sandbox:ContainerApplication sandbox-containers-application",
        "pulumi-nodejs:dynamic/claude-sandbox:WorkerScript worker-script",
        "random:index/randomBytes:RandomBytes api-tokens-slot-a",
        "random:index/randomBytes:RandomBytes api-tokens-slot-b",
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
    expect(image.buildOnPreview).toBe(false);
    // The registry password is a secret.
    expect(isSecretInput(image.registry)).toBe(true);
  });

  it("gives the container application the image digest, instance type, max instances and class", () => {
    const application = only(":ContainerApplication").inputs;
    expect(application).toMatchObject({
      accountId: ACCOUNT,
      name: "claude-sandbox-dev",
      image: `registry.cloudflare.com/${ACCOUNT}/claude-sandbox-dev@${MOCK_DIGEST}`,
      instanceType: "standard-2",
      maxInstances: 7,
      className: "Sandbox",
      scriptName: "claude-sandbox-dev",
      workerVersion: "deployment-1",
    });
  });
});

describe("the Worker upload", () => {
  const upload = () => only(":WorkerScript").inputs;

  it("carries containers, the Sandbox Durable Object binding and its migration together", () => {
    const inputs = upload();
    expect(inputs.containerClasses).toEqual(["Sandbox"]);
    expect(inputs.migration).toEqual({ tag: "v1", newSqliteClasses: ["Sandbox"] });
    expect(inputs.bindings).toContainEqual({ type: "durable_object_namespace", name: "Sandbox", class_name: "Sandbox" });
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
    expect(plain).toEqual({
      ALLOWED_HOSTS: "api.anthropic.com,github.com",
      DEFAULT_TIMEOUT_MS: "300000",
      MAX_TIMEOUT_MS: "600000",
      PERMISSION_MODE: "bypassPermissions",
      CREDENTIAL_MODE: "proxy",
    });
  });

  it("binds both tokens and the Claude credential as secrets", () => {
    const secrets = upload().secrets;
    expect(isSecretInput(secrets)).toBe(true);
    expect(unwrap(secrets)).toEqual({
      SERVER_AUTH_TOKEN: mockRandomHex("api-tokens-slot-b", { generation: "2" }),
      SERVER_AUTH_TOKEN_PREVIOUS: mockRandomHex("api-tokens-slot-a", { generation: "1" }),
      CLAUDE_CODE_OAUTH_TOKEN: CREDENTIAL,
    });
  });

  it("puts no secret in a plain binding or any other plain input", () => {
    const { secrets: _secrets, ...plainInputs } = upload();
    const text = JSON.stringify(plainInputs);
    const tokens = Object.values(unwrap<Record<string, string>>(upload().secrets));
    for (const secret of tokens) expect(text).not.toContain(secret);
  });

  it("uses the compatibility date and nodejs_compat, with observability on", () => {
    expect(upload()).toMatchObject({
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ["nodejs_compat"],
      observability: true,
      mainModule: "index.js",
    });
  });

  it("uploads the esbuild bundle written at program run, identified by its digest", () => {
    const modules = upload().modules as { name: string; path: string; contentType: string; sha256: string }[];
    expect(modules.map((module) => [module.name, module.contentType])).toEqual([
      ["index.js", "application/javascript+module"],
      ["index.js.map", "application/source-map"],
    ]);
    for (const module of modules) {
      expect(createHash("sha256").update(readFileSync(module.path)).digest("hex")).toBe(module.sha256);
    }
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
  it("exports url, serverAuthToken (secret), bucketName, image, workerName, containerApplicationId", async () => {
    expect(await valueOf(program.url)).toBe(`https://claude-sandbox-dev.${MOCK_WORKERS_DEV}`);
    expect(await valueOf(program.bucketName)).toBe("claude-sandbox-results-dev");
    expect(await valueOf(program.image)).toBe(`registry.cloudflare.com/${ACCOUNT}/claude-sandbox-dev@${MOCK_DIGEST}`);
    expect(await valueOf(program.workerName)).toBe("claude-sandbox-dev");
    expect(await valueOf(program.containerApplicationId)).toBe("application-1");
    expect(await valueOf(program.serverAuthToken)).toBe(mockRandomHex("api-tokens-slot-b", { generation: "2" }));
    expect(await pulumi.isSecret(program.serverAuthToken)).toBe(true);
  });

  it("never exports the Claude credential, and only the token as a secret", async () => {
    const plainOutputs = [program.url, program.bucketName, program.image, program.workerName, program.containerApplicationId];
    for (const output of plainOutputs) {
      expect(await pulumi.isSecret(output)).toBe(false);
      expect(String(await valueOf(output))).not.toContain(CREDENTIAL);
    }
  });
});
