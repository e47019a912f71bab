/** The sandbox image: built and pushed with credentials that outlast the build, or a prebuilt reference. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  cloudflareRegistryCredentials,
  CONTAINER_CONTEXT,
  CONTAINER_DOCKERFILE,
  dockerfileTag,
  SandboxImage,
  unpinnedBaseImages,
} from "../../infra/components/sandbox-image.js";
import { CloudflareApiStandIn, echoingApiError } from "./fixtures/cloudflare-api-stand-in.js";
import { installMocks, isSecretInput, MOCK_DIGEST, type RecordedResource, unwrap, valueOf } from "./fixtures/pulumi-mocks.js";

const TOKEN = "cf-registry-test-token-never-shown";
const standIn = new CloudflareApiStandIn();

const ACCOUNT = "0123456789abcdef0123456789abcdef";
let resources: RecordedResource[];

beforeAll(async () => {
  // Not a preview: credentials are fetched for the push.
  resources = await installMocks({ config: {}, preview: false });
  await standIn.start();
});

afterAll(async () => {
  await standIn.close();
});

afterEach(() => {
  standIn.reset();
  vi.unstubAllEnvs();
});

describe("cloudflareRegistryCredentials", () => {
  it("asks for push and pull credentials that last an hour, long enough for a cold build and push", async () => {
    vi.stubEnv("CLOUDFLARE_API_TOKEN", TOKEN);
    vi.stubEnv("CLOUDFLARE_BASE_URL", standIn.url);
    standIn.on("POST", "/accounts/:account/containers/registries/:domain/credentials", () => ({
      result: { account_id: ACCOUNT, registry_host: "registry.cloudflare.com", username: "v1:account", password: "pushed-password" },
    }));

    const credentials = await cloudflareRegistryCredentials(ACCOUNT);

    expect(credentials).toEqual({ username: "v1:account", password: "pushed-password" });
    const [request] = standIn.requests;
    expect(request?.pathname).toBe(`/accounts/${ACCOUNT}/containers/registries/registry.cloudflare.com/credentials`);
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.body).toEqual({ expiration_minutes: 60, permissions: ["push", "pull"] });
  });

  it("says what failed, never the token", async () => {
    vi.stubEnv("CLOUDFLARE_API_TOKEN", TOKEN);
    vi.stubEnv("CLOUDFLARE_BASE_URL", standIn.url);
    standIn.on("POST", "/accounts/:account/containers/registries/:domain/credentials", echoingApiError(403, 10000, "Authentication error"));

    const error = await cloudflareRegistryCredentials(ACCOUNT).then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );

    expect(error?.message).toContain("Cloudflare API: could not get push credentials for registry.cloudflare.com: HTTP 403: 10000");
    expect(error?.message).not.toContain(TOKEN);
  });
});

describe("SandboxImage", () => {
  it("pushes to the account's namespace with fetched credentials and returns the digest reference", async () => {
    let fetched = 0;
    const image = new SandboxImage("built", {
      accountId: ACCOUNT,
      repository: "claude-sandbox-dev",
      registryCredentials: async () => {
        fetched++;
        return { username: "v1:account", password: "short-lived-password" };
      },
    });
    expect(await valueOf(image.image)).toBe(`registry.cloudflare.com/${ACCOUNT}/claude-sandbox-dev@${MOCK_DIGEST}`);
    expect(fetched).toBe(1);
    const docker = resources.find((resource) => resource.name === "built-image")!;
    expect(docker.inputs.imageName).toBe(`registry.cloudflare.com/${ACCOUNT}/claude-sandbox-dev:${dockerfileTag()}`);
    expect(isSecretInput(docker.inputs.registry)).toBe(true);
    expect(unwrap(docker.inputs.registry)).toEqual({
      server: "registry.cloudflare.com",
      username: "v1:account",
      password: "short-lived-password",
    });
  });

  it("builds nothing and fetches nothing when a prebuilt image is given", async () => {
    const reference = `registry.cloudflare.com/${ACCOUNT}/custom@sha256:${"a".repeat(64)}`;
    const image = new SandboxImage("prebuilt", {
      accountId: ACCOUNT,
      repository: "claude-sandbox-dev",
      prebuiltImage: reference,
      registryCredentials: async () => {
        throw new Error("must not be called");
      },
    });
    expect(await valueOf(image.image)).toBe(reference);
    expect(resources.filter((resource) => resource.name.startsWith("prebuilt-"))).toEqual([]);
  });

  it("tags by the Dockerfile's content, so an unchanged Dockerfile keeps its tag", () => {
    expect(dockerfileTag("FROM a\n")).toBe(dockerfileTag("FROM a\n"));
    expect(dockerfileTag("FROM a\n")).not.toBe(dockerfileTag("FROM b\n"));
    expect(dockerfileTag()).toMatch(/^sandbox-[0-9a-f]{16}$/);
  });
});

describe("the base image", () => {
  const digest = `sha256:${"0a".repeat(32)}`;

  it.each([
    [`FROM docker.io/cloudflare/sandbox:0.12.10@${digest}\nRUN true\n`, []],
    [`FROM --platform=linux/amd64 docker.io/cloudflare/sandbox@${digest}\n`, []],
    ["FROM docker.io/cloudflare/sandbox:0.12.10\n", ["docker.io/cloudflare/sandbox:0.12.10"]],
    [`FROM docker.io/cloudflare/sandbox:0.12.10@sha256:${"0".repeat(63)}\n`, [`docker.io/cloudflare/sandbox:0.12.10@sha256:${"0".repeat(63)}`]],
    [`FROM a:1@${digest} AS build\nfrom b:latest\n`, ["b:latest"]],
  ])("is pinned only with a whole digest: %j", (dockerfile, unpinned) => {
    expect(unpinnedBaseImages(dockerfile)).toEqual(unpinned);
  });

  it("sends no file as the build context, which the Dockerfile never copies from", () => {
    const ignored = readFileSync(join(CONTAINER_CONTEXT, ".dockerignore"), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("#"));
    expect(ignored).toEqual(["*"]);
    expect(readFileSync(CONTAINER_DOCKERFILE, "utf8")).not.toMatch(/^\s*(COPY|ADD)\s+(?!--from=)/im);
  });
});
