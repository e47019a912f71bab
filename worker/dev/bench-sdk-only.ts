/**
 * The Sandbox SDK alone, as the smallest Worker built on it: the SDK's
 * Sandbox class and ContainerProxy exported, and every request proxied to one
 * sandbox through getSandbox. `npm run bench` bundles it next to our Worker to
 * tell what our own code adds to the upload. Never deployed.
 */
import { ContainerProxy, getSandbox, Sandbox } from "@cloudflare/sandbox";

export { ContainerProxy, Sandbox };

interface SdkOnlyEnv {
  Sandbox: DurableObjectNamespace<Sandbox>;
}

export default {
  fetch: (request, env) => getSandbox(env.Sandbox, "bench").fetch(request),
} satisfies ExportedHandler<SdkOnlyEnv>;
