/**
 * The JSON documents the MCP tools return, as zod schemas: the SDK turns them
 * into each tool's output schema, checks every `structuredContent` against it
 * before it leaves, and clients check it again. They follow the API's documents
 * (contract.ts, docs/api.md) field by field; objects are loose, so a field the
 * API adds later passes through instead of failing every client.
 */
import * as z from "zod";
import { TASK_STATUSES, TERMINAL_STATUSES } from "../contract.js";

const nullableNumber = z.number().nullable();

const usage = z
  .looseObject({
    inputTokens: nullableNumber,
    outputTokens: nullableNumber,
    cacheCreationInputTokens: nullableNumber,
    cacheReadInputTokens: nullableNumber,
    costUsd: nullableNumber.describe("What the task cost, in USD"),
    numTurns: nullableNumber,
    sessionId: z.string().nullable().describe("Claude Code's session id"),
    models: z.record(z.string(), z.looseObject({})).nullable(),
  })
  .nullable()
  .describe("Tokens, cost and turns from Claude Code's final message; null until then");

const taskError = z.looseObject({
  code: z.string().describe("Why: claude_error, claude_exit_nonzero, max_turns_reached, budget_exceeded, platform_interrupted, sandbox_unavailable, task_timeout, task_cancelled or repository_failed"),
  message: z.string(),
});

const repository = z
  .looseObject({
    url: z.string(),
    ref: z.string().nullable(),
    branch: z.string().describe("The work branch"),
    push: z.boolean(),
    pullRequestRequested: z.boolean(),
    base: z.string().nullable().describe("The commit the task started from"),
    head: z.string().nullable().describe("The task's commit; null when nothing changed"),
    diffStat: z
      .looseObject({
        filesChanged: z.number(),
        insertions: z.number(),
        deletions: z.number(),
        files: z.array(z.looseObject({ path: z.string(), insertions: z.number(), deletions: z.number(), binary: z.boolean() })),
        truncated: z.boolean(),
      })
      .nullable(),
    pushed: z.boolean(),
    pullRequest: z.looseObject({ url: z.string(), number: z.number() }).nullable(),
    artifacts: z.record(z.string(), z.string()),
  })
  .describe("A repository task: what it worked on and what it handed back");

/** `GET /tasks/:taskId`: where a task stands. */
export const statusDocument = z.looseObject({
  taskId: z.string(),
  status: z.enum(TASK_STATUSES).describe("queued → running → succeeded, failed, timed_out or cancelled (terminal, never changes)"),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: nullableNumber,
  timeoutMs: z.number(),
  eventCount: z.number().describe("Events so far"),
  usage,
  error: taskError.nullable().describe("Why the task did not succeed, once it ended"),
  callback: z.looseObject({ attempts: z.number(), delivered: z.boolean(), lastStatus: nullableNumber }).optional(),
  repository: repository.optional(),
  continuedFrom: z.string().optional().describe("The task this one follows up"),
  queuePosition: z.number().optional().describe("How many tasks on the same repository and branch run before it"),
  links: z.looseObject({ self: z.string(), events: z.string(), result: z.string(), cancel: z.string() }),
});

/**
 * `GET /tasks/:taskId/result` without `stdout` (Claude Code's raw stream-json,
 * which get_task_events gives as events): what an agent reads of a finished task.
 */
export const resultDocument = z.looseObject({
  taskId: z.string(),
  status: z.enum(TERMINAL_STATUSES),
  success: z.boolean(),
  exitCode: nullableNumber.describe("Claude Code's exit code; null when it never ended by itself"),
  output: z.string().describe("What to show: Claude's final text, else its stderr"),
  result: z.string().describe("Claude's final text"),
  stderr: z.string(),
  usage,
  timedOut: z.boolean(),
  truncated: z.boolean().describe("Claude Code's output lost its beginning to the deployment's size bound"),
  error: taskError.optional(),
  startedAt: z.string().nullable(),
  timestamp: z.string().describe("When the task finished"),
  durationMs: z.number(),
  repository: repository.optional(),
  continuedFrom: z.string().optional(),
});

/** What run_task and wait_for_task return: the task's status, and its result once it ended. */
export const taskOutcome = z.object({
  task: statusDocument,
  result: resultDocument.nullable().describe("The result once the task ended; null while it is queued or running"),
});

/** `GET /tasks`. */
export const taskList = z.object({
  tasks: z.array(statusDocument).describe("Newest first"),
  cursor: z.string().nullable().describe("Pass as `cursor` for the next (older) page; null on the last page"),
});

/** `GET /tasks/:taskId/events` as JSON. */
export const eventsPage = z.object({
  events: z.array(
    z.looseObject({
      seq: z.number().describe("From 1, without gaps"),
      type: z.enum(["status", "init", "text", "tool_use", "tool_result", "result", "end"]),
      at: z.string(),
      data: z.looseObject({}),
    }),
  ),
  next: z.number().describe("The last seq returned: pass it as `after` to read on"),
  done: z.boolean().describe("Nothing follows: the task ended and this page reached its end event"),
});

/** A repository task's patch, read as text. */
export const patchDocument = z.object({
  taskId: z.string(),
  patch: z.string().describe("`git diff --binary` from the task's base to its commit, as UTF-8 text"),
  truncated: z.boolean().describe("The patch is longer than this: it was cut after its last whole line within 1 MiB"),
});
