/**
 * `test-deployment [url] [token] [--task text]`: checks a running deployment the
 * way a client meets it, each check timed: health (status and platform), a
 * request without a token and one with a wrong token are refused (401), a
 * request without a task is refused (400), the task list answers, the
 * first-deploy check (`POST /diagnostics`: a sandbox of the deployment starts,
 * reaches an allowed host, is refused another, meets the Anthropic door, holds
 * no credential; each failure with its next step), and with --task a real task
 * is submitted, its events followed live to its end, and its stored result
 * read back. Works against `npm run dev:stub` and a live deployment. A failure
 * is said once at the top: the deployment out of reach, the token refused
 * (`token_refused`), the first-deploy check's problems, or which checks failed.
 */
import { randomBytes } from "node:crypto";
import type { TaskEvent, TaskStatusDocument } from "../../worker/src/contract.js";
import { callApi, readFinalResult } from "../lib/api.js";
import { followEvents } from "../lib/event-stream.js";
import { isDiagnosticsReport, type ReadCheck, withNextSteps } from "../lib/first-deploy.js";
import { request, UnreachableError } from "../lib/http.js";
import { type CommandResult, failure, type Json, type JsonObject } from "../lib/result.js";
import { resolveTarget, type Target } from "../lib/target.js";

interface Check {
  name: string;
  ok: boolean | null;
  duration_ms: number;
  message: string;
  [key: string]: Json | undefined;
}

type Probe = () => Promise<{ ok: boolean; message: string; extra?: { [key: string]: Json | undefined } }>;

async function timed(name: string, probe: Probe): Promise<Check> {
  const started = Date.now();
  try {
    const { ok, message, extra } = await probe();
    return { name, ok, duration_ms: Date.now() - started, message, ...extra };
  } catch (error) {
    const message = error instanceof UnreachableError ? `${error.message}. ${error.hint}` : String(error);
    return { name, ok: false, duration_ms: Date.now() - started, message };
  }
}

const skipped = (name: string, message: string): Check => ({ name, ok: null, duration_ms: 0, message });

function field(body: unknown, key: string): unknown {
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>)[key] : undefined;
}

/** The flags of `test-deployment`, as the command line gives them. */
export interface TestDeploymentFlags {
  task?: string;
  /** Timeout of the --task run in ms. */
  timeout?: number;
}

export interface TestDeploymentOptions {
  args: string[];
  task?: string;
  timeoutMs?: number;
}

/** Submits a task, follows its events to the end and reads its result: the asynchronous way a client meets the API. */
async function roundTrip(target: Pick<Target, "url" | "token">, task: string, timeoutMs: number | undefined): ReturnType<Probe> {
  const submitted = await callApi<TaskStatusDocument>(target, "/tasks", {
    method: "POST",
    json: { task, ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) },
    expect: [202],
  });
  if (!submitted.ok) return { ok: false, message: `task not accepted: ${String(submitted.failure.error)}`, extra: { http_code: submitted.status } };
  const { taskId } = submitted.body;
  const events: TaskEvent[] = [];
  const outcome = await followEvents({ target, taskId, after: 0, onEvent: (event) => events.push(event) });
  if (outcome.kind !== "ended") {
    return { ok: false, message: `the event stream ended before the task: ${outcome.kind === "failed" ? String(outcome.failure.error) : outcome.kind}`, extra: { taskId } };
  }
  const gaps = events.some((event, index) => event.seq !== index + 1);
  const stored = await readFinalResult(target, taskId);
  const extra = { taskId, events: events.length, output: stored.ok ? stored.body.output.slice(0, 500) : null };
  if (!stored.ok) return { ok: false, message: `result not read back: ${String(stored.failure.error)}`, extra };
  if (gaps) return { ok: false, message: `events arrived out of order or with gaps: ${events.map((event) => event.seq).join(",")}`, extra };
  if (stored.body.status !== outcome.status) return { ok: false, message: `the end event says ${outcome.status}, the result ${stored.body.status}`, extra };
  if (!stored.body.success) return { ok: false, message: `task ran but failed: ${stored.body.error?.code ?? "unknown"}`, extra };
  return { ok: true, message: `task submitted, ${events.length} events followed live to its end, result read back`, extra };
}

/** What a step is given: where to send requests, with which token, and what the steps before it found. */
interface StepContext {
  url: string;
  token: string | undefined;
  /** Whether a request with the token was answered 401. */
  tokenRefused: boolean;
}

/** One check of the test, in the order they run; a new check is one more entry. */
interface Step {
  name: string;
  /** Whether its requests carry the token, so that a 401 means the token was refused. */
  usesToken: boolean;
  /** Why the step does not run here, or null when it does. */
  skip(context: StepContext): string | null;
  probe(context: StepContext): ReturnType<Probe>;
}

const needsToken = (context: StepContext): string | null => (context.token ? null : "skipped: no token given");

/** A request that must be refused with 401: without a token, or with a wrong one. */
function refusedWithout(headers: () => Record<string, string>) {
  return async (context: StepContext): ReturnType<Probe> => {
    const response = await request(`${context.url}/execute`, { method: "POST", headers: headers(), json: { task: "probe" }, timeoutMs: 30_000 });
    const ok = response.status === 401;
    return { ok, message: ok ? "refused with 401" : `expected 401, got HTTP ${response.status}`, extra: { http_code: response.status } };
  };
}

function steps(options: TestDeploymentOptions): Step[] {
  const list: Step[] = [
    {
      name: "health",
      usesToken: false,
      skip: () => null,
      probe: async ({ url }) => {
        const response = await request(`${url}/health`, { timeoutMs: 30_000 });
        const ok = response.status === 200 && field(response.body, "status") === "healthy";
        const platform = field(response.body, "platform");
        return {
          ok,
          message: ok ? `healthy (version ${String(field(response.body, "version"))})` : `HTTP ${response.status}, not healthy`,
          extra: { platform: typeof platform === "string" ? platform : null, http_code: response.status },
        };
      },
    },
    { name: "rejects_missing_token", usesToken: false, skip: () => null, probe: refusedWithout(() => ({})) },
    { name: "rejects_wrong_token", usesToken: false, skip: () => null, probe: refusedWithout(() => ({ authorization: `Bearer wrong-${randomBytes(16).toString("hex")}` })) },
    {
      name: "rejects_missing_task",
      usesToken: true,
      skip: needsToken,
      probe: async ({ url, token }) => {
        const response = await request(`${url}/execute`, { method: "POST", token, json: {}, timeoutMs: 30_000 });
        const code = field(response.body, "code");
        const ok = response.status === 400 && code === "task_required";
        return {
          ok,
          message: ok ? "refused with 400 task_required" : `expected 400 task_required, got HTTP ${response.status} ${String(code ?? "")}`.trim(),
          extra: { http_code: response.status },
        };
      },
    },
    {
      name: "lists_tasks",
      usesToken: true,
      skip: needsToken,
      probe: async ({ url, token }) => {
        const response = await request(`${url}/tasks?limit=1`, { token, timeoutMs: 30_000 });
        const ok = response.status === 200 && Array.isArray(field(response.body, "tasks"));
        return {
          ok,
          message: ok
            ? "GET /tasks answers with the task list"
            : `expected 200 with a task list, got HTTP ${response.status}${response.status === 404 ? " (a deployment older than the task API: deploy this version)" : ""}`,
          extra: { http_code: response.status },
        };
      },
    },
  ];
  list.push({
    name: "first_deploy_check",
    usesToken: true,
    skip: (context) => (!context.token ? "skipped: no token given" : context.tokenRefused ? "skipped: the token was refused" : null),
    probe: async ({ url, token }) => {
      // It starts a container: a cold start can take a couple of minutes.
      const response = await request(`${url}/diagnostics`, { method: "POST", token, timeoutMs: 600_000 });
      if (response.status === 404) return { ok: false, message: "POST /diagnostics is not found: the deployment is older than the first-deploy check (deploy this version)", extra: { http_code: 404 } };
      if (response.status !== 200 || !isDiagnosticsReport(response.body)) {
        return { ok: false, message: `expected 200 with the first-deploy check's report, got HTTP ${response.status} ${String(field(response.body, "code") ?? "")}`.trim(), extra: { http_code: response.status } };
      }
      const diagnostics = withNextSteps(response.body);
      const failed = diagnostics.filter((check) => !check.ok);
      return {
        ok: failed.length === 0,
        message:
          failed.length === 0
            ? `a sandbox started and every check inside it passed (${diagnostics.map((check) => check.name).join(", ")})`
            : failed.map((check) => `${check.name}: ${check.saw}`).join("; "),
        extra: { http_code: 200, diagnostics: diagnostics as unknown as Json },
      };
    },
  });
  const task = options.task;
  if (task !== undefined) {
    list.push({
      name: "task_round_trip",
      usesToken: true,
      skip: (context) => (!context.token ? "skipped: --task needs a token" : context.tokenRefused ? "skipped: the token was refused" : null),
      probe: ({ url, token }) => roundTrip({ url, token }, task, options.timeoutMs),
    });
  }
  return list;
}

/** The whole test's failure, said once: the server out of reach, the token refused, or the checks that failed. */
function summary(checks: Check[], context: StepContext): JsonObject {
  const failed = checks.filter((check) => check.ok === false);
  const health = checks.find((check) => check.name === "health");
  if (health?.ok === false && health.http_code === undefined) {
    return failure({ code: "server_unreachable", error: `The deployment did not answer: ${health.message}`, hint: "Check the URL (`pulumi stack output url`); locally, start npm run dev:stub." });
  }
  if (context.tokenRefused) {
    return failure({
      code: "token_refused",
      error: "The token was refused (HTTP 401): the deployment does not accept it",
      hint: "Use the current token: `pulumi stack output serverAuthToken --show-secrets`, or the one npm run dev:stub printed on start (after a second rotation the oldest token no longer works).",
    });
  }
  const firstDeploy = checks.find((check) => check.name === "first_deploy_check");
  const diagnostics = (Array.isArray(firstDeploy?.diagnostics) ? firstDeploy.diagnostics : []) as unknown as ReadCheck[];
  const problems = diagnostics.filter((check) => !check.ok && check.next_step !== undefined);
  if (problems.length > 0 && failed.length === 1) {
    return failure({
      code: "first_deploy_check_failed",
      error: `The first-deploy check found ${problems.length === 1 ? "a problem" : `${problems.length} problems`}: ${problems.map((check) => `${check.name} (${check.saw})`).join("; ")}`,
      hint: problems.map((check) => check.next_step).join(" "),
    });
  }
  return failure({
    code: "deployment_checks_failed",
    error: `${failed.length} of ${checks.length} checks failed: ${failed.map((check) => check.name).join(", ")}`,
    hint: "Each failing check's message says what the deployment answered; docs/workflows/troubleshoot.md says what to do.",
  });
}

export async function testDeployment(options: TestDeploymentOptions): Promise<CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "test-deployment", rest: [] }, tokenRequired: false });
  const context: StepContext = { url: target.url, token: target.token, tokenRefused: false };
  const checks: Check[] = [];
  for (const step of steps(options)) {
    const reason = step.skip(context);
    if (reason !== null) {
      checks.push(skipped(step.name, reason));
      continue;
    }
    const check = await timed(step.name, () => step.probe(context));
    if (step.usesToken && check.http_code === 401) context.tokenRefused = true;
    checks.push(check);
  }

  const failed = checks.filter((check) => check.ok === false).length;
  const report = {
    url: target.url,
    passed: checks.filter((check) => check.ok === true).length,
    failed,
    skipped: checks.filter((check) => check.ok === null).length,
    checks,
  };
  return {
    output: failed === 0 ? { success: true, ...report } : { ...summary(checks, context), ...report },
    ok: failed === 0,
    secrets: [target.token],
  };
}
