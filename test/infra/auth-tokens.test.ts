/**
 * Token rotation: raising authTokenGeneration by one regenerates exactly the
 * older slot; lowering it, or raising it by more than one, is refused before
 * any slot changes.
 */
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthTokens, slotGenerations, TOKEN_BYTES } from "../../infra/components/auth-tokens.js";
import { TokenGenerationProvider } from "../../infra/providers/token-generation.js";
import { installMocks, mockRandomHex, type RecordedResource, valueOf } from "./fixtures/pulumi-mocks.js";

let resources: RecordedResource[];
beforeAll(async () => {
  resources = await installMocks({ config: {} });
});

/** The tokens of generation `g`, as the mocked random provider would produce them. */
async function tokensAt(generation: number) {
  const name = `gen${generation}`;
  const tokens = new AuthTokens(name, { generation });
  const current = await valueOf(tokens.current);
  const previous = tokens.previous ? await valueOf(tokens.previous) : undefined;
  const slots = resources.filter((resource) => resource.name.startsWith(`${name}-slot-`));
  return { tokens, current, previous, slots };
}

/** The value a slot holds at a generation (the mock derives it from the slot and its keepers). */
const slotValue = (slot: "a" | "b", generation: number) =>
  mockRandomHex(`gen${generation}-slot-${slot}`, { generation: String(slotGenerations(generation)[slot]) });

describe("AuthTokens", () => {
  it("makes two 256-bit random slots, each kept by a generation", async () => {
    const { slots } = await tokensAt(1);
    expect(slots.map((slot) => [slot.name, slot.inputs.length, slot.inputs.keepers])).toEqual([
      ["gen1-slot-a", TOKEN_BYTES, { generation: "1" }],
      ["gen1-slot-b", TOKEN_BYTES, { generation: "0" }],
    ]);
    expect(TOKEN_BYTES * 8).toBeGreaterThanOrEqual(256);
  });

  it.each([
    [1, { a: 1, b: 0, current: "a" }],
    [2, { a: 1, b: 2, current: "b" }],
    [3, { a: 3, b: 2, current: "a" }],
    [4, { a: 3, b: 4, current: "b" }],
  ])("generation %i: keepers and current slot are %j", (generation, expected) => {
    expect(slotGenerations(generation)).toEqual(expected);
  });

  it("from generation 1 to 4, each raise changes only the older slot, which becomes current", () => {
    for (let generation = 2; generation <= 4; generation++) {
      const before = slotGenerations(generation - 1);
      const after = slotGenerations(generation);
      const changed = (["a", "b"] as const).filter((slot) => before[slot] !== after[slot]);
      // Exactly one slot's keeper changes: the one that was not current.
      expect(changed).toEqual([before.current === "a" ? "b" : "a"]);
      expect(after.current).toBe(changed[0]);
    }
  });

  it("binds the previous generation's token as the previous token", async () => {
    const results = [];
    for (let generation = 1; generation <= 4; generation++) results.push(await tokensAt(generation));
    expect(results[0]!.previous).toBeUndefined();
    for (let generation = 2; generation <= 4; generation++) {
      const { current, previous } = results[generation - 1]!;
      const before = results[generation - 2]!;
      expect(previous, `generation ${generation}`).toBe(before.current);
      expect(current).not.toBe(before.current);
      expect(current).toBe(slotValue(slotGenerations(generation).current, generation));
    }
  });

  it("returns both tokens as secrets", async () => {
    const { tokens } = await tokensAt(2);
    expect(await pulumi.isSecret(tokens.current)).toBe(true);
    expect(await pulumi.isSecret(tokens.previous!)).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses generation %s", (generation) => {
    expect(() => new AuthTokens(`bad${generation}`, { generation })).toThrow(/generation must be an integer of at least 1/);
  });
});

describe("the deployed generation", () => {
  const provider = new TokenGenerationProvider();

  it.each([
    ["the first deploy", {}, 1],
    ["the same generation", { generation: 3 }, 3],
    ["a rotation", { generation: 3 }, 4],
    ["any generation on a first deploy", {}, 7],
  ])("accepts %s", async (_, olds, generation) => {
    expect(await provider.check(olds, { generation })).toEqual({ inputs: { generation }, failures: [] });
  });

  it("refuses a generation below the deployed one, saying what to do (an older stack file would undo a rotation)", async () => {
    const { failures } = await provider.check({ generation: 4 }, { generation: 3 });
    expect(failures).toEqual([
      {
        property: "generation",
        reason:
          "authTokenGeneration is 3, below the deployed 4: lowering it would regenerate the token clients use now. " +
          "This stack file is older than the last rotation: set it to at least 4 " +
          "(pulumi config set --type int authTokenGeneration 4) or deploy the latest Pulumi.<stack>.yaml.",
      },
    ]);
  });

  it.each([
    [3, 5],
    [1, 10],
  ])("refuses a raise from %i to %i, which would replace both tokens at once, pointing to revoke", async (deployed, generation) => {
    const { failures } = await provider.check({ generation: deployed }, { generation });
    expect(failures).toEqual([
      {
        property: "generation",
        reason:
          `authTokenGeneration is ${generation}, ${generation - deployed} above the deployed ${deployed}: raising it by more than one ` +
          "regenerates both tokens and cuts every client off without warning. Raise it by one to rotate " +
          `(pulumi config set --type int authTokenGeneration ${deployed + 1}); to cut both earlier tokens off on purpose, ` +
          "revoke them: the rotate-token workflow's revoke, or docs/operations.md, \"Revoke a token at once\".",
      },
    ]);
    // The section it names exists.
    expect(readFileSync("docs/operations.md", "utf8")).toContain("### Revoke a token at once");
  });

  it.each([0, 1.5])("refuses generation %s", async (generation) => {
    expect((await provider.check({}, { generation })).failures).toEqual([
      { property: "generation", reason: "authTokenGeneration must be an integer of at least 1" },
    ]);
  });

  it("records a new generation in place, and nothing for the same one", async () => {
    expect(await provider.diff("id", { generation: 2 }, { generation: 3 })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect((await provider.diff("id", { generation: 3 }, { generation: 3 })).changes).toBe(false);
    expect(await provider.update("id", { generation: 2 }, { generation: 3 })).toEqual({ outs: { generation: 3 } });
  });

  it("is what both slots wait for", async () => {
    const { slots } = await tokensAt(5);
    const guard = resources.find((resource) => resource.name === "gen5-generation");
    expect(guard?.type).toBe("pulumi-nodejs:dynamic/claude-sandbox:TokenGeneration");
    // The plain config number: its check never meets a value unknown during preview.
    expect(guard?.inputs.generation).toBe(5);
    for (const slot of slots) {
      expect(slot.options.dependencies.some((urn) => urn.endsWith("::gen5-generation")), slot.name).toBe(true);
    }
  });
});
