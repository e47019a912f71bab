/**
 * Repository tasks from the CLI: `submit --repo/--ref/--branch/--push/--pr`,
 * `submit --continue`, `artifact <taskId> changes.patch` and the repository in
 * what `status`, `wait` and `events` show. What the CLI sends and how it
 * prints an artifact are shown against stand-in servers that record requests
 * and answer bytes; the round trip (a repository task, its patch, a follow-up,
 * the branch queue) against the run's shared `npm run dev:stub`, whose
 * stand-in plays a repository task with a small fake patch. Most cases call
 * the command functions in this process; a few run the built CLI for stdout
 * and exit codes.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RepositoryDocument, TaskEvent, TaskResult, TaskStatusDocument } from "../../worker/src/contract.js";
import { readArtifact } from "../../cli/commands/artifact.js";
import { cancelTask } from "../../cli/commands/cancel.js";
import { type EventSink, taskEvents } from "../../cli/commands/events.js";
import { taskStatus } from "../../cli/commands/status.js";
import { type SubmitOptions, submitTask } from "../../cli/commands/submit.js";
import { waitForTask } from "../../cli/commands/wait.js";
import { type CommandResult, type RawResult, UsageError } from "../../cli/lib/result.js";
import { type SharedStub, sharedStub } from "../fixtures/dev-stub.js";
import { CLI_BIN, removeTempDirs, tempDir } from "./fixtures/run-cli-process.js";
import { FAST, hasScript, noEnv, runCli, runOnTerminal } from "./fixtures/run-cli.js";

const REPO = "https://github.com/octocat/Hello-World";
const TASK_ID = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
const TOKEN = "tok-3c9f1e7a5b2d4c6e";

interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  accept: string | undefined;
  body: unknown;
}

/** A stand-in API: records each request and answers it with `answer`. */
async function standIn(answer: (request: Recorded, response: ServerResponse) => void) {
  const requests: Recorded[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      const recorded = {
        method: request.method!,
        url: request.url!,
        authorization: request.headers.authorization,
        accept: request.headers.accept,
        body: text ? (JSON.parse(text) as unknown) : null,
      };
      requests.push(recorded);
      answer(recorded, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type StandIn = Awaited<ReturnType<typeof standIn>>;

/** Runs the built CLI's `artifact` as a process, keeping stdout as bytes. */
function artifactProcess(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, "artifact", ...args], { env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }));
  });
}

afterAll(() => removeTempDirs());

describe("submit with a repository (what it sends)", () => {
  let api: StandIn;
  beforeAll(async () => {
    api = await standIn((_request, response) => response.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ taskId: TASK_ID, status: "queued" })));
  });
  afterAll(() => api.close());

  it.each<[string, Omit<SubmitOptions, "args">, Record<string, unknown>]>([
    ["--repo", { repo: REPO }, { repo: { url: REPO } }],
    [
      "--repo --ref --branch --push",
      { repo: REPO, ref: "v1.2.0", branch: "fix/typo", push: true },
      { repo: { url: REPO, ref: "v1.2.0" }, branch: "fix/typo", push: true },
    ],
    ["--repo --pr", { repo: REPO, pullRequest: true }, { repo: { url: REPO }, pullRequest: true }],
    [
      "--repo --pr --pr-title --pr-body",
      { repo: REPO, pullRequest: true, pullRequestTitle: "Fix the typo", pullRequestBody: "Found by\n`claude`." },
      { repo: { url: REPO }, pullRequest: { title: "Fix the typo", body: "Found by\n`claude`." } },
    ],
    ["--continue", { continueFrom: TASK_ID }, { continueFrom: TASK_ID }],
    ["--continue --push --pr", { continueFrom: TASK_ID, push: true, pullRequest: true }, { continueFrom: TASK_ID, push: true, pullRequest: true }],
    ["--continue with the other settings", { continueFrom: TASK_ID, timeoutMs: 60_000, model: "sonnet" }, { continueFrom: TASK_ID, timeout: 60_000, model: "sonnet" }],
  ])("%s: the API's fields, the task as given", async (_flags, settings, fields) => {
    const before = api.requests.length;
    const result = await submitTask({ args: [api.url, TOKEN, "Fix the typo in README"], ...settings });
    expect(result).toMatchObject({ ok: true, output: { taskId: TASK_ID } });
    expect(api.requests.slice(before)).toEqual([
      { method: "POST", url: "/tasks", authorization: `Bearer ${TOKEN}`, accept: "application/json", body: { task: "Fix the typo in README", ...fields } },
    ]);
  });

  it.each<[string, Omit<SubmitOptions, "args">, string]>([
    ["--continue with --repo", { continueFrom: TASK_ID, repo: REPO }, "--continue cannot be given with --repo"],
    ["--continue with --branch", { continueFrom: TASK_ID, branch: "fix/typo" }, "--continue cannot be given with --branch"],
    ["--continue with --ref", { continueFrom: TASK_ID, ref: "main" }, "--continue cannot be given with --ref"],
    ["--ref without a repository", { ref: "main" }, "--ref needs a repository"],
    ["--branch without a repository", { branch: "fix/typo" }, "--branch needs a repository"],
    ["--push without a repository", { push: true }, "--push needs a repository"],
    ["--pr without a repository", { pullRequest: true }, "--pr needs a repository"],
    ["--pr-title without --pr", { repo: REPO, push: true, pullRequestTitle: "Fix" }, "--pr-title needs --pr"],
    ["--pr-body without --pr", { repo: REPO, pullRequestBody: "Why" }, "--pr-body needs --pr"],
  ])("%s is a usage mistake, refused before anything is sent", async (_name, settings, message) => {
    const before = api.requests.length;
    const attempt = submitTask({ args: [api.url, TOKEN, "a task"], ...settings });
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(message);
    expect(api.requests.length).toBe(before);
  });

  it("the built CLI maps the flags to those fields and exits 2 for a combination the API would refuse", async () => {
    const before = api.requests.length;
    const run = await runCli(["submit", api.url, TOKEN, "--repo", REPO, "--ref", "v1.2.0", "--branch", "fix/typo", "--pr", "--pr-title", "Fix", "--", "-fix it"], { env: noEnv });
    expect(run.code).toBe(0);
    expect(api.requests.slice(before).map((request) => request.body)).toEqual([
      { task: "-fix it", repo: { url: REPO, ref: "v1.2.0" }, branch: "fix/typo", pullRequest: { title: "Fix" } },
    ]);
    const followUp = await runCli(["submit", api.url, TOKEN, "--continue", TASK_ID, "--push", "Now add a test"], { env: noEnv });
    expect(followUp.code).toBe(0);
    expect(api.requests.at(-1)!.body).toEqual({ task: "Now add a test", continueFrom: TASK_ID, push: true });

    const count = api.requests.length;
    const refused = await runCli(["submit", api.url, TOKEN, "--continue", TASK_ID, "--repo", REPO, "More"], { env: noEnv });
    expect(refused.code).toBe(2);
    expect(refused.json).toMatchObject({ success: false, error: "--continue cannot be given with --repo" });
    expect(String(refused.json.hint)).toContain("follow-up");
    const lonePr = await runCli(["submit", api.url, TOKEN, "--pr", "More"], { env: noEnv });
    expect(lonePr.code).toBe(2);
    expect(lonePr.json).toMatchObject({ success: false, error: "--pr needs a repository" });
    expect(api.requests.length).toBe(count);
  });
});

describe("submit with a repository (the API's refusals)", () => {
  it.each([
    ["github_not_configured", "githubToken"],
    ["repo_not_granted", "githubRepos"],
    ["push_not_supported", "claude-sandbox artifact <taskId> changes.patch"],
    ["repo_host_not_allowed", "allowedHosts"],
    ["protected_branch", "--branch"],
    ["branch_is_default", "without --push"],
    ["repo_host_has_door", "git host"],
    ["callback_url_not_public", "public https:// URL"],
  ])("%s comes with a hint that says what to do", async (code, hint) => {
    const api = await standIn((_request, response) => response.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "Refused", code })));
    try {
      const result = await submitTask({ args: [api.url, TOKEN, "a task"], repo: REPO, push: true });
      expect(result.ok).toBe(false);
      expect(result.output).toMatchObject({ success: false, error: "Refused", code, http_code: 400 });
      expect(String(result.output.hint)).toContain(hint);
    } finally {
      await api.close();
    }
  });
});

/** The bytes of a patch that is not all UTF-8: a Latin-1 text file and a binary one. */
const PATCH = Buffer.concat([
  Buffer.from("diff --git a/README b/README\n--- a/README\n+++ b/README\n@@ -1 +1 @@\n-Hello\n+Hall"),
  Buffer.from([0xe5]),
  Buffer.from("\ndiff --git a/logo.png b/logo.png\nGIT binary patch\nliteral 3\nKcmZ?wbN~PV\n\n"),
]);

describe("artifact (against a stand-in)", () => {
  let api: StandIn;
  beforeAll(async () => {
    api = await standIn((request, response) => {
      const [, , id] = request.url.split("/");
      if (id === "finished") return void response.writeHead(200, { "content-type": "text/x-patch; charset=utf-8" }).end(PATCH);
      if (id === "quoting") return void response.writeHead(200, { "content-type": "text/x-patch; charset=utf-8" }).end(`+the token ${TOKEN} was in the task\n`);
      if (id === "html") return void response.writeHead(200, { "content-type": "text/html" }).end("<html>a login page</html>");
      if (id === "running") {
        return void response
          .writeHead(409, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "The task has not finished", code: "task_not_finished", status: "running" }));
      }
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "No such artifact", code: "artifact_not_found" }));
    });
  });
  afterAll(() => api.close());

  it("gives the patch byte for byte, asked for at the artifact's path with the token", async () => {
    const result = (await readArtifact({ args: [api.url, TOKEN, "finished", "changes.patch"] })) as RawResult;
    expect(result.ok).toBe(true);
    expect(Buffer.from(result.raw).equals(PATCH)).toBe(true);
    expect(api.requests.at(-1)).toMatchObject({ method: "GET", url: "/tasks/finished/artifacts/changes.patch", authorization: `Bearer ${TOKEN}` });
    expect(api.requests.at(-1)!.accept).toContain("text/x-patch");
  });

  it("writes it to --output, byte for byte, and says where in JSON", async () => {
    const file = join(tempDir("artifact"), "changes.patch");
    const result = (await readArtifact({ args: [api.url, TOKEN, "finished", "changes.patch"], output: file })) as CommandResult;
    expect(result.ok).toBe(true);
    expect(result.output).toEqual({ success: true, taskId: "finished", artifact: "changes.patch", path: file, bytes: PATCH.byteLength, contentType: "text/x-patch; charset=utf-8" });
    expect(readFileSync(file).equals(PATCH)).toBe(true);
  });

  it("fails (exit 1) when the file cannot be written, and writes nothing", async () => {
    const file = join(tempDir("artifact"), "missing", "changes.patch");
    const result = (await readArtifact({ args: [api.url, TOKEN, "finished", "changes.patch"], output: file })) as CommandResult;
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, error: `Could not write ${file}: ENOENT` });
    expect(existsSync(file)).toBe(false);
  });

  it("never gives the token, even in a patch that quotes it", async () => {
    const result = (await readArtifact({ args: [api.url, TOKEN, "quoting", "changes.patch"] })) as RawResult;
    expect(Buffer.from(result.raw).toString()).toBe("+the token [redacted] was in the task\n");
  });

  it.each([
    ["without a patch", "no-patch", { code: "artifact_not_found", http_code: 404 }, "not a repository task"],
    ["still running", "running", { code: "task_not_finished", http_code: 409, status: "running" }, "events <taskId> --follow"],
    ["on a server that answers a web page", "html", { http_code: 200, error: "answered with text/html, not text/x-patch" }, "base URL"],
  ])("reports a task %s as a failure with a hint", async (_name, id, failure, hint) => {
    const result = (await readArtifact({ args: [api.url, TOKEN, id, "changes.patch"] })) as CommandResult;
    expect(result.ok).toBe(false);
    const { error, ...fields } = failure as { error?: string };
    expect(result.output).toMatchObject({ success: false, ...fields });
    if (error !== undefined) expect(String(result.output.error)).toContain(error);
    expect(String(result.output.hint)).toContain(hint);
  });

  it("refuses an artifact name that does not exist before asking", async () => {
    const before = api.requests.length;
    await expect(readArtifact({ args: [api.url, TOKEN, "finished", "../result.json"] })).rejects.toThrow("a task's artifacts are: changes.patch");
    await expect(readArtifact({ args: [api.url, TOKEN, "finished"] })).rejects.toBeInstanceOf(UsageError);
    expect(api.requests.length).toBe(before);
  });

  it("the built CLI prints the patch alone on stdout, byte for byte (exit 0), and failures as JSON (exit 1, 2)", async () => {
    const [printed, missing, unknown] = await Promise.all([
      artifactProcess([api.url, TOKEN, "finished", "changes.patch"]),
      artifactProcess([api.url, TOKEN, "no-patch", "changes.patch"]),
      artifactProcess([api.url, TOKEN, "finished", "result.json"]),
    ]);
    expect(printed.code).toBe(0);
    expect(printed.stdout.equals(PATCH)).toBe(true);
    expect(printed.stderr.toString()).toBe("");
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout.toString())).toMatchObject({ success: false, code: "artifact_not_found", http_code: 404 });
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout.toString())).toMatchObject({ success: false, error: expect.stringContaining("changes.patch") });
    for (const run of [printed, missing, unknown]) expect(Buffer.concat([run.stdout, run.stderr]).includes(TOKEN)).toBe(false);
  });
});

describe("repository tasks against dev:stub", () => {
  let stub: SharedStub;
  let target: [string, string];

  beforeAll(async () => {
    stub = await sharedStub();
    target = [stub.url, stub.token];
  });

  async function submit(task: string, settings: Omit<SubmitOptions, "args">): Promise<TaskStatusDocument> {
    const result = await submitTask({ args: [...target, task], ...settings });
    expect(result.ok, JSON.stringify(result.output)).toBe(true);
    return result.output as unknown as TaskStatusDocument;
  }

  it("works on a branch, shows it in status, events and the result, and hands back the patch", async () => {
    const submitted = await submit(`Fix the typo in README\n${FAST}`, { repo: REPO });
    const branch = `claude/${submitted.taskId}`;
    expect(submitted.repository).toMatchObject({ url: REPO, ref: null, branch, push: false, pullRequestRequested: false, pushed: false, pullRequest: null });

    const events: TaskEvent[] = [];
    const sink: EventSink = { open: () => undefined, event: (event) => void events.push(event), close: () => undefined };
    expect((await taskEvents({ args: [...target, submitted.taskId], follow: true, sink })).ok).toBe(true);
    const resultEvent = events.find((event) => event.type === "result");
    expect(resultEvent?.data).toMatchObject({ success: true, repository: { branch } });

    const waited = await waitForTask({ args: [...target, submitted.taskId] });
    expect(waited.ok).toBe(true);
    const repository = (waited.output as unknown as TaskResult).repository as RepositoryDocument;
    expect(repository).toMatchObject({ url: REPO, branch, pushed: false, pullRequest: null });
    expect(repository.head).toEqual(expect.any(String));
    expect(repository.diffStat!.filesChanged).toBeGreaterThan(0);
    expect(repository.diffStat!.files.length).toBeGreaterThan(0);
    expect(repository.artifacts["changes.patch"]).toBe(`/tasks/${submitted.taskId}/artifacts/changes.patch`);

    const status = await taskStatus({ args: [...target, submitted.taskId] });
    expect((status.output as unknown as TaskStatusDocument).repository).toEqual(repository);

    const patch = (await readArtifact({ args: [...target, submitted.taskId, "changes.patch"] })) as RawResult;
    expect(patch.ok).toBe(true);
    const text = Buffer.from(patch.raw).toString();
    expect(text).toMatch(/^diff --git /);
    for (const file of repository.diffStat!.files) expect(text).toContain(`diff --git a/${file.path} b/${file.path}`);
  });

  it("pushes and opens a pull request with --push --pr, against dev:stub's stand-in GitHub, whose pull request's address says so", async () => {
    const submitted = await submit(`Add a changelog entry\n${FAST}`, { repo: REPO, pullRequest: true, pullRequestTitle: "Add a changelog entry" });
    expect(submitted.repository).toMatchObject({ push: true, pullRequestRequested: true });
    const waited = await waitForTask({ args: [...target, submitted.taskId] });
    expect(waited.ok, JSON.stringify(waited.output)).toBe(true);
    const repository = (waited.output as unknown as TaskResult).repository as RepositoryDocument;
    expect(repository.pushed).toBe(true);
    expect(repository.pullRequest).toEqual({ url: expect.stringMatching(/^https:\/\/stand-in-github\.invalid\/octocat\/Hello-World\/pull\/\d+$/), number: expect.any(Number) });
  });

  it("follows up a repository task on its branch with --continue, linking the chain", async () => {
    const first = await submit(`Add a greeting\n${FAST}`, { repo: REPO, branch: `claude/chain-${Date.now()}` });
    await waitForTask({ args: [...target, first.taskId] });
    const followUp = await submit(`Now add a test for it\n${FAST}`, { continueFrom: first.taskId });
    expect(followUp.continuedFrom).toBe(first.taskId);
    expect(followUp.repository).toMatchObject({ url: REPO, branch: first.repository!.branch });
    const waited = await waitForTask({ args: [...target, followUp.taskId] });
    expect(waited.ok).toBe(true);
    expect(waited.output).toMatchObject({ continuedFrom: first.taskId, repository: { branch: first.repository!.branch } });
  });

  it("refuses a follow-up of a task without a repository, or of one it does not know, with hints", async () => {
    const plain = await submit(`No repository here\n${FAST}`, {});
    await waitForTask({ args: [...target, plain.taskId] });
    const notRepository = await submitTask({ args: [...target, "More"], continueFrom: plain.taskId });
    expect(notRepository.output).toMatchObject({ success: false, code: "follow_up_without_repository", http_code: 400 });
    expect(String(notRepository.output.hint)).toContain("submit a new task");
    const unknown = await submitTask({ args: [...target, "More"], continueFrom: "3f1c1c3e-5a7b-4c8d-9e0f-112233445566" });
    expect(unknown.output).toMatchObject({ success: false, code: "continue_from_unavailable", http_code: 409 });
    expect(String(unknown.output.hint)).toContain("--repo");
    const artifact = (await readArtifact({ args: [...target, plain.taskId, "changes.patch"] })) as CommandResult;
    expect(artifact.output).toMatchObject({ success: false, code: "artifact_not_found", http_code: 404 });
  });

  it("reports a repository URL the API refuses with its code (exit 1)", async () => {
    const result = await submitTask({ args: [...target, "a task"], repo: "http://github.com/octocat/Hello-World" });
    expect(result.ok).toBe(false);
    expect(result.output).toMatchObject({ success: false, code: "invalid_repo_url", http_code: 400 });
  });

  it("queues a task behind a running one on the same branch, showing its position, and runs it after", async () => {
    const branch = `claude/queue-${Date.now()}`;
    const running = await submit("@stub hang", { repo: REPO, branch });
    const queued = await submit(`Second on the branch\n${FAST}`, { repo: REPO, branch });
    try {
      const status = (await taskStatus({ args: [...target, queued.taskId] })).output as unknown as TaskStatusDocument;
      // One task is ahead of it: the one running on the branch.
      expect(status).toMatchObject({ status: "queued", queuePosition: 1, repository: { branch } });
      const early = await readArtifact({ args: [...target, queued.taskId, "changes.patch"] });
      expect((early as CommandResult).output).toMatchObject({ code: "task_not_finished", http_code: 409 });
      if (hasScript) {
        // On a terminal, wait says what the task waits for.
        const run = runOnTerminal(["wait", stub.url, stub.token, queued.taskId, "--timeout", "1500"]);
        expect(run.stdout).toContain(`waiting for task ${queued.taskId}: queued behind other tasks on ${branch} 0m0`);
        expect(run.stdout).toContain('"code": "wait_timeout"');
      }
    } finally {
      await cancelTask({ args: [...target, running.taskId] });
    }
    const waited = await waitForTask({ args: [...target, queued.taskId] });
    expect(waited.ok).toBe(true);
  });

  it("the built CLI: submit --repo, wait, then the patch on stdout (exit 0)", async () => {
    const submitted = await runCli(["submit", ...target, "--repo", REPO, `Fix the typo\n${FAST}`], { env: noEnv });
    expect(submitted.code).toBe(0);
    const taskId = String(submitted.json.taskId);
    const waited = await runCli(["wait", ...target, taskId], { env: noEnv });
    expect(waited.code).toBe(0);
    expect(waited.json.repository).toMatchObject({ branch: `claude/${taskId}` });
    const patch = await artifactProcess([...target, taskId, "changes.patch"]);
    expect(patch.code).toBe(0);
    expect(patch.stdout.toString()).toMatch(/^diff --git /);
  });

  it.skipIf(!hasScript)("shows the branch and what changed at the end of the live view on a terminal", async () => {
    const { taskId } = await submit(`Fix the typo\n${FAST}`, { repo: REPO });
    const run = runOnTerminal(["events", stub.url, stub.token, taskId, "--follow"]);
    const screen = run.stdout.replaceAll("\r\n", "\n");
    expect(run.status).toBe(0);
    expect(screen).toMatch(new RegExp(`result: succeeded.*\\n {7}branch claude/${taskId} · \\d+ files? changed, \\+\\d+ -\\d+\\n`));
    expect(screen).toMatch(/end: succeeded\n/);
  });
});
