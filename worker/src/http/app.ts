/**
 * The HTTP API: routes only. Each route authenticates, validates, and hands
 * the work to the task's Durable Object (tasks/task-object.ts), the task index
 * (tasks/task-index.ts) or R2 (storage/). Every JSON answer carries
 * `Cache-Control: no-store`, and each request leaves one structured log line.
 */
import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { v7 as uuidv7 } from "uuid";
import {
  LIMITS,
  SERVICE_VERSION,
  TASK_INDEX_NAME,
  type TaskResult,
  type TaskStatusDocument,
} from "../contract.js";
import { claudeCredential } from "../egress/outbound.js";
import type { WorkerEnv } from "../env.js";
import { readSettings } from "../settings.js";
import { archivedEvents, loadResult } from "../storage/results.js";
import type { ResultWait, StoredEventsPage, TaskSubmission } from "../tasks/task-object.js";
import { webhookKey } from "../webhooks/signature.js";
import { authorize } from "./auth.js";
import { ApiError, RATE_LIMIT_RETRY_AFTER_SECONDS, RETRY_AFTER_SECONDS } from "./errors.js";
import { type RequestLog, writeRequestLog } from "./log.js";
import { isJsonContentType, parseEventsQuery, parseListQuery, parseTaskId, parseTaskRequest, readBodyText } from "./validation.js";

type AppEnv = { Bindings: WorkerEnv; Variables: { log: RequestLog; tokenSlot: "current" | "previous" } };
type AppContext = Context<AppEnv>;

/** How long one wait on a task object lasts before the route asks again (and, for SSE, sends a keep-alive). */
const WAIT_SLICE_MS = 10_000;
/** Extra time `/execute` waits beyond the task's own limits before it gives up on the task object. */
const EXECUTE_MARGIN_MS = 60_000;

async function requireAuth(c: AppContext): Promise<void> {
  const outcome = await authorize(c.req.header("authorization"), {
    current: c.env.SERVER_AUTH_TOKEN,
    previous: c.env.SERVER_AUTH_TOKEN_PREVIOUS,
  });
  if (outcome === "not_configured") throw new ApiError("auth_not_configured");
  if (outcome === "unauthorized") throw new ApiError("unauthorized");
  c.set("tokenSlot", outcome);
}

/** Task creations are limited per token (the Workers Rate Limiting binding; absent in older deployments). */
async function requireRateLimit(c: AppContext): Promise<void> {
  const limiter = c.env.TASK_RATE_LIMIT as RateLimit | undefined;
  if (!limiter) return;
  const { success } = await limiter.limit({ key: `token:${c.get("tokenSlot")}` });
  if (!success) throw new ApiError("rate_limited");
}

function taskObject(env: WorkerEnv, taskId: string) {
  return env.TASKS.get(env.TASKS.idFromName(taskId));
}

function taskIndex(env: WorkerEnv) {
  return env.TASK_INDEX.get(env.TASK_INDEX.idFromName(TASK_INDEX_NAME));
}

function errorResponse(c: AppContext, error: ApiError): Response {
  const log = c.get("log");
  log.code = error.code;
  if (typeof error.extra?.taskId === "string") log.taskId = error.extra.taskId;
  const headers: Record<string, string> = {};
  if (error.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="claude-sandbox"';
  if (error.status === 503) headers["Retry-After"] = String(RETRY_AFTER_SECONDS);
  if (error.status === 429) headers["Retry-After"] = String(RATE_LIMIT_RETRY_AFTER_SECONDS);
  return c.json(error.toBody(), error.status as 400, headers);
}

/** Validates a task request and hands it to a new Task object; returns its first status document. */
async function submitTask(c: AppContext): Promise<TaskStatusDocument> {
  await requireAuth(c);
  await requireRateLimit(c);
  if (!isJsonContentType(c.req.header("content-type") ?? null)) throw new ApiError("unsupported_media_type");
  const text = await readBodyText(c.req.raw);
  const settings = readSettings(c.env);
  const request = parseTaskRequest(text, settings);
  if (!claudeCredential(c.env)) throw new ApiError("credential_not_configured");
  if (request.callbackUrl !== undefined && !webhookKey(c.env.WEBHOOK_SECRET ?? "")) throw new ApiError("webhook_not_configured");

  const taskId = uuidv7();
  c.get("log").taskId = taskId;
  const submission: TaskSubmission = {
    taskId,
    createdAt: Date.now(),
    request,
    graceMs: settings.deadlineGraceMs,
    queueTimeoutMs: settings.queueTimeoutMs,
    maxOutputBytes: settings.maxOutputBytes,
    credentialMode: settings.credentialMode,
  };
  try {
    return await taskObject(c.env, taskId).start(submission);
  } catch {
    throw new ApiError("task_store_failed", { extra: { taskId } });
  }
}

/** The status document of a task, from its object while it holds it, else from the index. */
async function findStatus(env: WorkerEnv, taskId: string): Promise<TaskStatusDocument | null> {
  try {
    return (await taskObject(env, taskId).status()) ?? (await taskIndex(env).get(taskId));
  } catch {
    throw new ApiError("task_store_failed", { extra: { taskId } });
  }
}

/** `POST /execute`'s answer for a finished task: 200 with the result, 503/500 when the platform could not run it. */
function executeAnswer(c: AppContext, result: TaskResult): Response {
  const log = c.get("log");
  if (result.error) log.taskError = result.error.code;
  if (result.error?.code === "sandbox_unavailable") throw new ApiError("sandbox_unavailable", { extra: { taskId: result.taskId } });
  if (result.error?.code === "platform_interrupted") throw new ApiError("task_execution_failed", { extra: { taskId: result.taskId } });
  return c.json(result, 200);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds the Worker's Hono app. */
export function createApp() {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const log: RequestLog = { method: c.req.method, route: "unmatched", status: 0, started: Date.now(), warnings: [] };
    c.set("log", log);
    await next();
    if (!c.res.headers.has("Cache-Control") || c.res.headers.get("Content-Type")?.startsWith("application/json")) {
      c.res.headers.set("Cache-Control", "no-store");
    }
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    log.status = c.res.status;
    writeRequestLog(log);
  });

  // GET /health: open, reveals no secret and no configuration.
  app.get("/health", (c) => {
    c.get("log").route = "/health";
    return c.json({ status: "healthy", platform: "cloudflare_sandboxes", auth_method: "bearer", version: SERVICE_VERSION });
  });

  // POST /tasks: accept a task; it runs in its own Durable Object whoever stays connected.
  app.post("/tasks", async (c) => {
    c.get("log").route = "/tasks";
    const document = await submitTask(c);
    return c.json(document, 202, { Location: document.links.self });
  });

  // GET /tasks: the deployment's tasks, newest first.
  app.get("/tasks", async (c) => {
    c.get("log").route = "/tasks";
    await requireAuth(c);
    const query = parseListQuery(new URL(c.req.url).searchParams);
    try {
      return c.json(await taskIndex(c.env).list({ limit: query.limit, before: query.cursor, status: query.status }), 200);
    } catch {
      throw new ApiError("task_store_failed");
    }
  });

  // POST /execute: submit a task and answer when it ends (v1). The task does not depend on this request.
  app.post("/execute", async (c) => {
    c.get("log").route = "/execute";
    const document = await submitTask(c);
    const { taskId } = document;
    const settings = readSettings(c.env);
    const giveUpAt = Date.now() + settings.queueTimeoutMs + document.timeoutMs + settings.deadlineGraceMs + EXECUTE_MARGIN_MS;
    const task = taskObject(c.env, taskId);
    while (Date.now() < giveUpAt) {
      let wait: ResultWait | null;
      try {
        wait = await task.awaitResult(WAIT_SLICE_MS);
      } catch {
        // The object was reset (a redeploy): it resumes the task by its alarm; ask again.
        await sleep(1_000);
        continue;
      }
      if (wait === null || (wait.state === "stored" && wait.result === null)) {
        const stored = (await loadResult(c.env.RESULTS, taskId)) as TaskResult | null;
        if (stored) return executeAnswer(c, stored);
        throw new ApiError("task_execution_failed", { extra: { taskId } });
      }
      if (wait.state === "stored") return executeAnswer(c, wait.result!);
      if (wait.state === "store_failed") throw new ApiError("result_store_failed", { extra: { taskId, result: wait.result } });
    }
    throw new ApiError("task_execution_failed", { extra: { taskId } });
  });

  // GET /tasks/:taskId: the task's status document.
  app.get("/tasks/:taskId", async (c) => {
    c.get("log").route = "/tasks/:taskId";
    await requireAuth(c);
    const taskId = parseTaskId(c.req.param("taskId"));
    c.get("log").taskId = taskId;
    const document = await findStatus(c.env, taskId);
    if (!document) throw new ApiError("task_not_found");
    return c.json(document, 200);
  });

  // GET /tasks/:taskId/events: SSE (live, with replay) or JSON pages for polling.
  app.get("/tasks/:taskId/events", async (c) => {
    c.get("log").route = "/tasks/:taskId/events";
    await requireAuth(c);
    const taskId = parseTaskId(c.req.param("taskId"));
    c.get("log").taskId = taskId;
    const sse = (c.req.header("accept") ?? "").includes("text/event-stream");
    const { after, limit } = parseEventsQuery(new URL(c.req.url).searchParams, sse ? (c.req.header("last-event-id") ?? null) : null);
    const task = taskObject(c.env, taskId);
    const read = async (from: number, count: number, waitMs: number): Promise<StoredEventsPage | null> => {
      try {
        return await task.events(from, count, waitMs);
      } catch {
        throw new ApiError("task_store_failed", { extra: { taskId } });
      }
    };

    if (!sse) {
      let page = await read(after, limit, 0);
      if (!page) {
        const archive = await archivedEvents(c.env.RESULTS, taskId, after);
        if (!archive) throw new ApiError("task_not_found");
        page = { events: [], next: after, done: false, status: "succeeded" };
        for await (const event of archive) {
          if (page.events.length === limit) break;
          page.events.push(event.json);
          page.next = event.seq;
          if (event.type === "end") page.done = true;
        }
      }
      // Events are stored as JSON text and passed through as they are.
      const body = `{"events":[${page.events.join(",")}],"next":${page.next},"done":${page.done}}`;
      return c.body(body, 200, { "Content-Type": "application/json" });
    }

    // Before the stream starts: an unknown task is a 404, not an empty stream.
    let page = await read(after, LIMITS.eventsPage.default, 0);
    let archive = page ? null : await archivedEvents(c.env.RESULTS, taskId, after);
    if (!page && !archive) throw new ApiError("task_not_found");

    return streamSSE(c, async (stream) => {
      const send = (seq: number, type: string, json: string) => stream.writeSSE({ id: String(seq), event: type, data: json });
      let cursor = after;
      while (!stream.aborted) {
        if (archive) {
          for await (const event of archive) {
            if (stream.aborted) return;
            await send(event.seq, event.type, event.json);
          }
          return;
        }
        if (page) {
          for (const json of page.events) {
            const event = JSON.parse(json) as { seq: number; type: string };
            await send(event.seq, event.type, json);
          }
          cursor = page.next;
          if (page.done) return;
          if (page.events.length === 0) await stream.write(": keep-alive\n\n");
        }
        try {
          page = await read(cursor, LIMITS.eventsPage.default, WAIT_SLICE_MS);
        } catch {
          // The object is being reset (a redeploy): keep the client, ask again shortly.
          await stream.write(": keep-alive\n\n");
          await sleep(1_000);
          page = { events: [], next: cursor, done: false, status: "running" };
          continue;
        }
        // The object cleared its storage: the rest is in the archive.
        if (page === null) {
          archive = await archivedEvents(c.env.RESULTS, taskId, cursor);
          if (!archive) return;
        }
      }
    });
  });

  // POST /tasks/:taskId/cancel: stop a queued or running task.
  app.post("/tasks/:taskId/cancel", async (c) => {
    c.get("log").route = "/tasks/:taskId/cancel";
    await requireAuth(c);
    const taskId = parseTaskId(c.req.param("taskId"));
    c.get("log").taskId = taskId;
    let outcome;
    try {
      outcome = await taskObject(c.env, taskId).cancel();
    } catch {
      throw new ApiError("task_store_failed", { extra: { taskId } });
    }
    if (outcome?.outcome === "cancelled") return c.json(outcome.document, 202);
    const document = outcome?.document ?? (await findStatus(c.env, taskId));
    if (!document) throw new ApiError("task_not_found");
    throw new ApiError("task_finished", { extra: { taskId, status: document.status } });
  });

  // GET /tasks/:taskId/result: the stored result of a finished task.
  app.get("/tasks/:taskId/result", async (c) => {
    c.get("log").route = "/tasks/:taskId/result";
    await requireAuth(c);
    const taskId = parseTaskId(c.req.param("taskId"));
    c.get("log").taskId = taskId;
    const stored = await loadResult(c.env.RESULTS, taskId);
    if (stored !== null) return c.json(stored as object, 200);
    const document = await taskObject(c.env, taskId)
      .status()
      .catch(() => null);
    if (document) throw new ApiError("task_not_finished", { extra: { taskId, status: document.status } });
    throw new ApiError("result_not_found");
  });

  // Known paths with another method: 405 with the methods that exist.
  const allowed: Record<string, string> = {
    "/health": "GET, HEAD",
    "/execute": "POST",
    "/tasks": "GET, HEAD, POST",
    "/tasks/:taskId": "GET, HEAD",
    "/tasks/:taskId/events": "GET, HEAD",
    "/tasks/:taskId/cancel": "POST",
    "/tasks/:taskId/result": "GET, HEAD",
  };
  for (const [path, allow] of Object.entries(allowed)) {
    app.all(path, (c) => {
      c.get("log").route = path;
      const response = errorResponse(c, new ApiError("method_not_allowed"));
      response.headers.set("Allow", allow);
      return response;
    });
  }

  app.notFound((c) => errorResponse(c, new ApiError("not_found")));

  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    c.get("log").warnings.push(`unexpected_${error.name}`.slice(0, 64));
    return errorResponse(c, new ApiError("internal_error"));
  });

  return app;
}
