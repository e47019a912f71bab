/**
 * The deployment's webhook signing secret, in the Standard Webhooks format
 * (standardwebhooks.com): `whsec_` and the base64 of 32 random bytes. The
 * Worker signs each delivery with it (`WEBHOOK_SECRET`); receivers verify with
 * the same value, read from the secret stack output `webhookSecret`. It is a
 * secret from the random provider to the binding, and stays the same across
 * updates; `pulumi up --replace <urn>` gives it a new value.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Bytes of randomness in the secret: 32 bytes = 256 bits. */
const WEBHOOK_SECRET_BYTES = 32;

/** The Standard Webhooks secret prefix. */
export const WEBHOOK_SECRET_PREFIX = "whsec_";

export class WebhookSecret extends pulumi.ComponentResource {
  /** `whsec_<base64>`, a secret. */
  readonly value: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("claude-sandbox:index:WebhookSecret", name, {}, opts);
    const bytes = new random.RandomBytes(
      `${name}-bytes`,
      { length: WEBHOOK_SECRET_BYTES },
      { parent: this, additionalSecretOutputs: ["hex", "base64"] },
    );
    this.value = pulumi.secret(pulumi.interpolate`${WEBHOOK_SECRET_PREFIX}${bytes.base64}`);
    this.registerOutputs({ value: this.value });
  }
}
