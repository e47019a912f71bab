/**
 * The Cloudflare Containers application that runs the sandbox image for the
 * Worker's Sandbox Durable Object class: which image, on which instance type,
 * and how many at once. It is created after the Worker upload that enables
 * containers for the class, and rolled out to a new image in place.
 */
import * as pulumi from "@pulumi/pulumi";
import { SANDBOX_CLASS_NAME } from "../../worker/src/contract.js";
import type { InstanceType } from "../config.js";
import { ContainerApplication } from "../providers/container-application.js";

export interface SandboxContainersArgs {
  accountId: string;
  /** Application name, unique in the account (the Worker's name). */
  name: string;
  image: pulumi.Input<string>;
  instanceType: InstanceType;
  maxInstances: number;
  scriptName: pulumi.Input<string>;
  /** The Worker upload the application belongs to. */
  workerDeploymentId: pulumi.Input<string>;
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
        workerVersion: args.workerDeploymentId,
      },
      { parent: this },
    );
    this.applicationId = application.applicationId;
    this.registerOutputs({ applicationId: this.applicationId });
  }
}
