/**
 * Entry point of `npm run dev:stub`: the real HTTP API with the stand-in
 * sandbox bound as the `Sandbox` Durable Object.
 */
import { createApp } from "../src/http/app.js";
import type { WorkerEnv } from "../src/env.js";

export { StubSandbox as Sandbox } from "./stub-sandbox.js";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<WorkerEnv>;
