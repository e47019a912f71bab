/**
 * A stand-in for the Sandbox Durable Object that starts no container, for
 * `npm run dev:stub` and the Worker tests. It answers the way
 * `claude --print --output-format json` does and echoes the task, so clients
 * and the CLI can be tried without Docker or a Claude credential.
 * It is never part of the deployed bundle (the deployed entry is src/index.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { PROMPT_ENV_VAR } from "../src/tasks/claude-command.js";

/** The exec options the Worker sends (a subset of the SDK's ExecOptions). */
export interface StubExecOptions {
  timeout?: number;
  env?: Record<string, string | undefined>;
}

/** The fields of the SDK's ExecResult that the Worker reads. */
export interface StubExecResult {
  success: boolean;
  exitCode: number;
  stdout: string;
  stderr: string;
  command: string;
  duration: number;
  timestamp: string;
}

/** What Claude Code would print for a task, with the task echoed as the result. */
export function stubClaudeJson(task: string, sessionId: string): string {
  const inputTokens = Math.ceil(task.length / 4);
  return JSON.stringify({
    type: "result",
    subtype: "success",
    is_error: false,
    duration_ms: 1,
    num_turns: 1,
    result: `Stub sandbox (no container, no Claude) received this task:\n${task}`,
    session_id: sessionId,
    total_cost_usd: 0,
    usage: { input_tokens: inputTokens, output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  });
}

export class StubSandbox extends DurableObject {
  /** Called by `getSandbox()` with the sandbox name and options. */
  async configure(_configuration: unknown): Promise<void> {}

  async exec(command: string, options?: StubExecOptions): Promise<StubExecResult> {
    return this.run(command, options);
  }

  /** What `getSandbox(..., { enableDefaultSession: false })` calls for `exec`. */
  async execWithSessionToken(command: string, _sessionToken: string, options?: StubExecOptions): Promise<StubExecResult> {
    return this.run(command, options);
  }

  async destroy(): Promise<void> {}

  protected async run(command: string, options?: StubExecOptions): Promise<StubExecResult> {
    const task = options?.env?.[PROMPT_ENV_VAR] ?? "";
    return {
      success: true,
      exitCode: 0,
      stdout: `${stubClaudeJson(task, crypto.randomUUID())}\n`,
      stderr: "",
      command,
      duration: 1,
      timestamp: new Date().toISOString(),
    };
  }
}
