/**
 * Entry point of the benchmark's cost figures (`npm run bench`): the Worker of
 * `npm run dev:stub` (stub-entry.ts: the real routes, Task and TaskIndex
 * objects, with the stand-in sandbox) with every billable operation counted by
 * bench-meter.ts. The meter answers at METER_PATH (bench-meter-reading.ts).
 * Never deployed (the deployed entry is src/index.ts).
 */
import type { WorkerEnv } from "../src/env.js";
import stubWorker, { Task as TaskObject, TaskIndex as TaskIndexObject } from "./stub-entry.js";
import { METER_PATH } from "./bench-meter-reading.js";
import { countAlarm, countWorkerRequest, meterConsole, meteredEnv, meterState, readMeter, resetMeter } from "./bench-meter.js";

// Every Durable Object class as dev:stub binds them; Task and TaskIndex below take the place of theirs.
export * from "./stub-entry.js";

meterConsole();

export class Task extends TaskObject {
  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(meterState(ctx, "Task"), meteredEnv(env));
  }

  override async alarm(): Promise<void> {
    countAlarm("TASKS");
    await super.alarm();
  }
}

export class TaskIndex extends TaskIndexObject {
  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(meterState(ctx, "TaskIndex"), meteredEnv(env));
  }

  override async alarm(): Promise<void> {
    countAlarm("TASK_INDEX");
    await super.alarm();
  }
}

export default {
  fetch: (request, env, ctx) => {
    if (new URL(request.url).pathname === METER_PATH) {
      if (request.method === "DELETE") resetMeter();
      return Response.json(readMeter(), { headers: { "Cache-Control": "no-store" } });
    }
    countWorkerRequest();
    return (stubWorker as ExportedHandler<WorkerEnv>).fetch!(request, meteredEnv(env), ctx);
  },
} satisfies ExportedHandler<WorkerEnv>;
