/**
 * The first-deploy check, run live: a sandbox that is not a task starts, runs
 * each check of checks.ts from inside (its first command, an allowed host, a
 * host that is not allowed, the Anthropic door, the environment a task's
 * process sees), and is destroyed, whatever happened.
 */
import { claudeCredential } from "../egress/anthropic-door.js";
import type { WorkerEnv } from "../env.js";
import { destroySandbox, openTaskSandbox, type TaskSandbox } from "../sandbox/control.js";
import { deploymentSecrets } from "../secrets.js";
import { readSettings } from "../settings.js";
import { buildClaudeInvocation } from "../tasks/claude-command.js";
import {
  blockedHost,
  DIAGNOSTIC_CHECKS,
  type DiagnosticCheck,
  type DiagnosticCheckName,
  type DiagnosticsReport,
  DOOR_PROBE_URL,
  ENVIRONMENT_COMMAND,
  judgeAllowedHost,
  judgeAnthropicDoor,
  judgeBlockedHost,
  judgeEnvironment,
  PROBE_TIMEOUT_SECONDS,
  probeCommand,
  reachableHost,
  readProbe,
} from "./checks.js";

/** How long the sandbox is kept awake between commands. */
const KEEP_ALIVE_MS = 5 * 60_000;
/** How long the first command may wait for the container to start (a cold start takes up to about two minutes). */
const START_TIMEOUT_MS = 180_000;
/** How long the destroy at the end is waited for. */
const DESTROY_WAIT_MS = 15_000;

/** Runs `check` and times it; a throw is a failed check that says what was thrown (its name and message, never a secret). */
async function timed(name: DiagnosticCheckName, check: () => Promise<Omit<DiagnosticCheck, "name" | "ms">>): Promise<DiagnosticCheck> {
  const started = Date.now();
  try {
    return { name, ...(await check()), ms: Date.now() - started };
  } catch (error) {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { name, ok: false, saw: `the sandbox failed: ${what.slice(0, 300)}`, ms: Date.now() - started };
  }
}

/** The checks after the container started, given the sandbox. */
function liveChecks(sandbox: TaskSandbox, env: WorkerEnv): (() => Promise<DiagnosticCheck>)[] {
  const settings = readSettings(env);
  const probe = async (command: string) => readProbe((await sandbox.exec(command, { env: {}, timeoutMs: (PROBE_TIMEOUT_SECONDS + 10) * 1000 })).stdout);
  return [
    () =>
      timed("allowed_host", async () => {
        const host = reachableHost(settings.allowedHosts);
        if (host === null) return { ok: false, saw: "allowedHosts names no host to reach besides the Anthropic API" };
        return judgeAllowedHost(host, await probe(probeCommand("allowed_host", "HEAD", `https://${host}/`)));
      }),
    () =>
      timed("blocked_host", async () => {
        const host = blockedHost(settings.allowedHosts);
        if (host === null) return { ok: false, saw: "allowedHosts allows example.com, example.net and example.org: no host is left to be refused" };
        return judgeBlockedHost(host, await probe(probeCommand("blocked_host", "HEAD", `https://${host}/`)));
      }),
    () => timed("anthropic_door", async () => judgeAnthropicDoor(await probe(probeCommand("anthropic_door", "GET", DOOR_PROBE_URL)))),
    () =>
      timed("no_credential", async () => {
        const credential = claudeCredential(env);
        if (!credential) return { ok: false, saw: "no Claude credential is configured" };
        // The environment a task's Claude Code gets, as the task object builds it.
        const taskEnv = buildClaudeInvocation({ task: "", permissionMode: settings.permissionMode, timeoutMs: 60_000, credential, credentialMode: settings.credentialMode }).env;
        const printed = await sandbox.exec(ENVIRONMENT_COMMAND, { env: taskEnv, timeoutMs: 30_000 });
        return judgeEnvironment(printed.stdout, deploymentSecrets(env), settings.credentialMode);
      }),
  ];
}

/** Runs the first-deploy check in a sandbox of its own, then destroys it. */
export async function runDiagnostics(env: WorkerEnv, sandboxName: string = `diagnostics-${crypto.randomUUID()}`): Promise<DiagnosticsReport> {
  const sandbox = openTaskSandbox(env.Sandbox, sandboxName, KEEP_ALIVE_MS);
  try {
    const start = await timed("container_start", async () => {
      const started = Date.now();
      await sandbox.exec("true", { env: {}, timeoutMs: START_TIMEOUT_MS });
      return { ok: true, saw: `the container ran its first command ${((Date.now() - started) / 1000).toFixed(1)} s after it was asked for` };
    });
    const checks = [start];
    if (start.ok) {
      for (const check of liveChecks(sandbox, env)) checks.push(await check());
    } else {
      for (const name of DIAGNOSTIC_CHECKS.slice(1)) checks.push({ name, ok: false, saw: "not run: the container did not start", ms: 0 });
    }
    return { ok: checks.every((check) => check.ok), checks };
  } finally {
    await destroySandbox(sandbox, null, DESTROY_WAIT_MS);
  }
}
