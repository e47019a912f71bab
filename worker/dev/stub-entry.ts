/**
 * Entry point of `npm run dev:stub`: the real HTTP API and task objects, with
 * the stand-in sandbox bound as the `Sandbox` Durable Object.
 */
import { handleRequest } from "../src/http/app.js";
import type { WorkerEnv } from "../src/env.js";

export { StubSandbox as Sandbox } from "./stub-sandbox.js";
export { Task } from "../src/tasks/task-object.js";
export { TaskIndex } from "../src/tasks/task-index.js";
export { BranchQueue } from "../src/repositories/branch-queue-object.js";

export default {
  // The execution context is not needed: tasks run in their own Durable Objects, not in waitUntil.
  fetch: (request, env, _ctx) => handleRequest(request, env),
} satisfies ExportedHandler<WorkerEnv>;
