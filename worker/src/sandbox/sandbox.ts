/**
 * The Sandbox Durable Object: the SDK's Sandbox with this deployment's egress
 * policy. One instance (and one container) exists per task id. A repository
 * task grants its sandbox's git one repository (and the branch it may push)
 * with `grantRepository`; the git door then serves that host for this
 * instance only, adding the credential outside the container.
 */
import { Sandbox as SandboxBase } from "@cloudflare/sandbox";
import { ANTHROPIC_API_HOST } from "../contract.js";
import type { WorkerEnv } from "../env.js";
import { type GitAccessGrant, gitDoorWithCredentials } from "../egress/git-credentials.js";
import { egressPolicy, forwardToAnthropic } from "../egress/anthropic-door.js";

export class Sandbox extends SandboxBase<WorkerEnv> {
  /** Intercept HTTPS too, so the credential can be added to Anthropic API calls outside the container. */
  override interceptHttps = true;
  /** No general internet: only `allowedHosts`. */
  override enableInternet = false;

  constructor(ctx: DurableObjectState<{}>, env: WorkerEnv) {
    super(ctx, env);
    this.allowedHosts = egressPolicy(env).allowedHosts;
  }

  /** Opens the git door for the task's repository on this sandbox (and only this one). */
  async grantRepository(grant: GitAccessGrant): Promise<void> {
    await this.setOutboundByHost(grant.host, "gitDoor", grant);
  }
}

Sandbox.outboundHandlers = {
  gitDoor: (request: Request, env: WorkerEnv, ctx: { params?: unknown }) => gitDoorWithCredentials(request, env, ctx.params as GitAccessGrant),
};

Sandbox.outboundByHost = {
  [ANTHROPIC_API_HOST]: (request: Request, env: WorkerEnv) => forwardToAnthropic(request, env),
};
