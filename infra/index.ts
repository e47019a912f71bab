/**
 * The claude-sandbox stack: the results bucket, the API tokens, the webhook
 * secret, the sandbox image, the Worker with its Durable Objects, and the
 * container application. Config is read once (infra/config.ts); see
 * docs/architecture.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { AuthTokens } from "./components/auth-tokens.js";
import { ResultsBucket } from "./components/results-bucket.js";
import { SandboxContainers } from "./components/sandbox-containers.js";
import { SandboxImage } from "./components/sandbox-image.js";
import { SandboxWorker } from "./components/sandbox-worker.js";
import { WebhookSecret } from "./components/webhook-secret.js";
import { CONSOLE_ASSETS } from "../worker/src/contract.js";
import { readConfig } from "./config.js";

const config = readConfig();

const results = new ResultsBucket("results", {
  accountId: config.accountId,
  bucketName: config.bucketName,
  retentionDays: config.resultRetentionDays,
});

const tokens = new AuthTokens("api-tokens", { generation: config.authTokenGeneration });

const webhooks = new WebhookSecret("webhook-secret");

const sandboxImage = new SandboxImage("sandbox-image", {
  accountId: config.accountId,
  repository: config.workerName,
  prebuiltImage: config.sandboxImage,
});

const worker = new SandboxWorker("worker", {
  accountId: config.accountId,
  workerName: config.workerName,
  bucketName: results.bucketName,
  authToken: tokens.current,
  previousAuthToken: tokens.previous,
  claudeCredential: config.claudeCredential,
  webhookSecret: webhooks.value,
  githubCredential: config.githubCredential,
  settings: config,
  adoptExisting: config.adoptExistingWorker,
  protect: config.protectWorker,
});

const containers = new SandboxContainers(
  "sandbox-containers",
  {
    accountId: config.accountId,
    name: config.workerName,
    image: sandboxImage.image,
    instanceType: config.instanceType,
    maxInstances: config.maxInstances,
    maxTimeoutMs: config.maxTimeoutMs,
    scriptName: worker.scriptName,
  },
  { dependsOn: [worker] },
);

/** The API's base URL (workers.dev). */
export const url = worker.url;
/** The web console. */
export const consoleUrl = pulumi.interpolate`${worker.url}${CONSOLE_ASSETS.consolePath}`;
/** The MCP endpoint for agents (`claude mcp add --transport http claude-sandbox <mcpUrl> --header "Authorization: Bearer <token>"`). */
export const mcpUrl = pulumi.interpolate`${worker.url}/mcp`;
/** The current bearer token (secret): `pulumi stack output serverAuthToken --show-secrets`. */
export const serverAuthToken = pulumi.secret(tokens.current);
/** The webhook signing secret, `whsec_<base64>` (secret): `pulumi stack output webhookSecret --show-secrets`. */
export const webhookSecret = pulumi.secret(webhooks.value);
/** The deployed `authTokenGeneration`: the rotate-token workflow raises the larger of it and the stack file's by one. */
export const authTokenGeneration = tokens.generation;
/** URN of the token slot that holds the current token (`pulumi up --replace` it to cut every client off). */
export const currentTokenSlot = tokens.currentSlotUrn;
/** URN of the token slot that holds the previous token (`pulumi up --replace` it to revoke that token now). */
export const previousTokenSlot = tokens.previousSlotUrn;
/** The R2 bucket with the task results. */
export const bucketName = results.bucketName;
/** The image the sandboxes run. */
export const image = sandboxImage.image;
/** The Worker's name. */
export const workerName = worker.scriptName;
/** The Cloudflare Containers application id. */
export const containerApplicationId = containers.applicationId;
