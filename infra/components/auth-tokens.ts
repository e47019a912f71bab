/**
 * The API's bearer tokens: two slots of 256 random bits each (64 hex characters,
 * URL-safe). `generation` picks the current slot: odd generations use slot A,
 * even ones slot B. Each slot's keeper is the last generation of its parity, so
 * raising `generation` by one regenerates exactly the older slot, which becomes
 * current, while the other slot (the previous token) stays valid until the next
 * rotation. A generation below the deployed one is refused before anything
 * changes (infra/providers/token-generation.ts).
 *
 * Replacing a slot (`pulumi up --replace <urn>`) gives it a new value at once:
 * the previous slot to revoke an old token, the current one to cut every client
 * off (docs/operations.md).
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { TokenGeneration } from "../providers/token-generation.js";

export interface AuthTokensArgs {
  /** Rotation counter, from 1; raise by one to rotate. */
  generation: number;
}

/** Bytes of randomness per token: 32 bytes = 256 bits. */
export const TOKEN_BYTES = 32;

/** The generation each slot was last regenerated for, given the current generation. */
export function slotGenerations(generation: number): { a: number; b: number; current: "a" | "b" } {
  const odd = generation % 2 === 1;
  return { a: odd ? generation : generation - 1, b: odd ? generation - 1 : generation, current: odd ? "a" : "b" };
}

export class AuthTokens extends pulumi.ComponentResource {
  /** The token clients use now. */
  readonly current: pulumi.Output<string>;
  /** The token of the previous generation; undefined before the first rotation. */
  readonly previous: pulumi.Output<string> | undefined;
  /** The generation the stack is deployed with, as recorded by the update. */
  readonly generation: pulumi.Output<number>;
  /** URN of the slot that holds the current token. */
  readonly currentSlotUrn: pulumi.Output<string>;
  /** URN of the other slot: the previous token (unused at generation 1). */
  readonly previousSlotUrn: pulumi.Output<string>;

  constructor(name: string, args: AuthTokensArgs, opts?: pulumi.ComponentResourceOptions) {
    super("claude-sandbox:index:AuthTokens", name, {}, opts);
    if (!Number.isInteger(args.generation) || args.generation < 1) {
      throw new Error(`AuthTokens ${name}: generation must be an integer of at least 1, got ${args.generation}`);
    }
    const guard = new TokenGeneration(`${name}-generation`, { generation: args.generation }, { parent: this });
    const slots = slotGenerations(args.generation);
    const slot = (id: "a" | "b") =>
      new random.RandomBytes(
        `${name}-slot-${id}`,
        { length: TOKEN_BYTES, keepers: { generation: String(slots[id]) } },
        // A refused generation stops the update before either slot changes.
        { parent: this, dependsOn: [guard], additionalSecretOutputs: ["hex", "base64"] },
      );
    const a = slot("a");
    const b = slot("b");
    const [current, previous] = slots.current === "a" ? [a, b] : [b, a];

    this.generation = guard.generation;
    this.current = pulumi.secret(current.hex);
    // Generation 1 has no previous token: the other slot was never handed out.
    this.previous = args.generation > 1 ? pulumi.secret(previous.hex) : undefined;
    this.currentSlotUrn = current.urn;
    this.previousSlotUrn = previous.urn;
    this.registerOutputs({
      generation: this.generation,
      current: this.current,
      previous: this.previous,
      currentSlotUrn: this.currentSlotUrn,
      previousSlotUrn: this.previousSlotUrn,
    });
  }
}
