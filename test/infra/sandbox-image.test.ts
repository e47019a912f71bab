/** The sandbox image: built and pushed with short-lived credentials, or a prebuilt reference. */
import { beforeAll, describe, expect, it } from "vitest";
import { dockerfileTag, SandboxImage } from "../../infra/components/sandbox-image.js";
import { installMocks, isSecretInput, MOCK_DIGEST, type RecordedResource, unwrap, valueOf } from "./fixtures/pulumi-mocks.js";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
let resources: RecordedResource[];

beforeAll(async () => {
  // Not a preview: credentials are fetched for the push.
  resources = await installMocks({ config: {}, preview: false });
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
