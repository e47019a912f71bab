/**
 * The container's egress, through the SDK's real ContainerProxy (the entrypoint
 * that carries every outbound request of a sandbox) with the policy and the
 * Anthropic handler that worker/src/sandbox.ts registers.
 */
import { ContainerProxy } from "@cloudflare/sandbox";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CREDENTIAL_PLACEHOLDER } from "../../worker/src/tasks/claude-command.js";
import { DEFAULT_ALLOWED_HOSTS } from "../../worker/src/contract.js";
import { egressPolicy } from "../../worker/src/egress/outbound.js";
import { Sandbox } from "../../worker/src/sandbox/sandbox.js";
import { type EnvOverrides, envWith, OAUTH_TOKEN } from "./helpers.js";

const API_KEY = "fake-apikey-real-key-for-tests";

let sent: Request[] = [];
beforeEach(() => {
  sent = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    sent.push(new Request(input, init));
    return new Response("upstream ok", { status: 200 });
  });
});
afterEach(() => vi.restoreAllMocks());

/** Sends a request the way the container's traffic reaches the Worker. */
function fromContainer(url: string, init: RequestInit = {}, env: EnvOverrides = {}): Promise<Response> {
  const fullEnv = envWith(env);
  const policy = egressPolicy(fullEnv);
  const props = {
    className: Sandbox.name,
    containerId: "test-container",
    enableInternet: policy.enableInternet,
    allowedHosts: policy.allowedHosts,
    interceptAll: true,
  };
  const proxy = new ContainerProxy({ props } as unknown as ExecutionContext, fullEnv as never);
  return proxy.fetch(new Request(url, init));
}

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

  it("registers a handler for the Anthropic API host only", () => {
    expect(Object.keys(Sandbox.outboundByHost ?? {})).toEqual(["api.anthropic.com"]);
  });
});

describe("only allowed hosts pass", () => {
  it.each([
    ["https://evil.example.com/exfiltrate"],
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
  it("replaces the placeholder with the OAuth token on requests to api.anthropic.com", async () => {
    const response = await fromContainer("https://api.anthropic.com/v1/messages?beta=true", {
      method: "POST",
      headers: { authorization: `Bearer ${CREDENTIAL_PLACEHOLDER}`, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: '{"model":"claude","messages":[]}',
    });
    expect(response.status).toBe(200);
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request!.url).toBe("https://api.anthropic.com/v1/messages?beta=true");
    expect(request!.headers.get("authorization")).toBe(`Bearer ${OAUTH_TOKEN}`);
    expect(request!.headers.get("x-api-key")).toBeNull();
    expect(request!.headers.get("anthropic-version")).toBe("2023-06-01");
    expect(await request!.text()).toBe('{"model":"claude","messages":[]}');
  });

  it("sets x-api-key when the deployment uses an API key", async () => {
    await fromContainer(
      "https://api.anthropic.com/v1/messages",
      { method: "POST", headers: { "x-api-key": CREDENTIAL_PLACEHOLDER }, body: "{}" },
      { CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_API_KEY: API_KEY },
    );
    const [request] = sent;
    expect(request!.headers.get("x-api-key")).toBe(API_KEY);
    expect(request!.headers.get("authorization")).toBeNull();
  });

  it("always sends the credential over HTTPS to api.anthropic.com", async () => {
    await fromContainer("http://api.anthropic.com/v1/messages", { method: "POST", body: "{}" });
    expect(sent[0]!.url).toBe("https://api.anthropic.com/v1/messages");
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

  it("refuses to forward when no credential is configured", async () => {
    const response = await fromContainer(
      "https://api.anthropic.com/v1/messages",
      { method: "POST", body: "{}" },
      { CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_API_KEY: undefined },
    );
    expect(response.status).toBe(502);
    expect(sent).toEqual([]);
  });
});
