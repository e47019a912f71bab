/**
 * The R2 bucket that keeps task results (`tasks/<taskId>/result.json`), and the
 * lifecycle rule that deletes them after the retention period.
 *
 * Both are retained on delete: a new `bucketName` (or `pulumi destroy`) leaves
 * the old bucket, its results and its retention rule in the account instead of
 * deleting them; docs/operations.md says how to delete a bucket for good, and
 * how a stack deployed again takes its retained bucket back.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { RESULT_KEY_PREFIX } from "../../worker/src/contract.js";

export interface ResultsBucketArgs {
  accountId: string;
  /** The bucket's name (3-63 lowercase letters, digits, dashes). */
  bucketName: string;
  /** Days after which a stored result is deleted (at least 1). */
  retentionDays: number;
}

const SECONDS_PER_DAY = 86_400;

export class ResultsBucket extends pulumi.ComponentResource {
  /** The bucket's name, for the Worker's R2 binding. */
  readonly bucketName: pulumi.Output<string>;

  constructor(name: string, args: ResultsBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("claude-sandbox:index:ResultsBucket", name, {}, opts);
    if (!Number.isInteger(args.retentionDays) || args.retentionDays < 1) {
      throw new Error(`ResultsBucket ${name}: retentionDays must be an integer of at least 1, got ${args.retentionDays}`);
    }

    const bucket = new cloudflare.R2Bucket(
      `${name}-bucket`,
      { accountId: args.accountId, name: args.bucketName },
      {
        parent: this,
        // Results are data: a changed name must never delete the old bucket before anyone notices.
        retainOnDelete: true,
        // A bucket retained by `pulumi destroy` and imported at the stack's top level
        // (`pulumi import … results-bucket`, docs/operations.md) becomes this one.
        aliases: [{ parent: pulumi.rootStackResource }],
      },
    );

    new cloudflare.R2BucketLifecycle(
      `${name}-retention`,
      {
        accountId: args.accountId,
        bucketName: bucket.name,
        rules: [
          {
            id: `delete-task-results-after-${args.retentionDays}-days`,
            enabled: true,
            conditions: { prefix: RESULT_KEY_PREFIX },
            deleteObjectsTransition: { condition: { type: "Age", maxAge: args.retentionDays * SECONDS_PER_DAY } },
            abortMultipartUploadsTransition: { condition: { type: "Age", maxAge: SECONDS_PER_DAY } },
          },
        ],
      },
      // A retained bucket keeps expiring its results.
      { parent: this, retainOnDelete: true },
    );

    this.bucketName = bucket.name;
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
