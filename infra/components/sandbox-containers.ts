/**
 * The Cloudflare Containers application that runs the sandbox image for the
 * Worker's Sandbox Durable Object class: which image, on which instance type,
 * and how many at once. It is created after the Worker upload that enables
 * containers for the class, and rolled out to a new image in place, in steps,
 * without cutting short a task that is running.
 */
import * as pulumi from "@pulumi/pulumi";
import { LIMITS, SANDBOX_CLASS_NAME } from "../../worker/src/contract.js";
import { taskGraceMs } from "../../worker/src/tasks/lifecycle.js";
import type { InstanceType } from "../config.js";
import { ContainerApplication } from "../providers/container-application.js";

export interface SandboxContainersArgs {
  accountId: string;
  /** Application name, unique in the account (the Worker's name). */
  name: string;
  image: pulumi.Input<string>;
  instanceType: InstanceType;
  maxInstances: number;
  /** The largest task timeout the Worker accepts, in ms (`maxTimeoutMs`). */
  maxTimeoutMs: number;
  scriptName: pulumi.Input<string>;
}

/**
 * The longest a task's container can run, in whole seconds: the largest task
 * timeout, plus the wait of the task's Durable Object beyond it (the Worker's
 * default grace, which the program never changes) and the steps a repository
 * task takes before and after Claude Code. After that the Durable Object ends
 * the task and destroys its container anyway.
 */
export function longestTaskSeconds(maxTimeoutMs: number): number {
  return Math.ceil((maxTimeoutMs + taskGraceMs({ graceMs: LIMITS.deadlineGraceMs, repository: true })) / 1000);
}

export class SandboxContainers extends pulumi.ComponentResource {
  readonly applicationId: pulumi.Output<string>;

  constructor(name: string, args: SandboxContainersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("claude-sandbox:index:SandboxContainers", name, {}, opts);
    const application = new ContainerApplication(
      `${name}-application`,
      {
        accountId: args.accountId,
        name: args.name,
        image: args.image,
        instanceType: args.instanceType,
        maxInstances: args.maxInstances,
        scriptName: args.scriptName,
        className: SANDBOX_CLASS_NAME,
        observability: true,
        rolloutGracePeriodSeconds: longestTaskSeconds(args.maxTimeoutMs),
      },
      { parent: this },
    );
    this.applicationId = application.applicationId;
    this.registerOutputs({ applicationId: this.applicationId });
  }
}
