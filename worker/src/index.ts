/**
 * The Worker entry point: the HTTP API, the Durable Object classes (Sandbox:
 * one container per task; Task: one task's lifecycle; TaskIndex: the task
 * list), and the SDK's ContainerProxy entrypoint that carries the container's
 * outbound traffic through the egress policy.
 */
import { handleRequest } from "./http/app.js";
import type { WorkerEnv } from "./env.js";

export { ContainerProxy } from "@cloudflare/sandbox";
export { Sandbox } from "./sandbox/sandbox.js";
export { Task } from "./tasks/task-object.js";
export { TaskIndex } from "./tasks/task-index.js";
export { BranchQueue } from "./repositories/branch-queue-object.js";

export default {
  // The execution context is not needed: tasks run in their own Durable Objects, not in waitUntil.
  fetch: (request, env, _ctx) => handleRequest(request, env),
} satisfies ExportedHandler<WorkerEnv>;
