/**
 * The MCP tools: one `registerTool` each, with what a model reads to decide
 * when to use it, its input schema, its output schema and its handler. Every
 * handler calls the HTTP API (api.ts) and returns the document it got as
 * `structuredContent` beside a short text (text.ts). An error answer of the API
 * is thrown as an `ApiAnswerError`, which the SDK returns as a tool result with
 * `isError: true`, its text naming the API's code, and no structured content.
 *
 * Input schemas check types only where the API checks values: the API's own
 * validation then answers with its own codes (`task_required`,
 * `invalid_timeout`, `invalid_task_id`, …), bounds set by the deployment included.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { CallToolResult, ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import { PERMISSION_MODES, TASK_STATUSES } from "../contract.js";
import type { TaskApi } from "./api.js";
import { eventsPage, patchDocument, resultDocument, statusDocument, taskList, taskOutcome } from "./schemas.js";
import { describeEvents, describeList, describeOutcome, describePatch, describeResult, describeStatus } from "./text.js";
import { agentResult, MAX_WAIT_SECONDS, type ProgressReporter, waitForTask } from "./wait.js";

/** Most bytes of a patch that get_task_patch returns. */
export const MAX_PATCH_BYTES = 1024 * 1024;

/** Sends progress notifications while a tool waits, when the client asked for them with a `progressToken`. */
function progressOf(extra: RequestHandlerExtra<ServerRequest, ServerNotification>): ProgressReporter | undefined {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  return (progress, message) => extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress, message } });
}

/** A tool's answer: a short text, and the document as `structuredContent`. */
function answer(text: string, document: object): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: { ...document } };
}

// Each tool's configuration is built once, when this module loads, and its handler beside it: every request
// registers the tools on a fresh server, and building zod schemas costs far more than registering them.

const taskId = z.string().describe("The task's id (a UUID), as run_task or list_tasks gave it");

/** The input of the tools that take a task id alone. */
const byTaskId = z.strictObject({ taskId });

const readOnly = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

const RUN_TASK = {
  title: "Run a task in a sandbox",
  description:
    "Delegate a task to Claude Code, which carries it out on its own in an isolated cloud sandbox (its own container). " +
    "Use it for work that can run unattended: investigating or answering a question about code, changing a repository and handing back " +
    "a patch, a pushed branch or a pull request, a long chore. The task sees nothing of this conversation: say everything it needs. " +
    "It runs whoever waits for it: this returns at once with the task's status (or, with wait: true, waits up to 50 s and returns its result " +
    "if it ended). Then call wait_for_task until it ends; its result carries Claude's answer, and get_task_patch a repository task's changes.",
  inputSchema: z.strictObject({
    task: z.string().describe("What Claude Code should do: a self-contained prompt, at most 32 000 characters"),
    timeout: z.number().int().optional().describe("How long the task may run, in ms: from 1000 to the deployment's maximum (900000 unless it sets another); default the deployment's (300000 unless it sets another)"),
    model: z.string().optional().describe("A Claude model name or alias, such as sonnet, opus or claude-sonnet-4-5-20250929; default the deployment's"),
    maxTurns: z.number().int().optional().describe("Stop after this many turns, 1 to 500"),
    permissionMode: z.enum(PERMISSION_MODES).optional().describe("Claude Code's permission mode; default the deployment's (bypassPermissions unless it sets another)"),
    maxBudgetUsd: z.number().optional().describe("Stop once the task cost this much, in USD: above 0, at most the deployment's cap"),
    callbackUrl: z.string().optional().describe("An https:// URL that receives a signed task.finished webhook when the task ends"),
    repo: z
      .strictObject({
        url: z.string().describe("https://<host>/<owner>/<repo> on a host the deployment allows, without credentials"),
        ref: z.string().optional().describe("A branch, tag or commit to check out; default the repository's default branch"),
      })
      .optional()
      .describe("A repository to work in: the task's changes come back as a patch (get_task_patch), and a pushed branch or pull request if asked"),
    branch: z.string().optional().describe("The work branch; default a new claude/… branch named after the task; never main or master"),
    push: z.boolean().optional().describe("Push the work branch (a GitHub repository, with the deployment's GitHub credential)"),
    pullRequest: z
      .union([z.boolean(), z.strictObject({ title: z.string().optional(), body: z.string().optional() })])
      .optional()
      .describe("Open a pull request from the work branch (implies push): true, or a title and body"),
    continueFrom: z.string().optional().describe("The id of an earlier repository task to continue: its working tree and Claude session are restored, on its repository and branch (give no repo or branch)"),
    wait: z.boolean().optional().describe("Wait up to 50 s for the task to end, and return its result if it did"),
  }),
  outputSchema: taskOutcome,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
};

function runTaskTool(server: McpServer, api: TaskApi): void {
  server.registerTool("run_task", RUN_TASK, async ({ wait, ...fields }, extra) => {
    const task = await api.submit(fields);
    const outcome = wait === true ? await waitForTask(api, task.taskId, MAX_WAIT_SECONDS * 1000, progressOf(extra)) : { task, result: null };
    return answer(describeOutcome(outcome.task, outcome.result), outcome);
  });
}

const GET_TASK = {
  title: "Get a task's status",
  description:
    "Where a task stands now: its status (queued, running, succeeded, failed, timed_out, cancelled), times, event count, usage and cost, " +
    "the error it ended with, and for a repository task its branch, diff stat and pull request. Answers at once; to wait for the task, use wait_for_task.",
  inputSchema: byTaskId,
  outputSchema: statusDocument,
  annotations: readOnly,
};

function getTaskTool(server: McpServer, api: TaskApi): void {
  server.registerTool("get_task", GET_TASK, async (args) => {
    const task = await api.status(args.taskId);
    return answer(describeStatus(task), task);
  });
}

const WAIT_FOR_TASK = {
  title: "Wait for a task to end",
  description:
    "Wait for a task to end, up to timeoutSeconds (at most 50), and return its result if it ended (Claude's answer, its error, what it " +
    "changed), else its status: call it again while the task still runs. Reports each new event as progress when the client asks for progress.",
  inputSchema: z.strictObject({
    taskId,
    timeoutSeconds: z.number().int().min(0).max(MAX_WAIT_SECONDS).optional().describe(`How long to wait, 0 to ${MAX_WAIT_SECONDS} s; default ${MAX_WAIT_SECONDS}`),
  }),
  outputSchema: taskOutcome,
  annotations: readOnly,
};

function waitForTaskTool(server: McpServer, api: TaskApi): void {
  server.registerTool("wait_for_task", WAIT_FOR_TASK, async (args, extra) => {
    const outcome = await waitForTask(api, args.taskId, (args.timeoutSeconds ?? MAX_WAIT_SECONDS) * 1000, progressOf(extra));
    return answer(describeOutcome(outcome.task, outcome.result), outcome);
  });
}

const GET_TASK_EVENTS = {
  title: "Read a task's events",
  description:
    "What a task did, step by step: its events in order (status changes, Claude's texts, tool calls and their results, the final result, " +
    "end), each numbered by seq from 1. Returns the events after `after` (default 0), at most `limit` (1 to 1000, default 100); pass the " +
    "returned `next` as `after` to read on. Use it to follow a running task or to see how a task came to fail.",
  inputSchema: z.strictObject({
    taskId,
    after: z.number().int().optional().describe("Return the events after this seq; default 0"),
    limit: z.number().int().optional().describe("Most events to return, 1 to 1000; default 100"),
  }),
  outputSchema: eventsPage,
  annotations: readOnly,
};

function getTaskEventsTool(server: McpServer, api: TaskApi): void {
  server.registerTool("get_task_events", GET_TASK_EVENTS, async (args) => {
    const page = await api.events(args.taskId, { after: args.after, limit: args.limit });
    return answer(describeEvents(args.taskId, page), page);
  });
}

const GET_TASK_RESULT = {
  title: "Get a finished task's result",
  description:
    "The result of a task that ended: its status, success, output (Claude's final text), usage and cost, the error it ended with, and " +
    "for a repository task what it changed. A task still queued or running answers task_not_finished: wait_for_task waits for it and " +
    "returns the same result.",
  inputSchema: byTaskId,
  outputSchema: resultDocument,
  annotations: readOnly,
};

function getTaskResultTool(server: McpServer, api: TaskApi): void {
  server.registerTool("get_task_result", GET_TASK_RESULT, async (args) => {
    const result = agentResult(await api.result(args.taskId));
    return answer(describeResult(result), result);
  });
}

const GET_TASK_PATCH = {
  title: "Get a repository task's patch",
  description:
    "The changes a repository task made, as a unified diff (git diff --binary from the commit it started from to its own), to apply " +
    "with git apply. At most 1 MiB of it: a longer patch is cut after a whole line and truncated is true (the whole patch is at " +
    "GET /tasks/<taskId>/artifacts/changes.patch). A task without a repository, or one that changed nothing it could commit, has none (artifact_not_found).",
  inputSchema: byTaskId,
  outputSchema: patchDocument,
  annotations: readOnly,
};

function getTaskPatchTool(server: McpServer, api: TaskApi): void {
  server.registerTool("get_task_patch", GET_TASK_PATCH, async (args) => {
    const { patch, truncated } = await api.patch(args.taskId, MAX_PATCH_BYTES);
    return answer(describePatch(args.taskId, patch, truncated), { taskId: args.taskId.toLowerCase(), patch, truncated });
  });
}

const CANCEL_TASK = {
  title: "Cancel a task",
  description:
    "Stop a queued or running task: Claude Code is stopped, its sandbox destroyed, and what it said so far kept as its result. " +
    "Returns its status, cancelled. A task that already ended answers task_finished.",
  inputSchema: byTaskId,
  outputSchema: statusDocument,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
};

function cancelTaskTool(server: McpServer, api: TaskApi): void {
  server.registerTool("cancel_task", CANCEL_TASK, async (args) => {
    const task = await api.cancel(args.taskId);
    return answer(describeStatus(task), task);
  });
}

const LIST_TASKS = {
  title: "List tasks",
  description:
    "The deployment's tasks, newest first, each with its status. Filter by status; at most `limit` per page (1 to 100, default 20); " +
    "pass the returned cursor to see older tasks.",
  inputSchema: z.strictObject({
    status: z.enum(TASK_STATUSES).optional().describe("Only tasks with this status"),
    limit: z.number().int().optional().describe("Most tasks to return, 1 to 100; default 20"),
    cursor: z.string().optional().describe("The cursor of the previous page, for older tasks"),
  }),
  outputSchema: taskList,
  annotations: readOnly,
};

function listTasksTool(server: McpServer, api: TaskApi): void {
  server.registerTool("list_tasks", LIST_TASKS, async (args) => {
    const list = await api.list(args);
    return answer(describeList(list), list);
  });
}

/** Registers every tool on `server`, each calling the API through `api`. */
export function registerTools(server: McpServer, api: TaskApi): void {
  runTaskTool(server, api);
  getTaskTool(server, api);
  waitForTaskTool(server, api);
  getTaskEventsTool(server, api);
  getTaskResultTool(server, api);
  getTaskPatchTool(server, api);
  cancelTaskTool(server, api);
  listTasksTool(server, api);
}
