/** Token rotation: raising authTokenGeneration by one regenerates exactly the older slot. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthTokens, slotGenerations, TOKEN_BYTES } from "../../infra/components/auth-tokens.js";
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
