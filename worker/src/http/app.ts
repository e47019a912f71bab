/**
 * The HTTP API: routes only. Each route declares whether it is open or needs
 * the bearer token, and the router enforces it before the handler runs; the
 * handler validates and hands the work to the task's Durable Object
 * (tasks/task-object.ts), the task index (tasks/task-index.ts) or R2
 * (storage/). Every JSON answer carries `Cache-Control: no-store`, and each
 * request but a healthy `/health` leaves one structured log line.
 */
import {
  ARTIFACTS,
  type ArtifactName,
  artifactKey,
  CONSOLE_ASSETS,
  LIMITS,
  SERVICE_VERSION,
  type TaskResult,
  type TaskStatusDocument,
  workspaceKey,
} from "../contract.js";
import { runDiagnostics } from "../diagnostics/run.js";
import { claudeCredential } from "../egress/anthropic-door.js";
import { githubCredentials } from "../egress/git-credentials.js";
import type { WorkerEnv } from "../env.js";
import { parseRepositoryUrl, type RepositoryRequest, RepositoryRequestError, resolveFollowUp } from "../repositories/request.js";
import { readSettings, type Settings, SettingsError } from "../settings.js";
import { archivedEvents, EVENT_HEAD, loadResult, ResultReadError } from "../storage/results.js";
import { isTerminal } from "../tasks/lifecycle.js";
import { findInIndex, listFromIndex, taskObject } from "../tasks/object-stubs.js";
import type { RepositoryPlan, TaskSubmission } from "../tasks/submission.js";
import { newTaskId } from "../tasks/task-id.js";
import type { ResultWait, StartOutcome, StoredEventsPage } from "../tasks/task-rpc.js";
import { webhookKey } from "../webhooks/signature.js";
import { ACCESS_ASSERTION_HEADER, verifyAccessAssertion } from "./access.js";
import { authorize } from "./auth.js";
import { ApiError, RATE_LIMIT_RETRY_AFTER_SECONDS, RETRY_AFTER_SECONDS } from "./errors.js";
import { type RequestLog, writeRequestLog } from "./log.js";
import { matchRoute, type Route } from "./router.js";
import { eventStream } from "./sse.js";
import { isJsonContentType, parseEventsQuery, parseListQuery, parseTaskId, parseTaskRequest, readBodyText } from "./validation.js";

/** What a route handler gets. */
interface RequestContext {
  request: Request;
  env: WorkerEnv;
  url: URL;
  params: Record<string, string>;
  log: RequestLog;
  /** Who the request comes from, set before the handler of a `bearer` route runs: the token slot it carried, or whom Access let in. */
  caller?: { kind: "token"; slot: "current" | "previous" } | { kind: "access"; email: string };
}

type Handler = (c: RequestContext) => Promise<Response>;

/** How long one wait on a task object lasts before the route asks again (and, for SSE, sends a keep-alive). */
const WAIT_SLICE_MS = 10_000;
/** How long `/execute` keeps asking a task object that does not answer (a redeploy resets objects) before it gives up. */
const UNREACHABLE_LIMIT_MS = 60_000;

/**
 * The check of every `bearer` route, run by `handleRequest` before the
 * handler: a request behind Cloudflare Access (when the deployment uses it)
 * is let in by a valid Access assertion, and refused for an invalid one
 * whatever else it carries; any other request needs the API token.
 */
async function requireAuth(c: RequestContext): Promise<void> {
  const assertion = c.request.headers.get(ACCESS_ASSERTION_HEADER);
  const access = assertion === null ? null : readSettings(c.env).access;
  if (assertion !== null && access !== null) {
    const identity = await verifyAccessAssertion(assertion, access);
    if (!identity) throw new ApiError("unauthorized");
    c.caller = { kind: "access", email: identity.email };
    return;
  }
  const outcome = await authorize(c.request.headers.get("authorization"), {
    current: c.env.SERVER_AUTH_TOKEN,
    previous: c.env.SERVER_AUTH_TOKEN_PREVIOUS,
  });
  if (outcome === "not_configured") throw new ApiError("auth_not_configured");
  if (outcome === "unauthorized") throw new ApiError("unauthorized");
  c.caller = { kind: "token", slot: outcome };
}

/** Task creations are limited per token, or per person behind Access (the Workers Rate Limiting binding; absent in older deployments). */
async function requireRateLimit(c: RequestContext): Promise<void> {
  const limiter = c.env.TASK_RATE_LIMIT as RateLimit | undefined;
  if (!limiter || !c.caller) return;
  const key = c.caller.kind === "token" ? `token:${c.caller.slot}` : `access:${c.caller.email.toLowerCase()}`;
  const { success } = await limiter.limit({ key });
  if (!success) throw new ApiError("rate_limited");
}

/** A JSON answer. */
function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function errorResponse(log: RequestLog, error: ApiError): Response {
  log.code = error.code;
  if (typeof error.extra?.taskId === "string") log.taskId = error.extra.taskId;
  const headers: Record<string, string> = {};
  if (error.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="claude-sandbox"';
  if (error.status === 503) headers["Retry-After"] = String(RETRY_AFTER_SECONDS);
  if (error.status === 429) headers["Retry-After"] = String(RATE_LIMIT_RETRY_AFTER_SECONDS);
  return json(error.toBody(), error.status, headers);
}

/**
 * What a repository task will work on, checked against the deployment: a
 * follow-up takes the earlier task's repository and branch (which must still
 * have a workspace to restore) and the default branch it knows, and pushing
 * needs a GitHub repository, a credential, and a repository `githubRepos` allows.
 */
async function repositoryPlan(c: RequestContext, request: RepositoryRequest, settings: Settings): Promise<RepositoryPlan> {
  let resolved = request;
  let defaultBranch: string | null = null;
  if (request.continueFrom !== null) {
    const earlier = await findStatus(c.env, request.continueFrom);
    if (!earlier) throw new ApiError("continue_from_unavailable");
    if (!earlier.repository) throw new ApiError("follow_up_without_repository");
    if (earlier.status !== "queued" && earlier.status !== "running" && (await c.env.RESULTS.head(workspaceKey(request.continueFrom))) === null) {
      throw new ApiError("continue_from_unavailable");
    }
    try {
      const repo = { ...parseRepositoryUrl(earlier.repository.url, settings.allowedHosts, settings.githubHost), ref: earlier.repository.ref };
      defaultBranch = earlier.repository.defaultBranch ?? null;
      resolved = resolveFollowUp(request, { repo, branch: earlier.repository.branch, defaultBranch });
    } catch (error) {
      if (error instanceof RepositoryRequestError) throw new ApiError(error.code);
      throw error;
    }
  }
  const { repo, branch } = resolved;
  if (repo === null || branch === null) throw new ApiError("follow_up_without_repository");
  if (resolved.push) {
    if (repo.github === null) throw new ApiError("push_not_supported");
    if (githubCredentials(c.env) === null) throw new ApiError("github_not_configured");
    const name = `${repo.github.owner}/${repo.github.repo}`.toLowerCase();
    if (settings.githubRepos.length > 0 && !settings.githubRepos.includes(name)) throw new ApiError("repo_not_granted");
  }
  return { repo, branch, push: resolved.push, pullRequest: resolved.pullRequest, continuedFrom: resolved.continueFrom, defaultBranch };
}

/** Validates a task request and hands it to a new Task object; returns its first status document. */
async function submitTask(c: RequestContext): Promise<TaskStatusDocument> {
  await requireRateLimit(c);
  if (!isJsonContentType(c.request.headers.get("content-type"))) throw new ApiError("unsupported_media_type");
  const text = await readBodyText(c.request);
  const settings = readSettings(c.env);
  const taskId = newTaskId();
  const request = parseTaskRequest(text, { ...settings, taskId });
  if (!claudeCredential(c.env)) throw new ApiError("credential_not_configured");
  if (request.callbackUrl !== undefined && !webhookKey(c.env.WEBHOOK_SECRET ?? "")) throw new ApiError("webhook_not_configured");
  const repository = request.repository ? await repositoryPlan(c, request.repository, settings) : null;

  c.log.taskId = taskId;
  const submission: TaskSubmission = {
    taskId,
    createdAt: Date.now(),
    request,
    graceMs: settings.deadlineGraceMs,
    queueTimeoutMs: settings.queueTimeoutMs,
    maxOutputBytes: settings.maxOutputBytes,
    credentialMode: settings.credentialMode,
    repository,
    ...(c.caller?.kind === "access" ? { submittedBy: c.caller.email } : {}),
  };
  let started: StartOutcome;
  try {
    started = await taskObject(c.env, taskId).start(submission);
  } catch {
    throw new ApiError("task_store_failed", { extra: { taskId } });
  }
  if ("refused" in started) throw new ApiError(started.refused);
  return started;
}

/** The status document of a task, from its object while it holds it, else from the index. */
async function findStatus(env: WorkerEnv, taskId: string): Promise<TaskStatusDocument | null> {
  try {
    return (await taskObject(env, taskId).status()) ?? (await findInIndex(env, taskId));
  } catch {
    throw new ApiError("task_store_failed", { extra: { taskId } });
  }
}

/** `POST /execute`'s answer for a finished task: 200 with the result, 503/500 when the platform could not run it. */
function executeAnswer(c: RequestContext, result: TaskResult): Response {
  if (result.error) c.log.taskError = result.error.code;
  if (result.error?.code === "sandbox_unavailable") throw new ApiError("sandbox_unavailable", { extra: { taskId: result.taskId } });
  if (result.error?.code === "platform_interrupted") throw new ApiError("task_execution_failed", { extra: { taskId: result.taskId } });
  return json(result);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// GET / and GET /console: a browser is sent to the web console (served as static assets under /console/); anything else finds no API here.
const home: Handler = async (c) => {
  if (!(c.request.headers.get("accept") ?? "").includes("text/html")) throw new ApiError("not_found");
  return new Response(null, { status: 302, headers: { Location: CONSOLE_ASSETS.consolePath } });
};

// GET /health: open, reveals no secret and no configuration.
const health: Handler = async () =>
  json({ status: "healthy", platform: "cloudflare_sandboxes", auth_method: "bearer", version: SERVICE_VERSION });

// POST /tasks: accept a task; it runs in its own Durable Object whoever stays connected.
const createTask: Handler = async (c) => {
  const document = await submitTask(c);
  return json(document, 202, { Location: document.links.self });
};

// GET /tasks: the deployment's tasks, newest first, from every shard of the index (all of them, or a 500).
const listTasks: Handler = async (c) => {
  const query = parseListQuery(c.url.searchParams);
  try {
    return json(await listFromIndex(c.env, { limit: query.limit, before: query.cursor, status: query.status }));
  } catch {
    throw new ApiError("task_store_failed");
  }
};

// POST /execute: submit a task and answer when it ends (v1). The task does not depend on this request.
// Its object guarantees an end (its alarm enforces the queue timeout from its turn on the branch, the timeout,
// and the grace with the repository steps; a branch's queue drops a lost head), so this waits as long as the
// object answers, however long the task waits for its branch; it gives up only on an object that stays unreachable.
const execute: Handler = async (c) => {
  const { taskId } = await submitTask(c);
  const task = taskObject(c.env, taskId);
  let unreachableSince: number | null = null;
  for (;;) {
    let wait: ResultWait | null;
    try {
      wait = await task.awaitResult(WAIT_SLICE_MS);
      unreachableSince = null;
    } catch {
      // The object was reset (a redeploy): it resumes the task by its alarm; ask again.
      unreachableSince ??= Date.now();
      if (Date.now() - unreachableSince >= UNREACHABLE_LIMIT_MS) throw new ApiError("task_execution_failed", { extra: { taskId } });
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
};

/** Reads the task id of a `/tasks/:taskId…` route. */
function taskIdOf(c: RequestContext): string {
  const taskId = parseTaskId(c.params.taskId ?? "");
  c.log.taskId = taskId;
  return taskId;
}

// GET /tasks/:taskId: the task's status document.
const taskStatus: Handler = async (c) => {
  const taskId = taskIdOf(c);
  const document = await findStatus(c.env, taskId);
  if (!document) throw new ApiError("task_not_found");
  return json(document);
};

// GET /tasks/:taskId/events: SSE (live, with replay) or JSON pages for polling.
const taskEvents: Handler = async (c) => {
  const taskId = taskIdOf(c);
  const sse = (c.request.headers.get("accept") ?? "").includes("text/event-stream");
  const { after, limit } = parseEventsQuery(c.url.searchParams, sse ? c.request.headers.get("last-event-id") : null);
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
      // The archive holds an ended task: a page that reaches its last event is done.
      page = { events: [], next: after, done: true };
      for await (const event of archive) {
        if (page.events.length === limit) {
          page.done = false;
          break;
        }
        page.events.push(event.json);
        page.next = event.seq;
      }
    }
    // Events are stored as JSON text and passed through as they are.
    return json(`{"events":[${page.events.join(",")}],"next":${page.next},"done":${page.done}}`);
  }

  // Before the stream starts: an unknown task is a 404, not an empty stream.
  let page = await read(after, LIMITS.eventsPage.default, 0);
  let archive = page ? null : await archivedEvents(c.env.RESULTS, taskId, after);
  if (!page && !archive) throw new ApiError("task_not_found");

  return eventStream(async (stream) => {
    let cursor = after;
    for (;;) {
      if (archive) {
        for await (const event of archive) await stream.send(event.seq, event.type, event.json);
        return;
      }
      if (page) {
        for (const json of page.events) {
          const [, seq, type] = EVENT_HEAD.exec(json) ?? [];
          await stream.send(Number(seq), type ?? "", json);
        }
        cursor = page.next;
        if (page.done) return;
        if (page.events.length === 0) await stream.comment("keep-alive");
      }
      try {
        page = await task.events(cursor, LIMITS.eventsPage.default, WAIT_SLICE_MS);
      } catch {
        // The object is being reset (a redeploy): keep the client, ask again shortly.
        await stream.comment("keep-alive");
        await sleep(1_000);
        page = { events: [], next: cursor, done: false };
        continue;
      }
      // The object cleared its storage: the rest is in the archive.
      if (page === null) {
        archive = await archivedEvents(c.env.RESULTS, taskId, cursor);
        if (!archive) return;
      }
    }
  });
};

// POST /tasks/:taskId/cancel: stop a queued or running task.
const cancelTask: Handler = async (c) => {
  const taskId = taskIdOf(c);
  let outcome;
  try {
    outcome = await taskObject(c.env, taskId).cancel();
  } catch {
    throw new ApiError("task_store_failed", { extra: { taskId } });
  }
  if (outcome?.outcome === "cancelled") return json(outcome.document, 202);
  const document = outcome?.document ?? (await findStatus(c.env, taskId));
  if (!document) throw new ApiError("task_not_found");
  throw new ApiError("task_finished", { extra: { taskId, status: document.status } });
};

// GET /tasks/:taskId/artifacts/:name: a file a repository task handed back, such as changes.patch.
const taskArtifact: Handler = async (c) => {
  const taskId = taskIdOf(c);
  const name = c.params.name ?? "";
  if (!Object.hasOwn(ARTIFACTS, name)) throw new ApiError("artifact_not_found");
  const artifact = await c.env.RESULTS.get(artifactKey(taskId, name as ArtifactName));
  if (artifact !== null) return new Response(artifact.body, { headers: { "Content-Type": ARTIFACTS[name as ArtifactName] } });
  const document = await taskObject(c.env, taskId)
    .status()
    .catch(() => null);
  if (document && (document.status === "queued" || document.status === "running")) {
    throw new ApiError("task_not_finished", { extra: { taskId, status: document.status } });
  }
  throw new ApiError("artifact_not_found");
};

// GET /tasks/:taskId/result: the stored result of a finished task.
const taskResult: Handler = async (c) => {
  const taskId = taskIdOf(c);
  const stored = await loadResult(c.env.RESULTS, taskId);
  if (stored !== null) return json(stored);
  const task = taskObject(c.env, taskId);
  const document = await task.status().catch(() => null);
  if (document && isTerminal(document.status)) {
    // It ended a moment ago and its object is storing the result (it does so first of all): wait for it.
    const wait = await task.awaitResult(WAIT_SLICE_MS).catch(() => null);
    if (wait?.state === "store_failed") throw new ApiError("result_store_failed", { extra: { taskId, result: wait.result } });
    if (wait?.state === "stored" && wait.result !== null) return json(wait.result);
    const later = await loadResult(c.env.RESULTS, taskId);
    if (later !== null) return json(later);
  }
  if (document) throw new ApiError("task_not_finished", { extra: { taskId, status: document.status } });
  throw new ApiError("result_not_found");
};

// POST /diagnostics: the first-deploy check, in a sandbox that is not a task, destroyed at the end. Limited like task creation.
const diagnostics: Handler = async (c) => {
  await requireRateLimit(c);
  return json(await runDiagnostics(c.env));
};

// POST /mcp: the MCP server (Streamable HTTP, stateless). Its tools call this API in-process with the caller's
// credentials, so they answer with the API's own auth, validation and codes. GET and DELETE /mcp are
// 405: a stateless server offers no stream of its own and no session to end. The server's module (with the MCP SDK
// and zod) is evaluated on the first /mcp request, not at the Worker's startup, which it would make several times longer.
const mcp: Handler = async (c) => {
  const { serveMcp } = await import("../mcp/server.js");
  return serveMcp(c.request, (request) => handleRequest(request, c.env));
};

/** Every route: `open` ones answer anyone; `bearer` ones answer only a request with a valid token (checked before the handler). */
export const ROUTES: readonly Route<Handler>[] = [
  { method: "GET", pattern: "/", auth: "open", handler: home },
  { method: "GET", pattern: "/console", auth: "open", handler: home },
  { method: "GET", pattern: "/health", auth: "open", handler: health },
  { method: "GET", pattern: "/tasks", auth: "bearer", handler: listTasks },
  { method: "POST", pattern: "/tasks", auth: "bearer", handler: createTask },
  { method: "POST", pattern: "/execute", auth: "bearer", handler: execute },
  { method: "GET", pattern: "/tasks/:taskId", auth: "bearer", handler: taskStatus },
  { method: "GET", pattern: "/tasks/:taskId/events", auth: "bearer", handler: taskEvents },
  { method: "POST", pattern: "/tasks/:taskId/cancel", auth: "bearer", handler: cancelTask },
  { method: "GET", pattern: "/tasks/:taskId/result", auth: "bearer", handler: taskResult },
  { method: "GET", pattern: "/tasks/:taskId/artifacts/:name", auth: "bearer", handler: taskArtifact },
  { method: "POST", pattern: "/diagnostics", auth: "bearer", handler: diagnostics },
  { method: "POST", pattern: "/mcp", auth: "bearer", handler: mcp },
];

/** Answers one request: route, handler, error codes, common headers and the log line. */
export async function handleRequest(request: Request, env: WorkerEnv): Promise<Response> {
  const url = new URL(request.url);
  const log: RequestLog = { method: request.method, route: "unmatched", status: 0, started: Date.now(), warnings: [] };
  const match = matchRoute(ROUTES, request.method, url.pathname);
  let response: Response;
  try {
    if (match.kind === "route") {
      log.route = match.route.pattern;
      const context: RequestContext = { request, env, url, params: match.params, log };
      if (match.route.auth === "bearer") await requireAuth(context);
      response = await match.route.handler(context);
    } else if (match.kind === "method_not_allowed") {
      log.route = match.pattern;
      response = errorResponse(log, new ApiError("method_not_allowed"));
      response.headers.set("Allow", match.allow);
    } else {
      response = errorResponse(log, new ApiError("not_found"));
    }
  } catch (error) {
    if (error instanceof ApiError) {
      response = errorResponse(log, error);
    } else if (error instanceof SettingsError) {
      response = errorResponse(log, new ApiError("settings_invalid", { details: { variables: [...error.variables] } }));
    } else if (error instanceof ResultReadError) {
      response = errorResponse(log, new ApiError("result_read_failed", { extra: { taskId: error.taskId } }));
    } else {
      log.warnings.push(`unexpected_${error instanceof Error ? error.name : "value"}`.slice(0, 64));
      response = errorResponse(log, new ApiError("internal_error"));
    }
  }
  if (request.method === "HEAD") response = new Response(null, response);
  response.headers.set("Cache-Control", "no-store");
  response.headers.set("X-Content-Type-Options", "nosniff");
  log.status = response.status;
  // Health checks come often and say nothing: only a failed one is logged.
  if (!(log.route === "/health" && response.status < 400)) writeRequestLog(log);
  return response;
}
