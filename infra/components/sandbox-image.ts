/**
 * The sandbox container image. By default it is built from container/Dockerfile
 * for linux/amd64 and pushed to Cloudflare's registry
 * (`registry.cloudflare.com/<accountId>/<repository>:<tag>`) with credentials
 * from the Cloudflare API that last an hour; the application then runs the
 * digest-pinned reference. With a prebuilt image, nothing is built.
 *
 * The build context and Dockerfile are given relative to the project root, and
 * the context's `.dockerignore` leaves every file out (the Dockerfile copies
 * none), so the provider's digest of the context is the Dockerfile's content
 * alone: the same commit is no change from any folder, clone or umask.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../paths.js";
import { apiFailure, connectCloudflare, type ProviderConfigSource } from "../providers/cloudflare-api.js";

/** Cloudflare's container registry. */
export const CLOUDFLARE_REGISTRY = "registry.cloudflare.com";

/** The build context: the directory holding the sandbox image's Dockerfile, from the project root. */
export const CONTAINER_CONTEXT = "container";

/** The Dockerfile, from the project root. */
export const CONTAINER_DOCKERFILE = `${CONTAINER_CONTEXT}/Dockerfile`;

/** Short-lived registry credentials. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface SandboxImageArgs {
  accountId: string;
  /** Repository name in the account's registry namespace (the Worker's name). */
  repository: string;
  /** A prebuilt image reference; when set, nothing is built or pushed. */
  prebuiltImage?: string | undefined;
  /** Fetches push credentials; the default asks the Cloudflare API. Never called during a preview. */
  registryCredentials?: () => Promise<RegistryCredentials>;
}

/** Stack config as the Cloudflare helpers read it (`cloudflare:apiToken`, `cloudflare:baseUrl`). */
export const stackConfigSource: ProviderConfigSource = {
  get: (key) => {
    const [namespace, name] = key.split(":");
    return namespace && name ? new pulumi.Config(namespace).get(name) : undefined;
  },
};

/**
 * How long push credentials last, in minutes. They are fetched when the program
 * starts, before the image is built, so they must outlive a cold build and push
 * of the image (several minutes of build, then a push of a large image).
 */
const REGISTRY_CREDENTIALS_MINUTES = 60;

/** Credentials to push to the account's namespace, valid for {@link REGISTRY_CREDENTIALS_MINUTES}. */
export async function cloudflareRegistryCredentials(accountId: string): Promise<RegistryCredentials> {
  const { client, apiToken } = await connectCloudflare(stackConfigSource);
  try {
    const credentials = await client.containers.registries.credentials.generate(CLOUDFLARE_REGISTRY, {
      account_id: accountId,
      expiration_minutes: REGISTRY_CREDENTIALS_MINUTES,
      permissions: ["push", "pull"],
    });
    return { username: credentials.username, password: credentials.password };
  } catch (error) {
    throw apiFailure(`get push credentials for ${CLOUDFLARE_REGISTRY}`, error, [apiToken]);
  }
}

/** The Dockerfile of this checkout. */
function readDockerfile(): string {
  return readFileSync(join(PROJECT_ROOT, CONTAINER_DOCKERFILE), "utf8");
}

/** The image tag: a digest of the Dockerfile, so an unchanged Dockerfile keeps its tag. */
export function dockerfileTag(dockerfile: string = readDockerfile()): string {
  return `sandbox-${createHash("sha256").update(dockerfile).digest("hex").slice(0, 16)}`;
}

/** A base image reference pinned to its digest, its tag kept for people: `<name>:<tag>@sha256:<64 hex>`. */
const PINNED_BASE = /^[^\s:@]+(:[\w][\w.-]*)?@sha256:[0-9a-f]{64}$/;

/**
 * The base images of a Dockerfile (each `FROM`) that are not pinned to a
 * digest: a tag alone may point at other bytes tomorrow, so the same commit
 * would build another image.
 */
export function unpinnedBaseImages(dockerfile: string): string[] {
  return dockerfile
    .split("\n")
    .map((line) => /^\s*FROM\s+(?:--\S+\s+)*(\S+)/i.exec(line)?.[1])
    .filter((image): image is string => image !== undefined && !PINNED_BASE.test(image));
}

export class SandboxImage extends pulumi.ComponentResource {
  /** The image reference the container application runs (digest-pinned when built here). */
  readonly image: pulumi.Output<string>;

  constructor(name: string, args: SandboxImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("claude-sandbox:index:SandboxImage", name, {}, opts);

    if (args.prebuiltImage) {
      this.image = pulumi.output(args.prebuiltImage);
      this.registerOutputs({ image: this.image });
      return;
    }

    const unpinned = unpinnedBaseImages(readDockerfile());
    if (unpinned.length > 0) {
      pulumi.log.warn(
        `${CONTAINER_DOCKERFILE} starts FROM ${unpinned.join(", ")}, not pinned to a digest: the same commit may build another ` +
          "image later. Pin it as <image>:<tag>@sha256:<digest> (docs/workflows/upgrade.md).",
        this,
      );
    }

    const fetchCredentials = args.registryCredentials ?? (() => cloudflareRegistryCredentials(args.accountId));
    // A preview builds and pushes nothing, so it needs no credentials (and no network).
    const credentials = pulumi.runtime.isDryRun()
      ? pulumi.output<RegistryCredentials>({ username: "", password: "" })
      : pulumi.output(fetchCredentials());

    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: `${CLOUDFLARE_REGISTRY}/${args.accountId}/${args.repository}:${dockerfileTag()}`,
        build: {
          context: CONTAINER_CONTEXT,
          dockerfile: CONTAINER_DOCKERFILE,
          // Cloudflare Containers run linux/amd64 images only.
          platform: "linux/amd64",
        },
        buildOnPreview: false,
        registry: {
          server: CLOUDFLARE_REGISTRY,
          username: credentials.username,
          password: pulumi.secret(credentials.password),
        },
      },
      { parent: this },
    );

    this.image = image.repoDigest;
    this.registerOutputs({ image: this.image });
  }
}
