/**
 * The HTTP API (v1): routes, auth, validation, task running and result storage
 * wired together. Every answer is JSON with `Cache-Control: no-store`, and each
 * request leaves exactly one structured log line.
 */
import { getSandbox } from "@cloudflare/sandbox";
import { Hono, type Context } from "hono";
import { authorize } from "./auth.js";
import { SERVICE_VERSION } from "../contract.js";
import type { WorkerEnv } from "../env.js";
import { ApiError, RETRY_AFTER_SECONDS } from "./errors.js";
import { type RequestLog, writeRequestLog } from "./log.js";
import { claudeCredential } from "../egress/outbound.js";
import { loadResult, storeResult } from "../storage/results.js";
import { readSettings } from "../settings.js";
import { runTask, type TaskSandbox } from "../tasks/task-runner.js";
import { isJsonContentType, parseTaskId, parseTaskRequest, readBodyText } from "./validation.js";

type AppContext = Context<{ Bindings: WorkerEnv; Variables: { log: RequestLog } }>;

export interface AppOptions {
  /** Opens the sandbox of a task; the default is the Sandbox Durable Object via `getSandbox`. */
  openSandbox?: (env: WorkerEnv, taskId: string) => TaskSandbox;
}

const defaultOpenSandbox = (env: WorkerEnv, taskId: string): TaskSandbox =>
  getSandbox(env.Sandbox, taskId, { enableDefaultSession: false });

async function requireAuth(c: AppContext): Promise<void> {
  const outcome = await authorize(c.req.header("authorization"), {
    current: c.env.SERVER_AUTH_TOKEN,
    previous: c.env.SERVER_AUTH_TOKEN_PREVIOUS,
  });
  if (outcome === "not_configured") throw new ApiError("auth_not_configured");
  if (outcome === "unauthorized") throw new ApiError("unauthorized");
}

function secretsOf(env: WorkerEnv): string[] {
  return [env.SERVER_AUTH_TOKEN, env.SERVER_AUTH_TOKEN_PREVIOUS, env.CLAUDE_CODE_OAUTH_TOKEN, env.ANTHROPIC_API_KEY].filter(
    (value): value is string => typeof value === "string" && value.length > 0,
  );
}

function errorResponse(c: AppContext, error: ApiError): Response {
  const log = c.get("log");
  log.code = error.code;
  if (typeof error.extra?.taskId === "string") log.taskId = error.extra.taskId;
  const headers: Record<string, string> = {};
  if (error.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="claude-sandbox"';
  if (error.status === 503) headers["Retry-After"] = String(RETRY_AFTER_SECONDS);
  return c.json(error.toBody(), error.status as 400, headers);
}

/** Builds the Worker's Hono app. */
export function createApp(options: AppOptions = {}) {
  const openSandbox = options.openSandbox ?? defaultOpenSandbox;
  const app = new Hono<{ Bindings: WorkerEnv; Variables: { log: RequestLog } }>();

  app.use(async (c, next) => {
    const log: RequestLog = { method: c.req.method, route: "unmatched", status: 0, started: Date.now(), warnings: [] };
    c.set("log", log);
    await next();
    c.res.headers.set("Cache-Control", "no-store");
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    log.status = c.res.status;
    writeRequestLog(log);
  });

  // GET /health: open, reveals no secret and no configuration.
  app.get("/health", (c) => {
    c.get("log").route = "/health";
    return c.json({ status: "healthy", platform: "cloudflare_sandboxes", auth_method: "bearer", version: SERVICE_VERSION });
  });

  // POST /execute: run one task in a fresh sandbox, store its result, return it.
  app.post("/execute", async (c) => {
    const log = c.get("log");
    log.route = "/execute";
    await requireAuth(c);
    if (!isJsonContentType(c.req.header("content-type") ?? null)) throw new ApiError("unsupported_media_type");
    const text = await readBodyText(c.req.raw);
    const settings = readSettings(c.env);
    const request = parseTaskRequest(text, settings);
    const credential = claudeCredential(c.env);
    if (!credential) throw new ApiError("credential_not_configured");

    const taskId = crypto.randomUUID();
    log.taskId = taskId;
    const result = await runTask({
      taskId,
      request,
      credential,
      credentialMode: settings.credentialMode,
      sandbox: openSandbox(c.env, taskId),
      deadlineGraceMs: settings.deadlineGraceMs,
      secrets: secretsOf(c.env),
      warn: (code) => log.warnings.push(code),
    });
    await storeResult(c.env.RESULTS, result);
    if (result.error) log.taskError = result.error.code;
    return c.json(result, 200);
  });

  // GET /tasks/:taskId/result: the stored result of a task.
  app.get("/tasks/:taskId/result", async (c) => {
    c.get("log").route = "/tasks/:taskId/result";
    await requireAuth(c);
    const taskId = parseTaskId(c.req.param("taskId"));
    c.get("log").taskId = taskId;
    return c.json((await loadResult(c.env.RESULTS, taskId)) as object, 200);
  });

  // Known paths with another method: 405 with the methods that exist.
  const allowed: Record<string, string> = { "/health": "GET, HEAD", "/execute": "POST", "/tasks/:taskId/result": "GET, HEAD" };
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
