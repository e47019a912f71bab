/**
 * `test-deployment [url] [token] [--task text]`: checks a running deployment the
 * way a client meets it, each check timed: health (status and platform), a
 * request without a token and one with a wrong token are refused (401), a
 * request without a task is refused (400), and with --task a real task runs
 * and its stored result reads back the same. Works against `npm run dev:stub`
 * and a live deployment.
 */
import { randomBytes } from "node:crypto";
import { request, UnreachableError } from "../lib/http.js";
import type { CommandResult, Json } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";
import { httpWaitMs } from "./execute-task.js";

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

export interface TestDeploymentOptions {
  args: string[];
  task?: string;
  timeoutMs?: number;
}

export async function testDeployment(options: TestDeploymentOptions): Promise<CommandResult> {
  const target = resolveTarget(options.args, { restCount: 0, tokenRequired: false });
  const { url, token } = target;
  const checks: Check[] = [];

  checks.push(
    await timed("health", async () => {
      const response = await request(`${url}/health`, { timeoutMs: 30_000 });
      const ok = response.status === 200 && field(response.body, "status") === "healthy";
      const platform = field(response.body, "platform");
      return {
        ok,
        message: ok ? `healthy (version ${String(field(response.body, "version"))})` : `HTTP ${response.status}, not healthy`,
        extra: { platform: typeof platform === "string" ? platform : null, http_code: response.status },
      };
    }),
  );

  const refused = (name: string, headers: Record<string, string>) =>
    timed(name, async () => {
      const response = await request(`${url}/execute`, { method: "POST", headers, json: { task: "probe" }, timeoutMs: 30_000 });
      const ok = response.status === 401;
      return { ok, message: ok ? "refused with 401" : `expected 401, got HTTP ${response.status}`, extra: { http_code: response.status } };
    });
  checks.push(await refused("rejects_missing_token", {}));
  checks.push(await refused("rejects_wrong_token", { authorization: `Bearer wrong-${randomBytes(16).toString("hex")}` }));

  if (!token) {
    checks.push(skipped("rejects_missing_task", "skipped: no token given"));
  } else {
    checks.push(
      await timed("rejects_missing_task", async () => {
        const response = await request(`${url}/execute`, { method: "POST", token, json: {}, timeoutMs: 30_000 });
        const code = field(response.body, "code");
        const ok = response.status === 400 && code === "task_required";
        return {
          ok,
          message: ok ? "refused with 400 task_required" : `expected 400 task_required, got HTTP ${response.status} ${String(code ?? "")}`.trim(),
          extra: { http_code: response.status },
        };
      }),
    );
  }

  if (options.task !== undefined) {
    if (!token) {
      checks.push(skipped("task_round_trip", "skipped: --task needs a token"));
    } else {
      const task = options.task;
      checks.push(
        await timed("task_round_trip", async () => {
          const response = await request(`${url}/execute`, {
            method: "POST",
            token,
            json: { task, ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }) },
            timeoutMs: httpWaitMs(options.timeoutMs),
          });
          const taskId = field(response.body, "taskId");
          if (response.status !== 200 || typeof taskId !== "string") {
            return { ok: false, message: `task not run: HTTP ${response.status} ${String(field(response.body, "code") ?? "")}`.trim(), extra: { http_code: response.status } };
          }
          const stored = await request(`${url}/tasks/${taskId}/result`, { token, timeoutMs: 30_000 });
          const same = stored.status === 200 && JSON.stringify(stored.body) === JSON.stringify(response.body);
          const succeeded = field(response.body, "success") === true;
          return {
            ok: succeeded && same,
            message: !succeeded
              ? `task ran but failed: ${String((field(response.body, "error") as { code?: string } | undefined)?.code ?? "unknown")}`
              : same
                ? "task ran and its stored result reads back the same"
                : `stored result differs (HTTP ${stored.status})`,
            extra: {
              taskId,
              output: typeof field(response.body, "output") === "string" ? String(field(response.body, "output")).slice(0, 500) : null,
            },
          };
        }),
      );
    }
  }

  const failed = checks.filter((check) => check.ok === false).length;
  return {
    output: {
      success: failed === 0,
      url,
      passed: checks.filter((check) => check.ok === true).length,
      failed,
      skipped: checks.filter((check) => check.ok === null).length,
      checks,
    },
    ok: failed === 0,
    secrets: [token],
  };
}
