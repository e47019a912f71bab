/**
 * GitHub credentials (worker/src/repositories/github.ts) in workerd: the app
 * JWT signed on the runtime's WebCrypto and checked, independently, by `jose`
 * with the app's public key, the requests the client makes, and how each
 * GitHub answer maps to a stable error code.
 */
import { exportSPKI, importSPKI, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  createAppJwt,
  GitHubError,
  type GitHubErrorCode,
  openPullRequest,
  pkcs8PrivateKey,
  repositoryToken,
} from "../../worker/src/repositories/github.js";

const APP_ID = "123456";
const REPOSITORY = { owner: "octo", repo: "hello" };

const base64 = (bytes: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const pem = (bytes: ArrayBuffer | Uint8Array, label: string) => `-----BEGIN ${label}-----\n${base64(bytes).replace(/.{1,64}/g, "$&\n")}-----END ${label}-----\n`;

let pkcs8Pem: string;
let pkcs1Pem: string;
let publicPem: string;

beforeAll(async () => {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  pkcs8Pem = pem(pkcs8, "PRIVATE KEY");
  // A 2048-bit key's PKCS#8 wrapping is 26 bytes; what follows is the PKCS#1 key GitHub hands out.
  pkcs1Pem = pem(pkcs8.slice(26), "RSA PRIVATE KEY");
  publicPem = await exportSPKI(pair.publicKey);
});

describe("createAppJwt on workerd", () => {
  it.each([
    ["PKCS#8", () => pkcs8Pem],
    ["PKCS#1", () => pkcs1Pem],
  ])("signs with a %s key a JWT the app's public key verifies", async (_name, key) => {
    const now = Date.now();
    const jwt = await createAppJwt({ appId: APP_ID, privateKey: key() }, now);
    const { payload, protectedHeader } = await jwtVerify(jwt, await importSPKI(publicPem, "RS256"), { issuer: APP_ID });
    expect(protectedHeader.alg).toBe("RS256");
    expect(payload.iat).toBe(Math.floor(now / 1000) - 60);
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it("wraps a PKCS#1 key into the same PKCS#8 key", () => {
    const der = Uint8Array.from(atob(pkcs8Pem.replace(/-----[^-]+-----|\s/g, "")), (character) => character.charCodeAt(0));
    expect(pkcs8PrivateKey(pkcs1Pem)).toEqual(der);
    expect(pkcs8PrivateKey(pkcs8Pem)).toEqual(der);
    expect(pkcs8PrivateKey(pkcs1Pem.replaceAll("\n", "\\n"))).toEqual(der);
    expect(pkcs8PrivateKey("no key here")).toBeNull();
  });
});

type Route = (request: Request) => Response | Promise<Response>;

/** A fake fetch: records each request and answers it with `route`. */
function fakeFetch(route: Route) {
  const seen: Request[] = [];
  return {
    seen,
    fetch: async (request: Request) => {
      seen.push(request.clone());
      return route(request);
    },
  };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** Answers the installation lookup, then `tokenAnswer` for the token request. */
const appRoutes =
  (tokenAnswer: () => Response): Route =>
  (request) =>
    new URL(request.url).pathname.endsWith("/installation") ? json(200, { id: 7 }) : tokenAnswer();

describe("repositoryToken requests", () => {
  it("asks for the installation, then a token for the one repository, without following redirects", async () => {
    const fake = fakeFetch(appRoutes(() => json(201, { token: "ghs_new", expires_at: "2030-01-01T00:00:00Z" })));
    expect(await repositoryToken({ kind: "app", appId: APP_ID, privateKey: pkcs1Pem }, REPOSITORY, "pullRequest", { fetch: fake.fetch })).toEqual({
      token: "ghs_new",
      expiresAt: "2030-01-01T00:00:00Z",
    });
    expect(fake.seen.map((request) => `${request.method} ${request.url}`)).toEqual([
      "GET https://api.github.com/repos/octo/hello/installation",
      "POST https://api.github.com/app/installations/7/access_tokens",
    ]);
    expect(fake.seen.every((request) => request.redirect === "manual")).toBe(true);
    expect(await fake.seen[1]!.json()).toEqual({ repositories: ["hello"], permissions: { contents: "write", pull_requests: "write" } });
  });
});

describe("GitHub answers map to stable codes", () => {
  const app = () => ({ kind: "app" as const, appId: APP_ID, privateKey: pkcs8Pem });
  it.each<[string, Route, GitHubErrorCode]>([
    ["the app not installed", () => json(404, { message: "Not Found" }), "github_app_not_installed"],
    ["a refused JWT", () => json(401, { message: "Bad credentials" }), "github_auth_failed"],
    ["a moved repository", () => new Response(null, { status: 301, headers: { location: "https://api.github.com/repositories/1" } }), "github_repository_moved"],
    ["a rate limit", () => json(403, { message: "API rate limit exceeded" }, { "x-ratelimit-remaining": "0" }), "github_rate_limited"],
    ["a secondary rate limit", () => json(429, { message: "slow down" }, { "retry-after": "60" }), "github_rate_limited"],
    ["a missing permission", () => json(403, { message: "Resource not accessible by integration" }), "github_permission_denied"],
    ["a server error", () => json(502, { message: "Server Error" }), "github_unavailable"],
    ["an answer that is not JSON", () => new Response("<html>", { status: 200 }), "github_unavailable"],
    ["an installation without an id", () => json(200, { id: "seven" }), "github_unavailable"],
    ["a network failure", () => Promise.reject(new TypeError("fetch failed")), "github_unavailable"],
    ["a refused token", appRoutes(() => json(422, { message: "The permissions requested are not granted to this installation." })), "github_token_refused"],
    ["a token answer without a token", appRoutes(() => json(201, { expires_at: "2030-01-01T00:00:00Z" })), "github_unavailable"],
  ])("%s", async (_name, route, code) => {
    const error = await repositoryToken(app(), REPOSITORY, "read", { fetch: fakeFetch(route).fetch }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GitHubError);
    expect((error as GitHubError).code).toBe(code);
  });

  it("finds the pull request already open when GitHub says one exists", async () => {
    const fake = fakeFetch((request) =>
      request.method === "POST"
        ? json(422, { message: "Validation Failed", errors: [{ message: "A pull request already exists for octo:claude/x." }] })
        : json(200, [{ number: 9, html_url: "https://github.com/octo/hello/pull/9" }]),
    );
    const pull = await openPullRequest("ghs_t", { ...REPOSITORY, head: "claude/x", base: "main", title: "t", body: "b" }, { fetch: fake.fetch });
    expect(pull).toEqual({ number: 9, url: "https://github.com/octo/hello/pull/9", existing: true });
    expect(new URL(fake.seen[1]!.url).searchParams.get("head")).toBe("octo:claude/x");
  });
});
