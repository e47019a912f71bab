/**
 * The MCP server of `POST /mcp`: the official SDK's server and its
 * web-standard Streamable HTTP transport, stateless. Each request gets a fresh
 * server and transport and nothing outlives it, so any Worker instance answers
 * any request and there is no session to keep. The answer is a Server-Sent
 * Events stream when the request holds a call, so that progress notifications
 * can go out while a tool waits; the route has checked the bearer token before
 * this runs.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { SERVICE_VERSION } from "../contract.js";
import { type CallApi, TaskApi } from "./api.js";
import { registerTools } from "./tools.js";

/** Most bytes of one MCP request: the API takes task bodies of 256 KiB, which JSON-RPC and escapes make larger. */
const MAX_MCP_BODY_BYTES = 1024 * 1024;

/** What the server tells a client's model about itself when it connects. */
const INSTRUCTIONS =
  "claude-sandbox runs Claude Code tasks, each in its own isolated sandbox, and keeps their results. Delegate self-contained work " +
  "with run_task, then call wait_for_task until the task ends; its result holds Claude's answer. For a repository task, get_task_patch " +
  "returns its changes. get_task_events shows what a task is doing; cancel_task stops it; list_tasks finds earlier tasks. An error " +
  "names the API's code, such as task_not_found or task_not_finished.";

/** Answers one `POST /mcp`; the tools call the API through `callApi` with the request's own credentials. */
export async function serveMcp(request: Request, callApi: CallApi): Promise<Response> {
  const server = new McpServer({ name: "claude-sandbox", version: SERVICE_VERSION }, { instructions: INSTRUCTIONS });
  registerTools(server, new TaskApi(callApi, request));
  const transport = new WebStandardStreamableHTTPServerTransport({ maxRequestBodySize: MAX_MCP_BODY_BYTES });
  await server.connect(transport);
  return transport.handleRequest(request);
}
