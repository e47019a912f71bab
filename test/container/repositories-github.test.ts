/**
 * GitHub credentials (worker/src/repositories/github.ts) against a local fake
 * of the GitHub API that checks every app JWT with the app's public key: an
 * installation token scoped to the one repository with the access's
 * permissions, the fine-grained token used as is, pull requests opened (or
 * found open), and every failure a stable code whose message and details
 * never hold a token, the JWT or the key.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCESS_PERMISSIONS,
  createAppJwt,
  GitHubError,
  type GitHubErrorCode,
  openPullRequest,
  repositoryDefaultBranch,
  repositoryToken,
} from "../../worker/src/repositories/github.js";
import { gitDoorWithCredentials, type GitAccessGrant } from "../../worker/src/egress/git-credentials.js";
import { type FakeGitHubApi, startFakeGitHubApi } from "./fixtures/fake-github-api.js";

const APP_ID = "123456";
const REPOSITORY = { owner: "octo", repo: "hello" };

/** A key pair as GitHub issues an app's: the private key in PKCS#1 PEM. */
function appKeys() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    pkcs1: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    pkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

const keys = appKeys();
const otherKeys = appKeys();
const PERSONAL_TOKEN = "github_pat_11AAAAAAA0personal0token0value";

let api: FakeGitHubApi;
let echoing: FakeGitHubApi;

beforeAll(async () => {
  api = await startFakeGitHubApi({ appId: APP_ID, publicKey: keys.publicKey, installedOn: ["octo/hello", "octo/other"], personalToken: PERSONAL_TOKEN });
  echoing = await startFakeGitHubApi({ appId: APP_ID, publicKey: keys.publicKey, installedOn: ["octo/hello"], echoCredentials: true, appPermissions: { contents: "read" } });
});

afterAll(async () => {
  await api.close();
  await echoing.close();
});

/** The GitHubError a promise fails with. */
async function rejection(promise: Promise<unknown>): Promise<GitHubError> {
  const error = await promise.then(
    () => expect.unreachable("expected a GitHubError"),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GitHubError);
  return error as GitHubError;
}

/** The code a promise fails with, after checking its message and details hold none of `secrets`. */
async function failure(promise: Promise<unknown>, secrets: string[]): Promise<GitHubErrorCode> {
  const error = await rejection(promise);
  const text = `${String(error)} ${JSON.stringify(error)} ${error.stack ?? ""}`;
  for (const secret of secrets) expect(text).not.toContain(secret);
  return error.code;
}

const app = (privateKey = keys.pkcs1) => ({ kind: "app" as const, appId: APP_ID, privateKey });

describe("an app's installation token", () => {
  it.each([
    ["a PKCS#1 key, as GitHub issues it", keys.pkcs1],
    ["a PKCS#8 key", keys.pkcs8],
    ["a key pasted on one line with literal \\n", keys.pkcs1.replaceAll("\n", "\\n")],
  ])("is scoped to the one repository, with %s", async (_name, privateKey) => {
    const before = api.requests.length;
    const { token, expiresAt } = await repositoryToken(app(privateKey), REPOSITORY, "push", { apiUrl: api.url });
    expect(api.tokens.get(token)).toEqual({ repositories: ["hello"], permissions: { contents: "write" } });
    expect(Date.parse(expiresAt!)).toBeGreaterThan(Date.now());
    const made = api.requests.slice(before);
    expect(made.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /repos/octo/hello/installation",
      "POST /app/installations/4242/access_tokens",
    ]);
    for (const request of made) {
      expect(request.claims).toMatchObject({ iss: APP_ID });
      expect(request.headers["x-github-api-version"]).toBe("2022-11-28");
      expect(request.headers["user-agent"]).toBe("claude-sandbox");
    }
  });

  it.each([
    ["read", { contents: "read" }],
    ["push", { contents: "write" }],
    ["pullRequest", { contents: "write", pull_requests: "write" }],
  ] as const)("asks for only what %s access needs", async (access, permissions) => {
    const { token } = await repositoryToken(app(), REPOSITORY, access, { apiUrl: api.url });
    expect(api.tokens.get(token)?.permissions).toEqual(permissions);
    expect(ACCESS_PERMISSIONS[access]).toEqual(permissions);
  });

  it("signs a JWT issued 60 s in the past that ends within GitHub's 10 minutes", async () => {
    const now = Date.now();
    const jwt = await createAppJwt({ appId: APP_ID, privateKey: keys.pkcs1 }, now);
    const [header, payload] = jwt.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")));
    expect(header).toEqual({ alg: "RS256", typ: "JWT" });
    expect(payload.iss).toBe(APP_ID);
    expect(payload.iat).toBe(Math.floor(now / 1000) - 60);
    expect(payload.exp - payload.iat).toBeLessThanOrEqual(600);
    expect(payload.exp).toBeGreaterThan(now / 1000);
  });

  it("gives a fine-grained token as it is, without asking GitHub", async () => {
    const before = api.requests.length;
    expect(await repositoryToken({ kind: "token", token: PERSONAL_TOKEN }, REPOSITORY, "pullRequest", { apiUrl: api.url })).toEqual({
      token: PERSONAL_TOKEN,
      expiresAt: null,
    });
    expect(api.requests.length).toBe(before);
  });
});

describe("failures have stable codes and never carry a credential", () => {
  it.each<[string, () => Promise<unknown>, GitHubErrorCode]>([
    ["a repository the app is not installed on", () => repositoryToken(app(), { owner: "octo", repo: "private" }, "read", { apiUrl: api.url }), "github_app_not_installed"],
    ["a JWT signed with another key", () => repositoryToken(app(otherKeys.pkcs1), REPOSITORY, "read", { apiUrl: api.url }), "github_auth_failed"],
    ["a clock 20 minutes fast", () => repositoryToken(app(), REPOSITORY, "read", { apiUrl: api.url, now: () => Date.now() + 20 * 60_000 }), "github_auth_failed"],
    ["a key that is not a key", () => repositoryToken(app("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----"), REPOSITORY, "read", { apiUrl: api.url }), "github_app_key_invalid"],
    ["a key of the wrong kind", () => repositoryToken(app(keys.publicKey), REPOSITORY, "read", { apiUrl: api.url }), "github_app_key_invalid"],
    ["GitHub out of reach", () => repositoryToken(app(), REPOSITORY, "read", { apiUrl: "http://127.0.0.1:9" }), "github_unavailable"],
    ["a default branch with a bad token", () => repositoryDefaultBranch("ghs_notatoken", REPOSITORY, { apiUrl: api.url }), "github_auth_failed"],
  ])("%s", async (_name, attempt, code) => {
    expect(await failure(attempt(), [keys.pkcs1, otherKeys.pkcs1, "ghs_notatoken"])).toBe(code);
  });

  it("refuses permissions beyond the app's with github_token_refused, with GitHub's message and no JWT in it", async () => {
    const before = echoing.requests.length;
    const attempt = repositoryToken(app(), REPOSITORY, "push", { apiUrl: echoing.url });
    const error = await rejection(attempt);
    const sentJwt = String(echoing.requests[before]?.headers.authorization).replace("Bearer ", "");
    expect(sentJwt.split(".")).toHaveLength(3);
    expect(await failure(Promise.reject(error), [sentJwt, keys.pkcs1])).toBe("github_token_refused");
    expect(error.details).toMatchObject({ githubStatus: 422 });
    expect(error.details.githubMessage).toContain("[redacted]");
  });

  it("keeps a token GitHub quotes back out of the error", async () => {
    const { token } = await repositoryToken(app(), REPOSITORY, "read", { apiUrl: echoing.url });
    const attempt = openPullRequest(token, { ...REPOSITORY, head: "claude/x", base: "main", title: "t", body: "b" }, { apiUrl: echoing.url });
    expect(await failure(attempt, [token])).toBe("github_permission_denied");
  });
});

describe("pull requests", () => {
  it("opens one from the work branch, with a token scoped for it", async () => {
    const { token } = await repositoryToken(app(), REPOSITORY, "pullRequest", { apiUrl: api.url });
    expect(await repositoryDefaultBranch(token, REPOSITORY, { apiUrl: api.url })).toBe("main");
    const pullRequest = await openPullRequest(
      token,
      { ...REPOSITORY, head: "claude/0199a1b2", base: "main", title: "Fix the typo", body: "Made by Claude Code" },
      { apiUrl: api.url },
    );
    expect(pullRequest).toEqual({ number: 1, url: "https://github.com/octo/hello/pull/1", existing: false });
    expect(api.pulls.at(-1)).toMatchObject({ head: "claude/0199a1b2", base: "main", title: "Fix the typo", body: "Made by Claude Code" });
    const request = api.requests.findLast((entry) => entry.method === "POST" && entry.path === "/repos/octo/hello/pulls");
    expect(request?.headers.authorization).toBe(`Bearer ${token}`);
  });

  it("returns the pull request already open from the branch (a follow-up pushed to it again)", async () => {
    const { token } = await repositoryToken(app(), REPOSITORY, "pullRequest", { apiUrl: api.url });
    const again = await openPullRequest(token, { ...REPOSITORY, head: "claude/0199a1b2", base: "main", title: "Again", body: "" }, { apiUrl: api.url });
    expect(again).toEqual({ number: 1, url: "https://github.com/octo/hello/pull/1", existing: true });
  });

  it("fails with pull_request_failed and GitHub's reason when there is nothing to merge", async () => {
    const { token } = await repositoryToken(app(), REPOSITORY, "pullRequest", { apiUrl: api.url });
    const error = await rejection(openPullRequest(token, { ...REPOSITORY, head: "empty-branch", base: "main", title: "t", body: "" }, { apiUrl: api.url }));
    expect(error.code).toBe("pull_request_failed");
    expect(error.details.githubMessage).toBe("Validation Failed: No commits between main and empty-branch");
  });

  it("a token for one repository cannot open a pull request on another", async () => {
    const { token } = await repositoryToken(app(), REPOSITORY, "pullRequest", { apiUrl: api.url });
    const attempt = openPullRequest(token, { owner: "octo", repo: "other", head: "claude/x", base: "main", title: "t", body: "" }, { apiUrl: api.url });
    expect(await failure(attempt, [token])).toBe("github_repository_not_found");
  });

  it("opens one with a fine-grained token", async () => {
    const pullRequest = await openPullRequest(PERSONAL_TOKEN, { ...REPOSITORY, head: "claude/pat", base: "main", title: "t", body: "" }, { apiUrl: api.url });
    expect(pullRequest.existing).toBe(false);
  });
});

describe("the git door's installation tokens", () => {
  const grantOf = (pushBranch: string | null): GitAccessGrant => ({ host: "github.com", repositoryPath: "/octo/hello", pushBranch, github: REPOSITORY });
  // A path the door refuses once it holds the token, so nothing is sent on to github.com.
  const request = () => new Request("https://github.com/octo/hello/not-a-git-path");

  it.each([
    ["read, then push", [null, "claude/0199a1b2"], ["read", "write"]],
    ["push, then read", ["claude/0199a1b2", null], ["write", "read"]],
  ] as const)("are kept per access: %s mint two tokens", async (_order, branches, levels) => {
    // A fresh API (its own URL), so no token of another test is in the cache.
    const fresh = await startFakeGitHubApi({ appId: APP_ID, publicKey: keys.publicKey, installedOn: ["octo/hello"] });
    try {
      const env = { GITHUB_APP_ID: APP_ID, GITHUB_APP_PRIVATE_KEY: keys.pkcs1, GITHUB_API_URL: fresh.url, ALLOW_INSECURE_CALLBACKS: "true" };
      for (const branch of [...branches, ...branches]) expect((await gitDoorWithCredentials(request(), env, grantOf(branch))).status).toBe(403);
      // Each access minted once (the second round came from the cache), each with its own permissions.
      const minted = fresh.requests.filter((entry) => entry.path.endsWith("/access_tokens")).map((entry) => entry.body?.permissions);
      expect(minted).toEqual(levels.map((contents) => ({ contents })));
      expect([...fresh.tokens.values()].map((token) => token.permissions.contents)).toEqual([...levels]);
    } finally {
      await fresh.close();
    }
  });
});
