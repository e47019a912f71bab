/**
 * A Pulumi dynamic resource that records the deployed `authTokenGeneration`,
 * refuses to lower it, and refuses to raise it by more than one.
 *
 * Lowering the generation (a deploy from an older commit, a stale stack file)
 * would change the keeper of the slot that holds the token handed out at the
 * last rotation, so `pulumi up` would regenerate it and cut every client off.
 * Raising it by two or more changes both slots' keepers, so both tokens would
 * be regenerated at once: the same cut, without warning. Cutting both earlier
 * tokens off on purpose is a revocation (docs/operations.md).
 * The check runs in `pulumi preview` and `pulumi up` before any resource
 * changes, and the token slots depend on this resource, so a refused value
 * changes nothing. It calls no API and holds no secret.
 */
import * as pulumi from "@pulumi/pulumi";

/** Inputs and state: the generation the stack is deployed with. */
export interface TokenGenerationInputs {
  generation: number;
}

/** Why the generation `wanted` may not follow the deployed one, or undefined when it may. */
function generationStepReason(deployed: unknown, wanted: unknown): string | undefined {
  if (typeof deployed !== "number" || typeof wanted !== "number") return undefined;
  if (wanted < deployed) {
    return (
      `authTokenGeneration is ${wanted}, below the deployed ${deployed}: lowering it would regenerate the token clients use now. ` +
      `This stack file is older than the last rotation: set it to at least ${deployed} ` +
      `(pulumi config set --type int authTokenGeneration ${deployed}) or deploy the latest Pulumi.<stack>.yaml.`
    );
  }
  if (wanted > deployed + 1) {
    return (
      `authTokenGeneration is ${wanted}, ${wanted - deployed} above the deployed ${deployed}: raising it by more than one ` +
      "regenerates both tokens and cuts every client off without warning. Raise it by one to rotate " +
      `(pulumi config set --type int authTokenGeneration ${deployed + 1}); to cut both earlier tokens off on purpose, ` +
      "revoke them: the rotate-token workflow's revoke, or docs/operations.md, \"Revoke a token at once\"."
    );
  }
  return undefined;
}

export class TokenGenerationProvider
  implements pulumi.dynamic.ResourceProvider<TokenGenerationInputs, TokenGenerationInputs>
{
  /**
   * Refuses a generation below the deployed one or more than one above it
   * (`olds` is empty on the first deploy). The generation is a plain number
   * from the stack config, known in preview too.
   */
  async check(
    olds: Partial<TokenGenerationInputs>,
    news: TokenGenerationInputs,
  ): Promise<pulumi.dynamic.CheckResult<TokenGenerationInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (!(Number.isInteger(news.generation) && news.generation >= 1)) {
      failures.push({ property: "generation", reason: "authTokenGeneration must be an integer of at least 1" });
    }
    const reason = generationStepReason(olds?.generation, news.generation);
    if (reason) failures.push({ property: "generation", reason });
    return { inputs: news, failures };
  }

  async diff(_id: string, olds: TokenGenerationInputs, news: TokenGenerationInputs): Promise<pulumi.dynamic.DiffResult> {
    return { changes: olds.generation !== news.generation, replaces: [], deleteBeforeReplace: false };
  }

  async create(inputs: TokenGenerationInputs): Promise<pulumi.dynamic.CreateResult<TokenGenerationInputs>> {
    return { id: "auth-token-generation", outs: { generation: inputs.generation } };
  }

  async update(
    _id: string,
    _olds: TokenGenerationInputs,
    news: TokenGenerationInputs,
  ): Promise<pulumi.dynamic.UpdateResult<TokenGenerationInputs>> {
    return { outs: { generation: news.generation } };
  }
}

/** The deployed `authTokenGeneration`, which never goes down and goes up one step at a time. */
export class TokenGeneration extends pulumi.dynamic.Resource {
  declare readonly generation: pulumi.Output<number>;

  /** `generation` is a plain number (never an Output), so that check always sees its value. */
  constructor(name: string, args: { generation: number }, opts?: pulumi.CustomResourceOptions) {
    super(new TokenGenerationProvider(), name, args, opts, "claude-sandbox", "TokenGeneration");
  }
}
