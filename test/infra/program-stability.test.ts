/**
 * The same commit computes the same thing from any folder: the program,
 * evaluated from two copies of this repository (another clone, a laptop after
 * CI), registers the same resources with the same inputs and options and
 * exports the same outputs, once with a prebuilt image and once building it.
 * So a `pulumi preview --expect-no-changes` after a `pulumi up` made elsewhere
 * has nothing to show: no timestamp, no random value of its own, no absolute
 * path in any input (the bundle, the console's assets and the image's build
 * context are given from the project root). Each run is evaluated under fresh
 * mocks, and builds the Worker bundle and the console inside its own copy.
 */
import * as pulumi from "@pulumi/pulumi";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { copyRepo } from "../cli/fixtures/repo-copy.js";
import { removeTempDirs } from "../cli/fixtures/run-cli-process.js";
import { installMocks, type RecordedResource, valueOf } from "./fixtures/pulumi-mocks.js";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const CONFIG = {
  "claude-sandbox:accountId": ACCOUNT,
  "claude-sandbox:claudeOauthToken": "fake-oauth-stability-test",
  "claude-sandbox:authTokenGeneration": "3",
  "claude-sandbox:maxBudgetUsd": "4",
};
const PREBUILT = { "claude-sandbox:sandboxImage": `registry.cloudflare.com/${ACCOUNT}/sandbox@sha256:${"e".repeat(64)}` };

/** The program's resources and outputs after one evaluation of the checkout at `root`. */
async function evaluate(root: string, config: Record<string, string>): Promise<{ resources: RecordedResource[]; outputs: Record<string, unknown> }> {
  vi.resetModules();
  const resources = await installMocks({ config, secretKeys: ["claude-sandbox:claudeOauthToken"], preview: true });
  const program = (await import(join(root, "infra/index.ts"))) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [name, output] of Object.entries(program)) {
    if (pulumi.Output.isInstance(output)) outputs[name] = await valueOf(output as pulumi.Output<unknown>);
  }
  // Let every registration of this run finish before the next run replaces the mocks.
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return { resources, outputs };
}

/**
 * What the engine compares: each resource's type, name, inputs and options. A
 * dynamic resource's serialized provider code is left out: the dynamic provider
 * host never takes a change of it for a change of the resource.
 */
function comparable(resources: RecordedResource[]) {
  return resources
    .map(({ type, name, inputs, options }) => {
      const { __provider: _code, ...compared } = inputs;
      return { type, name, inputs: compared, options };
    })
    .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
}

let checkouts: [string, string];

beforeAll(() => {
  checkouts = [copyRepo(), copyRepo()];
});

afterAll(() => removeTempDirs());

describe("the program run from two checkouts of the same commit", () => {
  it.each([
    ["a prebuilt image", PREBUILT, false],
    ["building the image", {}, true],
  ])("registers the same resources with the same inputs and options, and the same outputs, with %s", async (_, extra, builds) => {
    const config = { ...CONFIG, ...extra };
    const first = await evaluate(checkouts[0], config);
    const second = await evaluate(checkouts[1], config);

    expect(first.resources.length).toBeGreaterThan(10);
    expect(first.resources.some((resource) => resource.type === "docker:index/image:Image")).toBe(builds);
    expect(comparable(second.resources)).toEqual(comparable(first.resources));
    expect(second.outputs).toEqual(first.outputs);
    // The paths the providers read from are the same words in both: neither checkout's folder is in them.
    const text = JSON.stringify(comparable(first.resources));
    for (const checkout of checkouts) expect(text).not.toContain(checkout);
  }, 180_000);
});
