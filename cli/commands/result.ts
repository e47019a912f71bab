/** `result [url] [token] <taskId>`: the stored result of a task. */
import { httpFailure, request, UnreachableError, unreachable } from "../lib/http.js";
import type { CommandResult, JsonObject } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";

export async function readResult(options: { args: string[] }): Promise<CommandResult> {
  const target = resolveTarget(options.args, { restCount: 1, tokenRequired: true });
  const taskId = target.rest[0]!;
  try {
    const response = await request(`${target.url}/tasks/${encodeURIComponent(taskId)}/result`, {
      token: target.token,
      timeoutMs: 30_000,
    });
    if (response.status !== 200) return { output: httpFailure(response.status, response.body), ok: false, secrets: [target.token] };
    const result = response.body as JsonObject;
    // Reading worked; the exit code still tells whether the task itself succeeded.
    return { output: result, ok: result.success === true, secrets: [target.token] };
  } catch (error) {
    if (error instanceof UnreachableError) return { output: unreachable(error), ok: false, secrets: [target.token] };
    throw error;
  }
}
