/**
 * A real git, on the container's side, clones and pushes through the git door
 * (`forwardToGit`, served by a small local HTTP server as the Sandbox's
 * interception would), which sends what it accepts on to a local smart-HTTP
 * server (`git http-backend`) that, like GitHub for a private repository,
 * answers 401 without the task's credential. A push of the work branch
 * succeeds because the door adds the credential; a push to main, a deletion,
 * a second ref and any push of a read-only task are refused before their
 * ref updates reach the server; and nothing the container receives ever
 * holds the credential.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { forwardToGit, gitAuthorization, type GitGrant } from "../../worker/src/egress/git-door.js";
import { buildCheckoutScript, buildFinishScript, buildPushScript, commitMessage, parseStepResult } from "../../worker/src/repositories/script.js";
import { GIT_ENV, git, makeRemote, runStep, tempDir, writeFiles } from "./fixtures/git-repos.js";
import { type GitHttpServer, startGitHttpServer } from "./fixtures/git-http-server.js";
import { serveHandler } from "./fixtures/serve-handler.js";

const TOKEN = `ghs_${randomBytes(18).toString("hex")}`;
const BRANCH = "claude/0199a1b2";
const REPOSITORY = "/octo/hello";

interface Door {
  url: string;
  /** Everything the door answered the container: status line, headers and body, as text. */
  answers: string[];
  failures: unknown[];
  close(): Promise<void>;
}

/** Serves `forwardToGit` on loopback; what it sends to https://github.com goes to `serverUrl`. */
async function startDoor(grant: GitGrant, serverUrl: string): Promise<Door> {
  const answers: string[] = [];
  const send = async (outgoing: Request): Promise<Response> => {
    const target = new URL(outgoing.url);
    if (target.origin !== "https://github.com") throw new Error(`the door sent a request to ${target.origin}`);
    return fetch(`${serverUrl}${target.pathname}${target.search}`, {
      method: outgoing.method,
      headers: outgoing.headers,
      body: outgoing.body,
      redirect: outgoing.redirect,
      duplex: "half",
    } as RequestInit);
  };
  const served = await serveHandler("github.com", (request) => forwardToGit(request, grant, send), (status, headers, chunk) => {
    if (chunk === null) answers.push(`${status} ${JSON.stringify(headers)}\n`);
    else answers[answers.length - 1] += Buffer.from(chunk).toString("latin1");
  });
  return { ...served, answers };
}

/** Everything git printed on the container's side, its HTTP trace included. */
const containerOutputs: string[] = [];

/** git on the container's side: no credential helper, no prompt, and a trace of every HTTP header it sends and gets. */
function containerGit(cwd: string, ...args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      cwd,
      env: { ...GIT_ENV, GIT_TERMINAL_PROMPT: "0", GIT_TRACE_CURL: "1", GIT_TRACE_CURL_NO_DATA: "1", GIT_TRACE_REDACT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      containerOutputs.push(output);
      resolve({ ok: code === 0, output });
    });
  });
}

const credentialForms = [TOKEN, Buffer.from(`x-access-token:${TOKEN}`).toString("base64"), gitAuthorization(TOKEN)];

let root: string;
let cleanup: () => Promise<void>;
let remote: string;
let server: GitHttpServer;
let door: Door;
let work: string;

const grant: GitGrant = { host: "github.com", repositoryPath: REPOSITORY, pushBranch: BRANCH, ignorePathCase: true, token: TOKEN };

beforeAll(async () => {
  ({ path: root, cleanup } = await tempDir("git-door-"));
  const projectRoot = join(root, "server");
  remote = await makeRemote(root, { "src/app.txt": "hello\n" }, { barePath: `server${REPOSITORY}.git` });
  // So that git sends a push option when asked, and the door sees it.
  await git(remote, "config", "receive.advertisePushOptions", "true");
  server = await startGitHttpServer(projectRoot, { requiredAuthorization: gitAuthorization(TOKEN) });
  door = await startDoor(grant, server.url);
  work = join(root, "work");
});

afterAll(async () => {
  await door.close();
  await server.close();
  await cleanup();
});

/** The POSTs to git-receive-pack the server has received so far. */
const receivePackPosts = () => server.requests.filter((request) => request.method === "POST" && request.path.endsWith("/git-receive-pack")).length;
const remoteRef = async (ref: string) => (await git(remote, "rev-parse", "--verify", "-q", ref).catch(() => "")).trim();

describe("through the git door", () => {
  it("the server refuses git without the credential", async () => {
    const direct = await containerGit(root, "ls-remote", `${server.url}${REPOSITORY}.git`);
    expect(direct.ok).toBe(false);
    expect(direct.output).toMatch(/401|Authentication failed|could not read Username/);
  });

  it("clones through the door, which adds the credential", async () => {
    const clone = await containerGit(root, "clone", "-q", `${door.url}${REPOSITORY}.git`, work);
    expect(clone.output).not.toMatch(/fatal/);
    expect(clone.ok).toBe(true);
    expect(await git(work, "log", "-1", "--format=%s")).toBe("Second commit\n");
    expect(server.requests.filter((request) => request.authorization === gitAuthorization(TOKEN)).length).toBeGreaterThan(0);
  });

  it("pushes the work branch with the credential added", async () => {
    await git(work, "checkout", "-q", "-b", BRANCH);
    await writeFiles(work, { "change.txt": "a change\n" });
    await git(work, "add", "-A");
    await git(work, "commit", "-q", "-m", "A change");
    const pushed = await containerGit(work, "push", "origin", BRANCH);
    expect(pushed.output).not.toMatch(/error|fatal/);
    expect(pushed.ok).toBe(true);
    expect(await remoteRef(BRANCH)).toBe((await git(work, "rev-parse", "HEAD")).trim());
    const post = server.requests.findLast((request) => request.path.endsWith("/git-receive-pack"));
    expect(post).toMatchObject({ method: "POST", authorization: gitAuthorization(TOKEN) });
  });

  it("pushes a large change (git's chunked body after its probe) of the work branch", async () => {
    await writeFiles(work, { "large.bin": randomBytes(3 * 1024 * 1024) });
    await git(work, "add", "-A");
    await git(work, "commit", "-q", "-m", "A large file");
    const pushed = await containerGit(work, "-c", "http.postBuffer=65536", "push", "origin", BRANCH);
    expect(pushed.ok).toBe(true);
    expect(pushed.output).toMatch(/Transfer-Encoding: chunked/i);
    expect(await remoteRef(BRANCH)).toBe((await git(work, "rev-parse", "HEAD")).trim());
  });

  it.each([
    ["a push to main", ["push", "origin", "HEAD:main"], "ref_not_allowed"],
    ["a forced push to main", ["push", "--force", "origin", "HEAD:refs/heads/main"], "ref_not_allowed"],
    ["a push of the work branch together with main", ["push", "origin", `${BRANCH}`, "HEAD:main"], "ref_not_allowed"],
    ["a tag", ["push", "origin", "HEAD:refs/tags/v9"], "ref_not_allowed"],
    ["a deletion of the work branch", ["push", "origin", `:${BRANCH}`], "ref_deletion_not_allowed"],
    ["a push with a push option", ["push", "--push-option=ci.skip", "origin", BRANCH], "signed_push_not_allowed"],
  ])("refuses %s before its ref updates reach the server", async (_name, args, code) => {
    await writeFiles(work, { "another.txt": `${_name}\n` });
    await git(work, "add", "-A");
    await git(work, "commit", "-q", "-m", `Attempt: ${_name}`);
    const before = { posts: receivePackPosts(), main: await remoteRef("main"), branch: await remoteRef(BRANCH), tag: await remoteRef("v9") };
    const attempt = await containerGit(work, ...args);
    expect(attempt.ok).toBe(false);
    expect(attempt.output).toMatch(/403/);
    expect(door.answers.at(-1)).toContain(`"code":"${code}"`);
    expect(receivePackPosts()).toBe(before.posts);
    expect({ posts: receivePackPosts(), main: await remoteRef("main"), branch: await remoteRef(BRANCH), tag: await remoteRef("v9") }).toEqual(before);
  });

  it("refuses other repositories on the same host, and the dumb protocol", async () => {
    const before = server.requests.length;
    expect((await containerGit(root, "ls-remote", `${door.url}/octo/other.git`)).ok).toBe(false);
    const dumb = await fetch(`${door.url}${REPOSITORY}.git/info/refs`);
    expect(dumb.status).toBe(403);
    expect(await dumb.json()).toMatchObject({ code: "route_not_allowed" });
    expect(server.requests.length).toBe(before);
  });

  it("never lets the credential reach the container's side", () => {
    expect(door.failures).toEqual([]);
    expect(door.answers.length).toBeGreaterThan(5);
    // What the door answered, and what git itself saw of every exchange (its HTTP trace).
    for (const seen of [...door.answers, ...containerOutputs]) for (const form of credentialForms) expect(seen).not.toContain(form);
    expect(containerOutputs.join("\n")).toMatch(/GET \/octo\/hello\.git\/info\/refs/);
  });
});

describe("push options spelled as git reads them", () => {
  const optionsBranch = "claude/options";
  let optionsDoor: Door;
  let hookLog: string;

  beforeAll(async () => {
    // A pre-receive hook that writes down the push options receive-pack hands it.
    hookLog = join(root, "push-options.log");
    await writeFile(
      join(remote, "hooks", "pre-receive"),
      `#!/bin/sh\ni=0\nwhile [ "$i" -lt "\${GIT_PUSH_OPTION_COUNT:-0}" ]; do eval "printf '%s\\n' \\"\\$GIT_PUSH_OPTION_$i\\"" >> '${hookLog}'; i=$((i + 1)); done\n`,
      { mode: 0o755 },
    );
    optionsDoor = await startDoor({ ...grant, pushBranch: optionsBranch }, server.url);
  });

  afterAll(async () => {
    await optionsDoor.close();
    await rm(join(remote, "hooks", "pre-receive"), { force: true });
  });

  /** A push of an existing commit to the branch, by hand: its ref update with `capabilities`, the options, an empty pack. */
  async function handMadePush(capabilities: string, options: string[]): Promise<Response> {
    const commit = await remoteRef("main");
    const pkt = (payload: string) => `${(Buffer.byteLength(payload) + 4).toString(16).padStart(4, "0")}${payload}`;
    const header = Buffer.from([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2, 0, 0, 0, 0]);
    const pack = Buffer.concat([header, createHash("sha1").update(header).digest()]);
    const section = `${pkt(`${"0".repeat(40)} ${commit} refs/heads/${optionsBranch}\0${capabilities}\n`)}0000`;
    const commands = options.length === 0 ? section : `${section}${options.map((option) => pkt(`${option}\n`)).join("")}0000`;
    return fetch(`${optionsDoor.url}${REPOSITORY}.git/git-receive-pack`, {
      method: "POST",
      headers: { "content-type": "application/x-git-receive-pack-request" },
      body: Buffer.concat([Buffer.from(commands), pack]),
    });
  }

  it.each([
    ["push-options=1", "report-status push-options=1 object-format=sha1 agent=git/2.39.5"],
    ["push-options after a tab", "report-status\tpush-options object-format=sha1 agent=git/2.39.5"],
  ])("refuses %s before receive-pack hands the options to a hook", async (_name, capabilities) => {
    const posts = receivePackPosts();
    const response = await handMadePush(capabilities, ["ci.skip", "bypass-checks"]);
    expect(await response.text()).toContain('"code":"signed_push_not_allowed"');
    expect(response.status).toBe(403);
    expect(receivePackPosts()).toBe(posts);
    expect(existsSync(hookLog)).toBe(false);
    expect(await remoteRef(optionsBranch)).toBe("");
  });

  it("lets the same push through without the options, so the refusal is theirs", async () => {
    const response = await handMadePush("report-status object-format=sha1 agent=git/2.39.5", []);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(`ok refs/heads/${optionsBranch}`);
    expect(await remoteRef(optionsBranch)).toBe(await remoteRef("main"));
    expect(existsSync(hookLog)).toBe(false);
  });
});

describe("the repository steps through the door", () => {
  const stepsBranch = "claude/steps";
  let stepsDoor: Door;

  beforeEach(async () => {
    stepsDoor = await startDoor({ ...grant, pushBranch: stepsBranch }, server.url);
    return () => stepsDoor.close();
  });

  it("check out, then push only the granted work branch", async () => {
    const paths = { workDir: join(root, "steps", "repo"), outputDir: join(root, "steps", "out") };
    const url = `${stepsDoor.url}${REPOSITORY}.git`;
    const checkout = await runStep(buildCheckoutScript({ url, ref: null, branch: stepsBranch, push: true }, paths));
    expect(parseStepResult(checkout.stdout, "checkout")).toMatchObject({ ok: true, defaultBranch: "main" });
    await writeFiles(paths.workDir, { "from-the-steps.txt": "x\n" });

    const finished = parseStepResult((await runStep(buildFinishScript({ branch: stepsBranch, message: commitMessage({ taskId: "t" }) }, paths))).stdout, "finish");
    if (!finished.ok || finished.step !== "finish") throw new Error("finish failed");

    // A push step told to push another branch is refused by the door…
    const elsewhere = await runStep(buildPushScript({ branch: "claude/elsewhere", head: finished.head }, paths));
    expect(parseStepResult(elsewhere.stdout, "push")).toEqual({ step: "push", ok: false, code: "push_failed" });
    expect(stepsDoor.answers.at(-1)).toContain('"code":"ref_not_allowed"');
    expect(await remoteRef("claude/elsewhere")).toBe("");

    // …and the granted branch is pushed, from the shallow checkout.
    const granted = await runStep(buildPushScript({ branch: stepsBranch, head: finished.head }, paths));
    expect(parseStepResult(granted.stdout, "push")).toEqual({ step: "push", ok: true });
    expect(await remoteRef(stepsBranch)).toBe(finished.head);
    for (const answer of stepsDoor.answers) for (const form of credentialForms) expect(answer).not.toContain(form);
  });
});

describe("a task that may not push", () => {
  let readOnlyDoor: Door;

  beforeEach(async () => {
    readOnlyDoor = await startDoor({ ...grant, pushBranch: null }, server.url);
    return () => readOnlyDoor.close();
  });

  it("clones, and its push is refused at the advertisement, before the server hears of it", async () => {
    const clone = join(root, "read-only");
    expect((await containerGit(root, "clone", "-q", `${readOnlyDoor.url}${REPOSITORY}.git`, clone)).ok).toBe(true);
    await git(clone, "checkout", "-q", "-b", BRANCH);
    const before = server.requests.length;
    const attempt = await containerGit(clone, "push", "origin", `HEAD:refs/heads/${BRANCH}-read-only`);
    expect(attempt.ok).toBe(false);
    expect(readOnlyDoor.answers.at(-1)).toContain('"code":"push_not_allowed"');
    expect(server.requests.length).toBe(before);
    for (const answer of readOnlyDoor.answers) for (const form of credentialForms) expect(answer).not.toContain(form);
  });
});
