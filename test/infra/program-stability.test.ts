/**
 * A second run of the program computes exactly what the first did, so a
 * `pulumi preview --expect-no-changes` right after `pulumi up` has nothing to
 * show for the resources whose inputs the program computes: no timestamp, no
 * random value of its own, no path that differs between checkouts in any input
 * the providers compare (the Worker provider compares modules by digest, tested
 * in worker-script.test.ts). Each run is evaluated under fresh mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { installMocks, type RecordedResource, valueOf } from "./fixtures/pulumi-mocks.js";

const CONFIG = {
  "claude-sandbox:accountId": "0123456789abcdef0123456789abcdef",
  "claude-sandbox:claudeOauthToken": "fake-oauth-stability-test",
  "claude-sandbox:authTokenGeneration": "3",
  "claude-sandbox:maxBudgetUsd": "4",
};

/** The program's resources and outputs after one evaluation. */
async function evaluate(): Promise<{ resources: RecordedResource[]; outputs: Record<string, unknown> }> {
  vi.resetModules();
  const resources = await installMocks({
    config: CONFIG,
    secretKeys: ["claude-sandbox:claudeOauthToken"],
    preview: true,
  });
  const program = await import("../../infra/index.js");
  const outputs: Record<string, unknown> = {};
  for (const [name, output] of Object.entries(program)) outputs[name] = await valueOf(output as pulumi.Output<unknown>);
  // Let every registration of this run finish before the next run replaces the mocks.
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return { resources, outputs };
}

/** What the engine compares: each resource's type, name, inputs and options, without the serialized provider code. */
function comparable(resources: RecordedResource[]) {
  return resources
    .map(({ type, name, inputs, options }) => {
      const { __provider: _code, ...compared } = inputs;
      return { type, name, inputs: compared, options };
    })
    .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
}

describe("the program run twice", () => {
  it("registers the same resources with the same inputs and options, and exports the same outputs", async () => {
    const first = await evaluate();
    const second = await evaluate();
    expect(first.resources.length).toBeGreaterThan(10);
    expect(comparable(second.resources)).toEqual(comparable(first.resources));
    expect(second.outputs).toEqual(first.outputs);
  }, 120_000);
});
