/**
 * The program for a stack with a prebuilt image, an Anthropic API key, env
 * credential mode, a budget cap, web search off, a fine-grained GitHub token
 * and the first token generation: evaluated as a real
 * (non-preview) run under mocks, it needs no network, builds nothing, and binds
 * what that configuration calls for.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { installMocks, isSecretInput, type RecordedResource, unwrap, valueOf } from "./fixtures/pulumi-mocks.js";

const ACCOUNT = "fedcba9876543210fedcba9876543210";
const API_KEY = "fake-apikey-program-variant-key";
const GITHUB_TOKEN = "github_pat_11fakeProgramVariantToken";
const IMAGE = `registry.cloudflare.com/${ACCOUNT}/prebuilt@sha256:${"c".repeat(64)}`;

let resources: RecordedResource[];
let program: typeof import("../../infra/index.js");

beforeAll(async () => {
  const saved = globalThis.fetch;
  // Any network use fails the run.
  globalThis.fetch = (() => Promise.reject(new Error("network used during a mocked run"))) as typeof fetch;
  try {
    resources = await installMocks({
      stack: "staging",
      preview: false,
      config: {
        "claude-sandbox:accountId": ACCOUNT,
        "claude-sandbox:anthropicApiKey": API_KEY,
        "claude-sandbox:sandboxImage": IMAGE,
        "claude-sandbox:credentialMode": "env",
        "claude-sandbox:workerName": "agents-staging",
        "claude-sandbox:maxBudgetUsd": "2.50",
        "claude-sandbox:allowWebSearch": "false",
        "claude-sandbox:githubToken": GITHUB_TOKEN,
        "claude-sandbox:protectWorker": "false",
        "claude-sandbox:adoptExistingWorker": "true",
        "claude-sandbox:accessTeamDomain": "Acme.cloudflareaccess.com",
        "claude-sandbox:accessAudience": "a".repeat(64),
      },
      secretKeys: ["claude-sandbox:anthropicApiKey", "claude-sandbox:githubToken"],
    });
    // The program runs when its module is evaluated: evaluate it afresh for these mocks.
    vi.resetModules();
    program = await import("../../infra/index.js");
    await valueOf(program.containerApplicationId);
  } finally {
    globalThis.fetch = saved;
  }
}, 60_000);

const only = (suffix: string) => resources.filter((resource) => resource.type.endsWith(suffix));

describe("a stack with a prebuilt image and an API key", () => {
  it("builds no image and gives the application the prebuilt reference", async () => {
    expect(only("docker:index/image:Image")).toEqual([]);
    expect(only(":ContainerApplication")[0]!.inputs.image).toBe(IMAGE);
    expect(await valueOf(program.image)).toBe(IMAGE);
  });

  it("binds the API key and the GitHub token as secrets, with no previous token at generation 1", () => {
    const upload = only(":WorkerScript")[0]!.inputs;
    expect(isSecretInput(upload.secrets)).toBe(true);
    const secrets = unwrap<Record<string, string>>(upload.secrets);
    expect(Object.keys(secrets).sort()).toEqual(["ANTHROPIC_API_KEY", "GITHUB_TOKEN", "SERVER_AUTH_TOKEN", "WEBHOOK_SECRET"]);
    expect(secrets.ANTHROPIC_API_KEY).toBe(API_KEY);
    expect(secrets.GITHUB_TOKEN).toBe(GITHUB_TOKEN);
    const { secrets: _secrets, ...plainInputs } = upload;
    for (const secret of [API_KEY, GITHUB_TOKEN]) expect(JSON.stringify(plainInputs)).not.toContain(secret);
    expect(upload.bindings).toContainEqual({ type: "plain_text", name: "CREDENTIAL_MODE", text: "env" });
  });

  it("binds no GitHub App id and no repository list with a token and no githubRepos", () => {
    const names = (only(":WorkerScript")[0]!.inputs.bindings as { name: string }[]).map((binding) => binding.name);
    expect(names).not.toContain("GITHUB_APP_ID");
    expect(names).not.toContain("GITHUB_REPOS");
    expect(names).not.toContain("GITHUB_API_URL");
  });

  it("binds the budget cap and web search off as plain settings", () => {
    const bindings = only(":WorkerScript")[0]!.inputs.bindings;
    expect(bindings).toContainEqual({ type: "plain_text", name: "MAX_BUDGET_USD", text: "2.5" });
    expect(bindings).toContainEqual({ type: "plain_text", name: "ALLOW_WEB_SEARCH", text: "false" });
  });

  it("leaves the Worker unprotected and lets it take over an existing Worker, as the stack says", () => {
    expect(only(":WorkerScript")[0]!.options.protect).toBe(false);
    expect(only(":WorkerScript")[0]!.inputs.adoptExisting).toBe(true);
  });

  it("binds the Cloudflare Access team domain (in lower case) and audience as plain settings", () => {
    const bindings = only(":WorkerScript")[0]!.inputs.bindings;
    expect(bindings).toContainEqual({ type: "plain_text", name: "ACCESS_TEAM_DOMAIN", text: "acme.cloudflareaccess.com" });
    expect(bindings).toContainEqual({ type: "plain_text", name: "ACCESS_AUDIENCE", text: "a".repeat(64) });
  });

  it("uses the configured Worker name and a bucket named for the stack", async () => {
    expect(await valueOf(program.workerName)).toBe("agents-staging");
    expect(await valueOf(program.bucketName)).toBe("claude-sandbox-results-staging");
    expect(await pulumi.isSecret(program.serverAuthToken)).toBe(true);
  });

  it("exports neither credential, in any output", async () => {
    for (const [name, output] of Object.entries(program)) {
      if (!pulumi.Output.isInstance(output)) continue;
      const text = JSON.stringify(await valueOf(output as pulumi.Output<unknown>));
      for (const secret of [API_KEY, GITHUB_TOKEN]) expect(text, name).not.toContain(secret);
    }
  });
});
