/**
 * The Sandbox Durable Object: the SDK's Sandbox with this deployment's egress
 * policy. One instance (and one container) exists per task id.
 */
import { Sandbox as SandboxBase } from "@cloudflare/sandbox";
import { ANTHROPIC_API_HOST } from "../contract.js";
import type { WorkerEnv } from "../env.js";
import { egressPolicy, forwardToAnthropic } from "../egress/outbound.js";

export class Sandbox extends SandboxBase<WorkerEnv> {
  /** Intercept HTTPS too, so the credential can be added to Anthropic API calls outside the container. */
  override interceptHttps = true;
  /** No general internet: only `allowedHosts`. */
  override enableInternet = false;

  constructor(ctx: DurableObjectState<{}>, env: WorkerEnv) {
    super(ctx, env);
    this.allowedHosts = egressPolicy(env).allowedHosts;
  }
}

Sandbox.outboundByHost = {
  [ANTHROPIC_API_HOST]: (request: Request, env: WorkerEnv) => forwardToAnthropic(request, env),
};
