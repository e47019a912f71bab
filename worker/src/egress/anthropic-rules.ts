/**
 * The rules of the door to the Anthropic API: which requests of the container
 * may leave with the Claude credential on them. Pure functions over plain
 * values, so each rule can be read and tested alone; the handler in
 * anthropic-door.ts only reads the request, asks these rules, and forwards or refuses.
 *
 * Everything here is an allowlist taken from what the pinned Claude Code was
 * seen to send (test/container/fixtures/claude-code-api-recording.json, kept
 * equal to these lists by test/container/egress-recording.test.ts): a method,
 * path, query, body field, tool type or beta that Claude Code never sends is
 * not forwarded, whatever it would do.
 */
import type { Refused } from "./refusal.js";

/** Which kind of Claude credential the deployment holds: a subscription's OAuth token or an API key. */
export type CredentialKind = "oauth" | "apiKey";

/** A method and path the door forwards, with the query parameters it may carry. */
export interface AllowedRoute {
  method: string;
  /** The canonical path, matched exactly. */
  path: string;
  /** Each query parameter the route may carry, with its allowed values. */
  query: Readonly<Record<string, readonly string[]>>;
}

/** The Messages API, as the Anthropic SDK in Claude Code calls it (`?beta=true`). */
const MESSAGES_ROUTE: AllowedRoute = { method: "POST", path: "/v1/messages", query: { beta: ["true"] } };

/** The routes Claude Code uses, per credential kind. */
export const ALLOWED_ROUTES: Readonly<Record<CredentialKind, readonly AllowedRoute[]>> = {
  oauth: [MESSAGES_ROUTE],
  apiKey: [MESSAGES_ROUTE],
};

/** `anthropic-beta` values Claude Code sends with an API key. */
const API_KEY_BETAS = [
  "advanced-tool-use-2025-11-20",
  "claude-code-20250219",
  "context-management-2025-06-27",
  "effort-2025-11-24",
  "interleaved-thinking-2025-05-14",
  "mid-conversation-tool-changes-2026-07-01",
  "per-turn-control-2026-07-01",
  "thinking-display-updates-2026-08-18",
  "thinking-token-count-2026-05-13",
] as const;

/** The `anthropic-beta` values Claude Code sends, per credential kind. */
export const ALLOWED_BETAS: Readonly<Record<CredentialKind, readonly string[]>> = {
  oauth: [...API_KEY_BETAS, "extended-cache-ttl-2025-04-11", "oauth-2025-04-20"].sort(),
  apiKey: API_KEY_BETAS,
};

/**
 * Request headers Claude Code sends that the door passes on as they are.
 * Everything else the container sends is dropped (proxy and forwarding
 * headers, method overrides, cookies, an organization of its choosing).
 */
export const FORWARDED_REQUEST_HEADERS = [
  "accept",
  "accept-encoding",
  "anthropic-dangerous-direct-browser-access",
  "anthropic-version",
  "user-agent",
  "x-app",
  "x-claude-code-session-id",
  "x-stainless-arch",
  "x-stainless-lang",
  "x-stainless-os",
  "x-stainless-package-version",
  "x-stainless-retry-count",
  "x-stainless-runtime",
  "x-stainless-runtime-version",
  "x-stainless-timeout",
] as const;

/** Top-level fields of a Messages request that Claude Code sends. */
export const RECORDED_MESSAGE_FIELDS = [
  "context_management",
  "max_tokens",
  "messages",
  "metadata",
  "model",
  "output_config",
  "stream",
  "system",
  "thinking",
  "tool_choice",
  "tools",
] as const;

/**
 * Sampling fields of the Messages API that Claude Code may add for some models.
 * They hold numbers and strings that shape the reply and reach nothing.
 */
export const SAMPLING_MESSAGE_FIELDS = ["stop_sequences", "temperature", "top_k", "top_p"] as const;

/** Every top-level field a forwarded Messages request may have. */
export const ALLOWED_MESSAGE_FIELDS: ReadonlySet<string> = new Set<string>([
  ...RECORDED_MESSAGE_FIELDS,
  ...SAMPLING_MESSAGE_FIELDS,
]);

/**
 * Anthropic's web search server tool, the one server tool Claude Code uses (its
 * WebSearch tool). Its queries go to Anthropic's search provider, not to a host
 * the request names, so it is allowed unless the deployment turns it off.
 */
export const WEB_SEARCH_TOOL_TYPES: readonly string[] = ["web_search_20250305"];

/** The name of the web search server tool in a `server_tool_use` block. */
const WEB_SEARCH_TOOL_NAME = "web_search";

/** The content block of a web search's results. */
const WEB_SEARCH_RESULT_TYPE = "web_search_tool_result";

/** `source.type` values of content blocks that carry their data inline. */
export const INLINE_SOURCE_TYPES: ReadonlySet<string> = new Set(["base64", "text", "content"]);

/**
 * The largest request body the door reads and inspects, in bytes. Claude Code
 * sends the whole conversation each turn (a 1M-token context is about 4 MB of
 * text, and images travel as base64), so this leaves room for long tasks while
 * keeping one request's parse well inside a Worker's 128 MB.
 */
export const MAX_INSPECTED_BODY_BYTES = 16 * 1024 * 1024;

/**
 * The deepest nesting the door parses. Claude Code's requests nest 10 deep
 * (the recording keeps the figure); tool inputs add a few levels. Parsing
 * and walking a body this deep costs nothing, and a deeper one is refused
 * before it is parsed, so no check can overflow the stack.
 */
export const MAX_BODY_DEPTH = 64;

/**
 * The most JSON values a body the door parses may hold. Memory follows the
 * number of values, not the bytes: 16 MiB of empty arrays would take about
 * 280 MB of heap to parse, where an isolate has 128 MB. Claude Code's largest
 * recorded request holds at most 1,024 values in at most 64 KiB; a
 * conversation grows by the same kind of content, so a body of the largest
 * size read (16 MiB) holds about 256 Ki values at that density, and the bound
 * is twice that. At the bound, the heaviest body (empty objects in
 * `messages`, which the rules walk) is checked and forwarded within a 128 MB
 * heap (test/container/egress-door-memory.test.ts).
 */
export const MAX_BODY_VALUES = 512 * 1024;

/** How deep a JSON text nests and how many values it holds. */
export interface JsonShape {
  /** The deepest nesting of arrays and objects (a top-level object is 1). */
  depth: number;
  /** Objects, arrays, strings (keys included), numbers, booleans and nulls. */
  values: number;
}

/**
 * Measures a JSON text over its UTF-8 bytes without parsing it: the nesting
 * of `[` and `{` and the number of values, counted outside strings. It reads
 * each byte once and keeps nothing, so it costs no memory whatever the text,
 * and it stops as soon as a count passes its bound (`limits`), answering
 * which one. The counts are exact for valid JSON; any other text is refused
 * by the parser afterwards.
 */
export function jsonShape(bytes: Uint8Array, limits: JsonShape = { depth: Infinity, values: Infinity }): JsonShape & { over: keyof JsonShape | null } {
  let depth = 0;
  let deepest = 0;
  let values = 0;
  let inString = false;
  let escaped = false;
  let inScalar = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (byte === 0x5c) escaped = true;
      else if (byte === 0x22) inString = false;
      continue;
    }
    switch (byte) {
      case 0x22: // "
        inString = true;
        inScalar = false;
        values++;
        break;
      case 0x5b: // [
      case 0x7b: // {
        depth++;
        values++;
        inScalar = false;
        if (depth > deepest) deepest = depth;
        break;
      case 0x5d: // ]
      case 0x7d: // }
        depth--;
        inScalar = false;
        break;
      case 0x2c: // ,
      case 0x3a: // :
      case 0x20:
      case 0x09:
      case 0x0a:
      case 0x0d:
        inScalar = false;
        break;
      default:
        // The first byte of a number, true, false or null.
        if (!inScalar) values++;
        inScalar = true;
    }
    if (deepest > limits.depth) return { depth: deepest, values, over: "depth" };
    if (values > limits.values) return { depth: deepest, values, over: "values" };
  }
  return { depth: deepest, values, over: null };
}

/** The reasons the door refuses a request, each with its status and fixed message. */
export const EGRESS_REFUSALS = {
  path_invalid: { status: 403, message: "The request path cannot be read" },
  route_not_allowed: { status: 403, message: "This method and path of the Anthropic API are not open to the sandbox" },
  query_not_allowed: { status: 403, message: "The request has query parameters that are not allowed" },
  body_too_large: { status: 413, message: "The request body is larger than the egress door inspects" },
  body_too_deep: { status: 400, message: "The request body nests deeper than the egress door parses" },
  body_too_many_values: { status: 413, message: "The request body holds more JSON values than the egress door parses" },
  body_not_json: { status: 403, message: "The request body is not a JSON object" },
  body_field_not_allowed: { status: 403, message: "The request body has fields that are not allowed" },
  mcp_servers_not_allowed: { status: 403, message: "MCP servers reached by the API are not allowed" },
  tool_not_allowed: { status: 403, message: "The request names a server tool that is not allowed" },
  web_search_disabled: { status: 403, message: "Web search is turned off for this deployment" },
  content_source_not_allowed: { status: 403, message: "Content must be sent inline, not by URL or file id" },
  credential_not_configured: { status: 502, message: "No Claude credential is configured" },
} as const satisfies Record<string, { status: number; message: string }>;

export type EgressRefusalCode = keyof typeof EGRESS_REFUSALS;

/** A request the rules refused: the code of the rule that fired. */
export type Refusal = Refused<EgressRefusalCode>;

const refuse = (code: EgressRefusalCode): Refusal => ({ refused: code });

/**
 * The canonical form of a URL path: percent-decoded once, `\` read as `/`,
 * empty and `.` segments dropped, `..` applied. What is checked is this form,
 * and this form is what gets forwarded, so no spelling of a path (`..`,
 * `%2e%2e`, `//`, `%2f`) can be checked as one API and reach another. Null
 * when the path does not decode.
 */
export function canonicalPath(pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  const segments: string[] = [];
  for (const segment of decoded.replaceAll("\\", "/").split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join("/")}`;
}

/** A request line the door accepts: what to forward, in canonical form. */
export interface AcceptedRoute {
  route: AllowedRoute;
  /** The canonical path to forward. */
  path: string;
  /** The query to forward (`?…`, or empty), rebuilt from the checked parameters. */
  search: string;
}

/** Checks the method, path and query of a request against the routes of a credential kind. */
export function checkRoute(method: string, url: URL, kind: CredentialKind): AcceptedRoute | Refusal {
  const path = canonicalPath(url.pathname);
  if (path === null) return refuse("path_invalid");
  const route = ALLOWED_ROUTES[kind].find(
    (candidate) => candidate.method === method.toUpperCase() && candidate.path === path,
  );
  if (!route) return refuse("route_not_allowed");
  for (const [name, value] of url.searchParams) {
    if (!Object.hasOwn(route.query, name) || !route.query[name]!.includes(value)) return refuse("query_not_allowed");
  }
  const search = url.searchParams.size === 0 ? "" : `?${url.searchParams.toString()}`;
  return { route, path, search };
}

/**
 * Keeps the `anthropic-beta` values Claude Code sends for this credential kind
 * and drops the others. Dropping rather than refusing: a beta only switches an
 * API feature on, so without it the API treats the request as if the feature
 * did not exist, and the body rules refuse every feature that needs a field
 * (`mcp_servers`, server tools, file and URL sources). Refusing would fail a
 * whole task over a beta Claude Code adds for a model or option the recording
 * did not cover, for the same protection.
 */
export function filterBetas(header: string | null, kind: CredentialKind): { kept: string[]; dropped: number } {
  const values = (header ?? "")
    .split(",")
    .map((value) => value.trim())
    .filter((value) => value.length > 0);
  const kept = values.filter((value) => ALLOWED_BETAS[kind].includes(value));
  return { kept, dropped: values.length - kept.length };
}

/** Options of the Messages body rules that come from the deployment's settings. */
export interface MessageRuleOptions {
  allowWebSearch: boolean;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A tool with no `type` (or `custom`) is defined by Claude Code and runs in the container. */
function checkTool(tool: unknown, options: MessageRuleOptions): Refusal | null {
  if (!isRecord(tool)) return refuse("tool_not_allowed");
  const type = tool.type;
  if (type === undefined || type === "custom") return null;
  if (typeof type === "string" && WEB_SEARCH_TOOL_TYPES.includes(type)) {
    return options.allowWebSearch ? null : refuse("web_search_disabled");
  }
  return refuse("tool_not_allowed");
}

/**
 * Finds content the API would fetch by itself: a `source` that is not inline
 * (`url`, `file`, …) or a `file_id` (the Files API), anywhere in `value`.
 * Walks with its own stack, so a deeply nested body cannot overflow the call stack.
 */
function findFetchedContent(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (Array.isArray(current)) {
      for (const item of current) pending.push(item);
    } else if (isRecord(current)) {
      if (Object.hasOwn(current, "file_id")) return true;
      const source = current.source;
      if (isRecord(source) && !(typeof source.type === "string" && INLINE_SOURCE_TYPES.has(source.type))) return true;
      for (const item of Object.values(current)) pending.push(item);
    }
  }
  return false;
}

/**
 * Refuses a content block of a server tool, as the tool itself is refused: a
 * call (`server_tool_use`, `mcp_tool_use`, any `*_tool_use` but Claude Code's
 * own `tool_use`) or a result (any `*_tool_result` but `tool_result`), sent
 * as a prefill would make the API carry on from a fetch or a run it never
 * made. Web search's own blocks follow the web search setting.
 */
function checkServerToolBlock(block: unknown, options: MessageRuleOptions): Refusal | null {
  if (!isRecord(block) || typeof block.type !== "string") return null;
  const type = block.type;
  const webSearch = (type === "server_tool_use" && block.name === WEB_SEARCH_TOOL_NAME) || type === WEB_SEARCH_RESULT_TYPE;
  if (webSearch) return options.allowWebSearch ? null : refuse("web_search_disabled");
  if ((type.endsWith("_tool_use") && type !== "tool_use") || (type.endsWith("_tool_result") && type !== "tool_result")) return refuse("tool_not_allowed");
  return null;
}

/** Checks the content blocks of every message, and those inside tool results, for server tool blocks. */
function checkMessageBlocks(messages: unknown, options: MessageRuleOptions): Refusal | null {
  if (!Array.isArray(messages)) return null;
  for (const message of messages) {
    if (!isRecord(message) || !Array.isArray(message.content)) continue;
    for (const block of message.content) {
      const refusal = checkServerToolBlock(block, options);
      if (refusal) return refusal;
      if (!isRecord(block) || block.type !== "tool_result" || !Array.isArray(block.content)) continue;
      for (const inner of block.content) {
        const innerRefusal = checkServerToolBlock(inner, options);
        if (innerRefusal) return innerRefusal;
      }
    }
  }
  return null;
}

/** Checks a parsed Messages request body; null when it may be forwarded. */
export function checkMessageBody(body: unknown, options: MessageRuleOptions): Refusal | null {
  if (!isRecord(body)) return refuse("body_not_json");
  if (Object.hasOwn(body, "mcp_servers")) return refuse("mcp_servers_not_allowed");
  if (Object.keys(body).some((field) => !ALLOWED_MESSAGE_FIELDS.has(field))) return refuse("body_field_not_allowed");
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return refuse("tool_not_allowed");
    for (const tool of body.tools) {
      const refusal = checkTool(tool, options);
      if (refusal) return refusal;
    }
  }
  const blocks = checkMessageBlocks(body.messages, options);
  if (blocks) return blocks;
  if (findFetchedContent(body.messages) || findFetchedContent(body.system)) return refuse("content_source_not_allowed");
  return null;
}
