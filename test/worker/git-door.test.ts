/**
 * The git door (worker/src/egress/git-door.ts) in workerd: the route rules, the
 * reading of a push's ref updates, and the handler, which forwards what the
 * rules accept with the credential and answers everything else itself.
 */
import { describe, expect, it } from "vitest";
import {
  checkGitRoute,
  checkRefUpdates,
  forwardToGit,
  GIT_DOOR_REFUSALS,
  gitAuthorization,
  type GitGrant,
  MAX_COMMAND_SECTION_BYTES,
  MAX_REF_UPDATES,
  readCommandSection,
} from "../../worker/src/egress/git-door.js";

const TOKEN = "ghs_installationtoken0123456789";
const BRANCH = "claude/0199a1b2";
const grant: GitGrant = { host: "github.com", repositoryPath: "/octo/hello", pushBranch: BRANCH, ignorePathCase: true, token: TOKEN };
const readOnly: GitGrant = { ...grant, pushBranch: null };

const OLD = "1".repeat(40);
const NEW = "2".repeat(40);
const ZERO = "0".repeat(40);
const CAPABILITIES = "report-status side-band-64k quiet object-format=sha1 agent=git/2.39.5";

/** One pkt-line: four hex digits of length (including themselves), then the payload. */
const pkt = (payload: string) => `${(new TextEncoder().encode(payload).byteLength + 4).toString(16).padStart(4, "0")}${payload}`;
const FLUSH = "0000";
/** A push body: the ref updates, the flush, then (stand-in) packfile bytes. */
const pushBody = (lines: string[], pack = "PACK\u0000\u0000\u0000\u0002binary-pack-data") => `${lines.map(pkt).join("")}${FLUSH}${pack}`;
const update = (ref: string, newId = NEW, capabilities: string | null = CAPABILITIES) =>
  `${OLD} ${newId} ${ref}${capabilities === null ? "" : `\0${capabilities}`}\n`;

const bytes = (text: string) => new TextEncoder().encode(text);
const url = (path: string) => new URL(`https://github.com${path}`);

describe("checkGitRoute", () => {
  it.each([
    ["GET", "/octo/hello.git/info/refs?service=git-upload-pack", "git-upload-pack", "advertise"],
    ["GET", "/octo/hello/info/refs?service=git-upload-pack", "git-upload-pack", "advertise"],
    ["POST", "/octo/hello.git/git-upload-pack", "git-upload-pack", "rpc"],
    ["GET", "/Octo/Hello.git/info/refs?service=git-receive-pack", "git-receive-pack", "advertise"],
    ["POST", "/octo/hello.git/git-receive-pack", "git-receive-pack", "rpc"],
  ])("accepts %s %s", (method, path, service, phase) => {
    expect(checkGitRoute(method, url(path), grant)).toMatchObject({ service, phase });
  });

  it.each([
    ["another repository", "GET", "https://github.com/octo/other.git/info/refs?service=git-upload-pack", "route_not_allowed"],
    ["another owner", "POST", "https://github.com/evil/hello.git/git-upload-pack", "route_not_allowed"],
    ["a repository path prefix", "GET", "https://github.com/octo/hello-fork.git/info/refs?service=git-upload-pack", "route_not_allowed"],
    ["a nested path", "GET", "https://github.com/octo/hello/x.git/info/refs?service=git-upload-pack", "route_not_allowed"],
    ["dumb HTTP refs", "GET", "https://github.com/octo/hello.git/info/refs", "route_not_allowed"],
    ["dumb HTTP objects", "GET", "https://github.com/octo/hello.git/objects/info/packs", "route_not_allowed"],
    ["HEAD", "GET", "https://github.com/octo/hello.git/HEAD", "route_not_allowed"],
    ["LFS", "POST", "https://github.com/octo/hello.git/info/lfs/objects/batch", "route_not_allowed"],
    ["the web page", "GET", "https://github.com/octo/hello", "route_not_allowed"],
    ["another service", "GET", "https://github.com/octo/hello.git/info/refs?service=git-upload-archive", "route_not_allowed"],
    ["an extra query parameter", "GET", "https://github.com/octo/hello.git/info/refs?service=git-upload-pack&x=1", "route_not_allowed"],
    ["a query on the POST", "POST", "https://github.com/octo/hello.git/git-upload-pack?x=1", "route_not_allowed"],
    ["GET of the POST route", "GET", "https://github.com/octo/hello.git/git-upload-pack", "route_not_allowed"],
    ["POST of info/refs", "POST", "https://github.com/octo/hello.git/info/refs?service=git-upload-pack", "route_not_allowed"],
    ["PUT", "PUT", "https://github.com/octo/hello.git/git-receive-pack", "route_not_allowed"],
    ["percent escapes", "GET", "https://github.com/octo/hell%6f.git/info/refs?service=git-upload-pack", "route_not_allowed"],
    ["an encoded slash", "GET", "https://github.com/octo%2fhello.git/info/refs?service=git-upload-pack", "route_not_allowed"],
    ["another host", "GET", "https://gitlab.com/octo/hello.git/info/refs?service=git-upload-pack", "host_not_granted"],
    ["a port", "GET", "https://github.com:8443/octo/hello.git/info/refs?service=git-upload-pack", "host_not_granted"],
    ["plain http", "GET", "http://github.com/octo/hello.git/info/refs?service=git-upload-pack", "host_not_granted"],
    ["credentials in the URL", "GET", "https://x:y@github.com/octo/hello.git/info/refs?service=git-upload-pack", "host_not_granted"],
  ])("refuses %s", (_name, method, target, code) => {
    expect(checkGitRoute(method, new URL(target), grant)).toEqual({ refused: code });
  });

  it("matches the path regardless of case only on a host that ignores it (GitHub's)", () => {
    const exact: GitGrant = { ...grant, host: "git.example.org", repositoryPath: "/Group/Project", ignorePathCase: false };
    const at = (path: string) => new URL(`https://git.example.org${path}/info/refs?service=git-upload-pack`);
    expect(checkGitRoute("GET", at("/Group/Project.git"), exact)).toMatchObject({ service: "git-upload-pack" });
    expect(checkGitRoute("GET", at("/group/project.git"), exact)).toEqual({ refused: "route_not_allowed" });
    expect(checkGitRoute("GET", at("/group/project.git"), { ...exact, ignorePathCase: true })).toMatchObject({ service: "git-upload-pack" });
  });

  it("folds dot segments before matching, so the checked path is the one forwarded", () => {
    expect(checkGitRoute("GET", url("/evil/x/../../octo/hello.git/info/refs?service=git-upload-pack"), grant)).toMatchObject({
      path: "/octo/hello.git/info/refs",
    });
  });

  it("compares repository paths exactly on hosts other than GitHub", () => {
    // What git-credentials.ts grants for a repository that is not on the deployment's GitHub.
    const gitlab: GitGrant = { ...grant, host: "gitlab.example.org", repositoryPath: "/group/sub/project", ignorePathCase: false };
    expect(checkGitRoute("POST", new URL("https://gitlab.example.org/group/sub/project.git/git-upload-pack"), gitlab)).toMatchObject({ phase: "rpc" });
    expect(checkGitRoute("POST", new URL("https://gitlab.example.org/Group/sub/project.git/git-upload-pack"), gitlab)).toEqual({ refused: "route_not_allowed" });
  });

  it("refuses both receive-pack routes when the task may not push", () => {
    expect(checkGitRoute("GET", url("/octo/hello.git/info/refs?service=git-receive-pack"), readOnly)).toEqual({ refused: "push_not_allowed" });
    expect(checkGitRoute("POST", url("/octo/hello.git/git-receive-pack"), readOnly)).toEqual({ refused: "push_not_allowed" });
    expect(checkGitRoute("POST", url("/octo/hello.git/git-upload-pack"), readOnly)).toMatchObject({ phase: "rpc" });
  });
});

describe("readCommandSection", () => {
  it("reads shallow lines, updates with capabilities and the flush, and where the section ends", () => {
    const section = `${pkt(`shallow ${OLD}`)}${pkt(update(`refs/heads/${BRANCH}`))}${pkt(update("refs/heads/other", NEW, null))}${FLUSH}`;
    expect(readCommandSection(bytes(`${section}PACK...`))).toEqual({
      complete: true,
      length: section.length,
      updates: [
        { oldId: OLD, newId: NEW, ref: `refs/heads/${BRANCH}` },
        { oldId: OLD, newId: NEW, ref: "refs/heads/other" },
      ],
    });
  });

  it("reads SHA-256 object ids", () => {
    const section = `${pkt(`${"a".repeat(64)} ${"b".repeat(64)} refs/heads/${BRANCH}\0${CAPABILITIES}\n`)}${FLUSH}`;
    expect(readCommandSection(bytes(section))).toMatchObject({ complete: true, updates: [{ ref: `refs/heads/${BRANCH}` }] });
  });

  it("reads an empty section (git's probe before a large push)", () => {
    expect(readCommandSection(bytes(FLUSH))).toEqual({ complete: true, updates: [], length: 4 });
  });

  it.each([
    ["nothing", ""],
    ["half a length", "00"],
    ["half a line", pkt(update("refs/heads/x")).slice(0, 30)],
    ["no flush yet", pkt(update("refs/heads/x"))],
  ])("asks for more bytes after %s", (_name, text) => {
    expect(readCommandSection(bytes(text))).toEqual({ complete: false });
  });

  it.each([
    ["a length that is not hex", "zzzz"],
    ["an upper-case length", "000Aabcdef"],
    ["a delimiter packet", "0001"],
    ["an empty packet", "0004"],
    ["a line that is not an update", `${pkt("hello world\n")}${FLUSH}`],
    ["mixed id lengths", `${pkt(`${OLD} ${"b".repeat(64)} refs/heads/x\n`)}${FLUSH}`],
    ["capabilities on a later line", `${pkt(update("refs/heads/a"))}${pkt(update("refs/heads/b"))}${FLUSH}`],
    ["two NULs", `${pkt(`${OLD} ${NEW} refs/heads/x\0a\0b\n`)}${FLUSH}`],
    ["a ref with a space", `${pkt(`${OLD} ${NEW} refs/heads/a b\n`)}${FLUSH}`],
    ["a shallow line after an update", `${pkt(update("refs/heads/a"))}${pkt(`shallow ${OLD}`)}${FLUSH}`],
  ])("refuses %s as unreadable", (_name, text) => {
    expect(readCommandSection(bytes(text))).toEqual({ refused: "commands_unreadable" });
  });

  it("refuses a line that is not UTF-8 as unreadable", () => {
    expect(readCommandSection(Uint8Array.from([...bytes("0007"), 0xff, 0xfe, 0xfd]))).toEqual({ refused: "commands_unreadable" });
  });

  it.each([
    ["a signed push", `${pkt(`push-cert\0${CAPABILITIES}\n`)}${pkt("certificate version 0.1\n")}`],
    ["push options", `${pkt(update(`refs/heads/${BRANCH}`, NEW, `${CAPABILITIES} push-options`))}${FLUSH}`],
  ])("refuses %s", (_name, text) => {
    expect(readCommandSection(bytes(text))).toEqual({ refused: "signed_push_not_allowed" });
  });

  // Capabilities as git reads them: any whitespace separates them, and `name=value` names `name`.
  it.each([
    ["push options with a value", "report-status push-options=1"],
    ["push options after a tab", "report-status\tpush-options"],
    ["push options after a carriage return", "report-status\rpush-options"],
    ["push options after several spaces", "report-status   push-options"],
    ["push options first, before a space", " push-options report-status"],
    ["a push certificate's nonce", "report-status push-cert=1700000000-abcdef"],
  ])("refuses %s, however it is spelled", (_name, capabilities) => {
    expect(readCommandSection(bytes(`${pkt(update(`refs/heads/${BRANCH}`, NEW, capabilities))}${FLUSH}`))).toEqual({ refused: "signed_push_not_allowed" });
  });

  it.each([
    ["atomic", `${CAPABILITIES} atomic`],
    ["an unknown capability", `${CAPABILITIES} bypass-checks`],
    ["push options in capitals (not git's spelling, so not known)", `${CAPABILITIES} PUSH-OPTIONS`],
    ["another object format", "report-status object-format=md5"],
    ["a capability with a control character", "report-status\u000bside-band-64k"],
    ["session-id", `${CAPABILITIES} session-id=abc`],
  ])("refuses a capability a plain push does not send: %s", (_name, capabilities) => {
    expect(readCommandSection(bytes(`${pkt(update(`refs/heads/${BRANCH}`, NEW, capabilities))}${FLUSH}`))).toEqual({ refused: "capability_not_allowed" });
  });

  it.each([
    ["git 2.39, quiet", " report-status-v2 side-band-64k quiet object-format=sha1 agent=git/2.39.5"],
    ["git without -q", " report-status-v2 side-band-64k object-format=sha1 agent=git/2.47.1"],
    ["an older git", "report-status side-band-64k agent=git/2.25.1"],
    ["SHA-256", " report-status-v2 side-band-64k object-format=sha256 agent=git/2.47.1"],
    ["no capabilities", ""],
  ])("accepts the capabilities git sends for a plain push: %s", (_name, capabilities) => {
    expect(readCommandSection(bytes(`${pkt(update(`refs/heads/${BRANCH}`, NEW, capabilities))}${FLUSH}`))).toMatchObject({ complete: true });
  });

  it("refuses more ref updates than it reads", () => {
    const lines = Array.from({ length: 40 }, (_, index) => pkt(update(`refs/heads/${BRANCH}`, NEW, index === 0 ? CAPABILITIES : null)));
    expect(readCommandSection(bytes(`${lines.join("")}${FLUSH}`))).toEqual({ refused: "commands_too_large" });
  });
});

describe("checkRefUpdates", () => {
  const ours = `refs/heads/${BRANCH}`;
  it.each<[string, { ref: string; newId?: string }[], string | null]>([
    ["the work branch", [{ ref: ours }], null],
    ["the work branch twice", [{ ref: ours }, { ref: ours }], null],
    ["no updates", [], null],
    ["main", [{ ref: "refs/heads/main" }], "ref_not_allowed"],
    ["the work branch and main", [{ ref: ours }, { ref: "refs/heads/main" }], "ref_not_allowed"],
    ["a tag", [{ ref: `refs/tags/${BRANCH}` }], "ref_not_allowed"],
    ["a branch below the work branch", [{ ref: `${ours}/x` }], "ref_not_allowed"],
    ["a branch that starts like it", [{ ref: `${ours}x` }], "ref_not_allowed"],
    ["the upper-cased work branch", [{ ref: ours.toUpperCase() }], "ref_not_allowed"],
    ["a pull request ref", [{ ref: "refs/pull/1/head" }], "ref_not_allowed"],
    ["HEAD", [{ ref: "HEAD" }], "ref_not_allowed"],
    ["a deletion of the work branch", [{ ref: ours, newId: ZERO }], "ref_deletion_not_allowed"],
    ["a SHA-256 deletion", [{ ref: ours, newId: "0".repeat(64) }], "ref_deletion_not_allowed"],
  ])("%s", (_name, updates, code) => {
    const full = updates.map((entry) => ({ oldId: OLD, newId: entry.newId ?? NEW, ref: entry.ref }));
    expect(checkRefUpdates(full, grant)).toEqual(code === null ? null : { refused: code });
  });

  it("refuses every update when the task may not push", () => {
    expect(checkRefUpdates([{ oldId: OLD, newId: NEW, ref: ours }], readOnly)).toEqual({ refused: "push_not_allowed" });
  });
});

describe("gitAuthorization", () => {
  it("is Basic with the user x-access-token", () => {
    expect(gitAuthorization(TOKEN)).toBe(`Basic ${btoa(`x-access-token:${TOKEN}`)}`);
  });
});

/** Runs the handler with a `send` that records what left and answers 200 with a body. */
async function through(request: Request, withGrant: GitGrant = grant) {
  const sent: { url: string; method: string; headers: Headers; body: string }[] = [];
  const response = await forwardToGit(request, withGrant, async (outgoing) => {
    sent.push({
      url: outgoing.url,
      method: outgoing.method,
      headers: new Headers(outgoing.headers),
      body: outgoing.body ? new TextDecoder("latin1").decode(await outgoing.arrayBuffer()) : "",
    });
    return new Response("upstream answer", { status: 200, headers: { "content-type": "application/x-git-receive-pack-result" } });
  });
  return { response, sent, body: await response.text() };
}

const push = (body: string | Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  new Request("https://github.com/octo/hello.git/git-receive-pack", {
    method: "POST",
    headers: { "content-type": "application/x-git-receive-pack-request", authorization: "Basic Y29udGFpbmVyOnNlY3JldA==", ...headers },
    body,
  });

describe("forwardToGit", () => {
  it("forwards a push of the work branch, body byte for byte, with the credential in place of the container's", async () => {
    const body = pushBody([`shallow ${OLD}`, update(`refs/heads/${BRANCH}`)]);
    const { response, sent, body: answer } = await through(push(body, { "git-protocol": "version=0", cookie: "a=b", "x-forwarded-for": "1.2.3.4" }));
    expect(response.status).toBe(200);
    expect(answer).toBe("upstream answer");
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe("https://github.com/octo/hello.git/git-receive-pack");
    expect(sent[0]!.body).toBe(body);
    expect(sent[0]!.headers.get("authorization")).toBe(gitAuthorization(TOKEN));
    expect(sent[0]!.headers.get("git-protocol")).toBe("version=0");
    expect(sent[0]!.headers.get("cookie")).toBeNull();
    expect(sent[0]!.headers.get("x-forwarded-for")).toBeNull();
  });

  it("reads a push whose ref updates arrive split over many small chunks", async () => {
    const body = bytes(pushBody([update(`refs/heads/${BRANCH}`)]));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < body.length; offset += 3) controller.enqueue(body.slice(offset, offset + 3));
        controller.close();
      },
    });
    const { response, sent } = await through(push(stream));
    expect(response.status).toBe(200);
    expect(sent[0]!.body).toBe(new TextDecoder("latin1").decode(body));
  });

  it("forwards a fetch with the credential, and without one for a public repository", async () => {
    const fetchRequest = () =>
      new Request("https://github.com/octo/hello.git/git-upload-pack", { method: "POST", headers: { "content-encoding": "gzip" }, body: "0032want ...\n0000" });
    const withToken = await through(fetchRequest());
    expect(withToken.sent[0]!.headers.get("authorization")).toBe(gitAuthorization(TOKEN));
    expect(withToken.sent[0]!.headers.get("content-encoding")).toBe("gzip");
    const without = await through(fetchRequest(), { ...readOnly, token: null });
    expect(without.sent[0]!.headers.has("authorization")).toBe(false);
  });

  it.each<[string, () => Request, string]>([
    ["a push to main", () => push(pushBody([update("refs/heads/main")])), "ref_not_allowed"],
    ["a push of the work branch and main", () => push(pushBody([update(`refs/heads/${BRANCH}`), update("refs/heads/main", NEW, null)])), "ref_not_allowed"],
    ["a deletion of the work branch", () => push(pushBody([update(`refs/heads/${BRANCH}`, ZERO)])), "ref_deletion_not_allowed"],
    ["a tag push", () => push(pushBody([update("refs/tags/v9")])), "ref_not_allowed"],
    ["a compressed push", () => push(pushBody([update("refs/heads/main")]), { "content-encoding": "gzip" }), "body_encoded"],
    ["a push with options", () => push(pushBody([update(`refs/heads/${BRANCH}`, NEW, `${CAPABILITIES} push-options`)])), "signed_push_not_allowed"],
    ["a push that ends before its flush", () => push(pkt(update(`refs/heads/${BRANCH}`))), "commands_unreadable"],
    ["a push with no body", () => new Request("https://github.com/octo/hello.git/git-receive-pack", { method: "POST" }), "commands_unreadable"],
    ["another repository", () => new Request("https://github.com/octo/other.git/git-upload-pack", { method: "POST", body: "0000" }), "route_not_allowed"],
    ["the REST API through github.com", () => new Request("https://github.com/octo/hello/pulls"), "route_not_allowed"],
  ])("refuses %s with 403 JSON, before anything is sent", async (_name, request, code) => {
    const { response, sent, body } = await through(request());
    expect(sent).toEqual([]);
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const answer = JSON.parse(body) as { error: unknown; code: unknown };
    expect(answer.code).toBe(code);
    expect(typeof answer.error).toBe("string");
    expect(answer).toEqual({ error: GIT_DOOR_REFUSALS[code as keyof typeof GIT_DOOR_REFUSALS].message, code });
    expect(body).not.toContain(TOKEN);
  });

  it("gives every refusal 403, but 413 for ref updates larger than it reads and 502 when the credential cannot be had", () => {
    const expected = (code: string) => (code === "commands_too_large" ? 413 : code === "git_credential_unavailable" ? 502 : 403);
    for (const [code, { status }] of Object.entries(GIT_DOOR_REFUSALS)) expect([code, status]).toEqual([code, expected(code)]);
  });

  it("refuses a ref-update section longer than it reads, with 413", async () => {
    // Valid shallow lines, each a full pkt-line, past the bound and with no flush.
    const line = pkt(`shallow ${OLD}`);
    const many = line.repeat(Math.ceil(MAX_COMMAND_SECTION_BYTES / line.length) + 10);
    const { response, sent, body } = await through(push(many));
    expect(sent).toEqual([]);
    expect(response.status).toBe(413);
    expect(JSON.parse(body).code).toBe("commands_too_large");
    expect(typeof JSON.parse(body).error).toBe("string");
  });

  it("refuses a push of more ref updates than it reads, with 413", async () => {
    const updates = Array.from({ length: MAX_REF_UPDATES + 1 }, (_, index) => update(`refs/heads/${BRANCH}`, NEW, index === 0 ? CAPABILITIES : null));
    const { response, sent, body } = await through(push(pushBody(updates)));
    expect(sent).toEqual([]);
    expect(response.status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ code: "commands_too_large", error: expect.any(String) });
  });

  it("never follows a redirect with the credential", async () => {
    let redirect: string | undefined;
    await forwardToGit(new Request("https://github.com/octo/hello.git/info/refs?service=git-upload-pack"), grant, async (outgoing) => {
      redirect = outgoing.redirect;
      return new Response(null, { status: 301, headers: { location: "https://evil.example/" } });
    });
    expect(redirect).toBe("manual");
  });
});
