/**
 * The container's egress, through the real `Sandbox` class
 * (worker/src/sandbox/sandbox.ts) as the containers library reads it. The class
 * is constructed on a real Durable Object state whose container is a recorder,
 * and started the way the library starts it; what the library hands the
 * runtime (start options, interception calls) is asserted, and the container's
 * requests are sent through the very interceptor it registered (the SDK's
 * ContainerProxy with the props the library built). A renamed or flipped field
 * (`enableInternet = true`, `interceptHttps = false`, a lost `allowedHosts` or
 * `outboundByHost`) fails here instead of silently opening the container.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_ALLOWED_HOSTS } from "../../worker/src/contract.js";
import { egressPolicy } from "../../worker/src/egress/outbound.js";
import type { WorkerEnv } from "../../worker/src/env.js";
import { ContainerProxy } from "../../worker/src/index.js";
import { Sandbox } from "../../worker/src/sandbox/sandbox.js";
import { CREDENTIAL_PLACEHOLDER } from "../../worker/src/tasks/claude-command.js";
import { type EnvOverrides, envWith, OAUTH_TOKEN, testEnv } from "./helpers.js";

const API_KEY = "fake-apikey-real-key-for-tests";

interface Interception {
  call: "interceptOutboundHttp" | "interceptOutboundHttps" | "interceptAllOutboundHttp";
  address: string | null;
  fetcher: Fetcher;
}

/** The runtime's container, reduced to a recorder of what the library asks of it. */
class RecordingContainer {
  running = false;
  readonly starts: (ContainerStartupOptions | undefined)[] = [];
  readonly interceptions: Interception[] = [];

  start(options?: ContainerStartupOptions): void {
    this.starts.push(options);
    this.running = true;
  }
  monitor(): Promise<void> {
    return new Promise(() => {});
  }
  getTcpPort(): Fetcher {
    return { fetch: async () => Response.json({}) } as unknown as Fetcher;
  }
  async setInactivityTimeout(): Promise<void> {}
  async destroy(): Promise<void> {
    this.running = false;
  }
  signal(): void {}
  async interceptOutboundHttp(address: string, fetcher: Fetcher): Promise<void> {
    this.interceptions.push({ call: "interceptOutboundHttp", address, fetcher });
  }
  async interceptOutboundHttps(address: string, fetcher: Fetcher): Promise<void> {
    this.interceptions.push({ call: "interceptOutboundHttps", address, fetcher });
  }
  async interceptAllOutboundHttp(fetcher: Fetcher): Promise<void> {
    this.interceptions.push({ call: "interceptAllOutboundHttp", address: null, fetcher });
  }
}

interface StartedSandbox {
  container: RecordingContainer;
  /** The props the library gave each ContainerProxy it asked the runtime for. */
  proxyProps: Record<string, unknown>[];
}

/** Constructs the real Sandbox on a fresh Durable Object state and starts its container. */
async function startRealSandbox(env: WorkerEnv = testEnv): Promise<StartedSandbox> {
  const container = new RecordingContainer();
  const proxyProps: Record<string, unknown>[] = [];
  const exports = {
    // What `ctx.exports.ContainerProxy({props})` is at runtime: the Worker's exported entrypoint with those props.
    ContainerProxy: ({ props }: { props: Record<string, unknown> }) => {
      proxyProps.push(props);
      const proxy = new ContainerProxy({ props } as unknown as ExecutionContext, env as never);
      return { fetch: (request: Request) => proxy.fetch(request) };
    },
  };
  const stub = testEnv.Sandbox.get(testEnv.Sandbox.newUniqueId());
  await runInDurableObject(stub, async (_instance, state) => {
    // The runtime's own state object, with the two members a container-enabled deployment has.
    Object.defineProperty(state, "container", { value: container });
    Object.defineProperty(state, "exports", { value: exports });
    const sandbox = new Sandbox(state as DurableObjectState<{}>, env);
    // As the runtime does, deliver nothing to the object before its constructor's blockConcurrencyWhile ends.
    await state.blockConcurrencyWhile(async () => {});
    await sandbox.start();
    await state.storage.deleteAlarm();
  });
  return { container, proxyProps };
}

/** Sends a request of the container through the interceptor the real Sandbox registered for its scheme. */
async function fromContainer(url: string, init: RequestInit = {}, env: EnvOverrides = {}): Promise<Response> {
  const { container } = await startRealSandbox(envWith(env));
  const https = url.startsWith("https:");
  const interception = container.interceptions.find(({ call, address }) =>
    https ? call === "interceptOutboundHttps" && address === "*" : call === "interceptAllOutboundHttp",
  );
  if (!interception) throw new Error(`the Sandbox registered no interception for ${https ? "HTTPS" : "HTTP"}`);
  return interception.fetcher.fetch(new Request(url, init));
}

let sent: Request[] = [];
beforeEach(() => {
  sent = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    sent.push(new Request(input, init));
    return new Response("upstream ok", { status: 200 });
  });
  vi.spyOn(console, "log").mockImplementation(() => {});
  // The SDK warns that the recorder reports no container version.
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => vi.restoreAllMocks());

describe("the real Sandbox class, as the containers library reads it", () => {
  it("starts the container without general internet access", async () => {
    const { container } = await startRealSandbox();
    expect(container.starts).toHaveLength(1);
    expect(container.starts[0]).toMatchObject({ enableInternet: false });
  });

  it("intercepts all outbound HTTP and HTTPS, and tells every proxy there is no general internet", async () => {
    const { container, proxyProps } = await startRealSandbox();
    const calls = container.interceptions.map(({ call, address }) => `${call} ${address ?? ""}`.trim());
    expect(calls).toContain("interceptOutboundHttps *");
    expect(calls).toContain("interceptAllOutboundHttp");
    expect(proxyProps.length).toBeGreaterThan(0);
    for (const props of proxyProps) {
      expect(props).toMatchObject({ className: "Sandbox", enableInternet: false, interceptAll: true });
      expect(props.allowedHosts).toEqual(testEnv.ALLOWED_HOSTS.split(","));
    }
  });

  it("asks the container to trust the interception CA", async () => {
    const { container } = await startRealSandbox();
    expect(container.starts[0]?.env).toMatchObject({ SANDBOX_INTERCEPT_HTTPS: "1" });
  });

  it("registers a handler for the Anthropic API host only", () => {
    expect(Object.keys(Sandbox.outboundByHost ?? {})).toEqual(["api.anthropic.com"]);
  });
});

describe("egress policy", () => {
  it("turns off general internet, intercepts HTTPS and allows the configured hosts", () => {
    expect(egressPolicy({ ALLOWED_HOSTS: "api.anthropic.com,github.com" })).toEqual({
      enableInternet: false,
      interceptHttps: true,
      allowedHosts: ["api.anthropic.com", "github.com"],
    });
  });

  it("always allows the Anthropic API", () => {
    expect(egressPolicy({ ALLOWED_HOSTS: "github.com" }).allowedHosts).toEqual(["api.anthropic.com", "github.com"]);
  });

  it("uses the documented default hosts when none are configured", () => {
    expect(egressPolicy({}).allowedHosts).toEqual([...DEFAULT_ALLOWED_HOSTS]);
  });

  it("allows only the Anthropic API when the setting is invalid", () => {
    expect(egressPolicy({ ALLOWED_HOSTS: "github.com/evil path" }).allowedHosts).toEqual(["api.anthropic.com"]);
  });
});

describe("only allowed hosts pass", () => {
  it.each([
    ["https://evil.example.com/exfiltrate"],
    ["http://evil.example.com/exfiltrate"],
    ["http://169.254.169.254/latest/meta-data/"],
    ["https://api.anthropic.com.evil.example/v1/messages"],
    ["https://github.com.evil.example/"],
    ["https://gist.githubusercontent.com/x"],
  ])("%s is refused and never fetched", async (url) => {
    const response = await fromContainer(url, { method: "POST", body: "data" });
    expect(response.status).toBe(520);
    expect(sent).toEqual([]);
  });

  it("passes an allowed host through unchanged", async () => {
    const response = await fromContainer("https://github.com/cloudflare/sandbox-sdk.git/info/refs");
    expect(response.status).toBe(200);
    expect(sent.map((request) => request.url)).toEqual(["https://github.com/cloudflare/sandbox-sdk.git/info/refs"]);
  });

  it("honours glob entries", async () => {
    const env = { ALLOWED_HOSTS: "api.anthropic.com,*.githubusercontent.com" };
    expect((await fromContainer("https://objects.githubusercontent.com/a", {}, env)).status).toBe(200);
    expect((await fromContainer("https://github.com/a", {}, env)).status).toBe(520);
  });
});

describe("the credential is added only toward the Anthropic API", () => {
  const MESSAGE = '{"model":"claude","messages":[],"max_tokens":1}';
  /** Everything a container might put on a request: both placeholders and a host of its choosing. */
  const containerHeaders = {
    authorization: `Bearer ${CREDENTIAL_PLACEHOLDER}`,
    "x-api-key": CREDENTIAL_PLACEHOLDER,
    host: "evil.example",
    "content-type": "application/json",
    "anthropic-version": "2023-06-01",
  };

  it("the request as the container sent it carries both placeholders and its own host", () => {
    const request = new Request("https://api.anthropic.com/v1/messages", { method: "POST", headers: containerHeaders, body: MESSAGE });
    expect(request.headers.get("authorization")).toBe(`Bearer ${CREDENTIAL_PLACEHOLDER}`);
    expect(request.headers.get("x-api-key")).toBe(CREDENTIAL_PLACEHOLDER);
    expect(request.headers.get("host")).toBe("evil.example");
    expect(request.redirect).toBe("follow");
  });

  it("with an OAuth token: sets the Bearer token, drops x-api-key and host, and never follows a redirect", async () => {
    const response = await fromContainer("https://api.anthropic.com/v1/messages?beta=true", {
      method: "POST",
      headers: containerHeaders,
      body: MESSAGE,
    });
    expect(response.status).toBe(200);
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request!.url).toBe("https://api.anthropic.com/v1/messages?beta=true");
    expect(request!.headers.get("authorization")).toBe(`Bearer ${OAUTH_TOKEN}`);
    expect(request!.headers.get("x-api-key")).toBeNull();
    expect(request!.headers.get("host")).toBeNull();
    expect(request!.redirect).toBe("manual");
    expect(request!.headers.get("anthropic-version")).toBe("2023-06-01");
    expect(JSON.parse(await request!.text())).toEqual(JSON.parse(MESSAGE));
  });

  it("with an API key: sets x-api-key, drops authorization and host, and never follows a redirect", async () => {
    await fromContainer(
      "https://api.anthropic.com/v1/messages",
      { method: "POST", headers: containerHeaders, body: MESSAGE },
      { CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_API_KEY: API_KEY },
    );
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request!.headers.get("x-api-key")).toBe(API_KEY);
    expect(request!.headers.get("authorization")).toBeNull();
    expect(request!.headers.get("host")).toBeNull();
    expect(request!.redirect).toBe("manual");
  });

  it("always sends the credential over HTTPS to api.anthropic.com", async () => {
    await fromContainer("http://api.anthropic.com/v1/messages", { method: "POST", headers: containerHeaders, body: MESSAGE });
    expect(sent.map((request) => request.url)).toEqual(["https://api.anthropic.com/v1/messages"]);
  });

  it("does not give the credential to another host, even one carrying its own Authorization header", async () => {
    await fromContainer("https://github.com/api/repos", {
      headers: { authorization: "Bearer ghp_task_owned_token", "x-api-key": CREDENTIAL_PLACEHOLDER },
    });
    const [request] = sent;
    expect(request!.url).toBe("https://github.com/api/repos");
    expect(request!.headers.get("authorization")).toBe("Bearer ghp_task_owned_token");
    expect(request!.headers.get("x-api-key")).toBe(CREDENTIAL_PLACEHOLDER);
    const everything = JSON.stringify([...request!.headers]);
    expect(everything).not.toContain(OAUTH_TOKEN);
    expect(everything).not.toContain(API_KEY);
  });

  it("refuses a message batch sent through the real interception, before the credential is added", async () => {
    const response = await fromContainer("https://api.anthropic.com/v1/messages/batches", {
      method: "POST",
      headers: containerHeaders,
      body: JSON.stringify({ requests: [{ custom_id: "a", params: JSON.parse(MESSAGE) as unknown }] }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: "route_not_allowed" });
    expect(sent).toEqual([]);
  });

  it("refuses to forward when no credential is configured", async () => {
    const response = await fromContainer(
      "https://api.anthropic.com/v1/messages",
      { method: "POST", headers: containerHeaders, body: MESSAGE },
      { CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_API_KEY: undefined },
    );
    expect(response.status).toBe(502);
    expect(sent).toEqual([]);
  });
});
