/**
 * Repository tasks through the real Worker and Task objects, with the stand-in
 * sandbox playing the repository steps: checkout on a work branch, Claude Code
 * in the working tree, commit and patch, push through the git door, the pull
 * request opened by the Worker (against the local GitHub API of the test
 * receiver), follow-ups that restore the earlier workspace and resume its
 * session, and one task at a time per repository and branch.
 */
import { runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, inject, it } from "vitest";
import type { WorkerEnv } from "../../worker/src/env.js";
import type { TaskRequest, TaskSubmission } from "../../worker/src/tasks/submission.js";
import { artifactKey, type RepositoryDocument, type TaskListDocument, type TaskStatusDocument, workspaceKey } from "../../worker/src/contract.js";
import { branchQueueName, MAX_QUEUED_PER_BRANCH } from "../../worker/src/repositories/branch-queue.js";
import { RESULT_MARKER } from "../../worker/src/repositories/script.js";
import { sandboxEvents, sandboxScript, storageScript, Task } from "./harness.js";
import {
  auth,
  call,
  cancel,
  captureLogs,
  eventsOf,
  eventually,
  freshState,
  getJson,
  keysOf,
  NO_INSTANCE,
  noContainers,
  postWithEnv,
  sandboxDestroyed,
  sandboxIdOf,
  statusBecomes,
  storedResult,
  submit,
  submitted,
  testEnv,
} from "./helpers.js";

freshState();
const logs = captureLogs();

const sink = inject("webhookSink");
const REPO = "https://github.com/acme/widgets";

beforeEach(() => {
  storageScript.githubApiUrl = `${sink}/github`;
});

async function githubRequests(): Promise<{ headers: Record<string, string>; body: string }[]> {
  return (await (await fetch(`${sink}/received/github`)).json()) as { headers: Record<string, string>; body: string }[];
}

describe("a repository task", () => {
  it("checks out a work branch, runs Claude in the working tree, and hands back the patch and diff stat", async () => {
    const { taskId, repository } = await submitted({ task: "Add notes", repo: { url: REPO } });
    expect(repository).toMatchObject({ url: REPO, ref: null, branch: `claude/${taskId}`, push: false, pullRequestRequested: false, base: null });
    const result = await storedResult(taskId);
    expect(result.status).toBe("succeeded");
    expect(result.repository).toEqual({
      url: REPO,
      ref: null,
      branch: `claude/${taskId}`,
      defaultBranch: "main",
      push: false,
      pullRequestRequested: false,
      base: "1111111111111111111111111111111111111111",
      head: "2222222222222222222222222222222222222222",
      diffStat: { filesChanged: 1, insertions: 2, deletions: 0, files: [{ path: "NOTES.md", insertions: 2, deletions: 0, binary: false }], truncated: false },
      pushed: false,
      pullRequest: null,
      artifacts: { "changes.patch": `/tasks/${taskId}/artifacts/changes.patch` },
    } satisfies RepositoryDocument);

    // The steps ran in order, Claude Code in the working tree with the task's own session id.
    expect(sandboxEvents.steps.map((step) => step.step)).toEqual(["checkout", "stop", "finish", "pack"]);
    expect(sandboxEvents.steps[0]!.env.CLAUDE_SANDBOX_BRANCH).toBe(`claude/${taskId}`);
    expect(sandboxEvents.cwds).toEqual(["/workspace/repo"]);
    expect(sandboxEvents.starts[0]!.command).toContain(`'--session-id' '${taskId}'`);
    // The git door was opened for this repository only, without a push grant.
    expect(sandboxEvents.grants[0]).toEqual({
      sandboxId: sandboxIdOf(taskId),
      grant: { host: "github.com", repositoryPath: "/acme/widgets", pushBranch: null, github: { owner: "acme", repo: "widgets" } },
    });

    const patch = await call(`/tasks/${taskId}/artifacts/changes.patch`, { headers: auth() });
    expect(patch.status).toBe(200);
    expect(patch.headers.get("content-type")).toBe("text/x-patch; charset=utf-8");
    expect(await patch.text()).toContain("+++ b/NOTES.md");
    expect(await testEnv.RESULTS.head(workspaceKey(taskId))).not.toBeNull();

    // The result event and the status document carry the same repository document.
    expect((await eventsOf(taskId)).find((event) => event.type === "result")!.data).toMatchObject({ repository: result.repository });
    expect((await getJson<TaskStatusDocument>(`/tasks/${taskId}`)).body.repository).toEqual(result.repository);
  });

  it("pushes its branch and has the Worker open the pull request, with a token the container never sees", async () => {
    const { taskId } = await submitted({ task: "Fix the bug", repo: { url: REPO, ref: "develop" }, pullRequest: { title: "Fix the bug" } });
    const result = await storedResult(taskId);
    expect(result.status).toBe("succeeded");
    expect(result.repository).toMatchObject({ push: true, pullRequestRequested: true, pushed: true, pullRequest: { url: expect.stringMatching(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/) } });
    expect(sandboxEvents.grants.map((entry) => entry.grant)).toContainEqual(expect.objectContaining({ pushBranch: `claude/${taskId}` }));
    const opened = (await githubRequests()).filter((request) => request.body.startsWith("POST /repos/acme/widgets/pulls"));
    const pull = JSON.parse(opened.at(-1)!.body.split("\n").slice(1).join("\n")) as Record<string, unknown>;
    expect(pull).toMatchObject({ title: "Fix the bug", head: `claude/${taskId}`, base: "develop" });
    expect(opened.at(-1)!.headers.authorization).toBe("Bearer fake-github-test-token-0123456789");
    // Never in the container.
    const everything = JSON.stringify(sandboxEvents.starts) + JSON.stringify(sandboxEvents.steps) + JSON.stringify(sandboxEvents.grants) + JSON.stringify(result);
    expect(everything).not.toContain("fake-github-test-token-0123456789");
    // Nor in a log line, the status, the events, or anything stored for the task.
    const keys = await keysOf(taskId);
    expect(keys).toContain(artifactKey(taskId, "changes.patch"));
    const stored = await Promise.all(keys.map(async (key) => new TextDecoder("latin1").decode(await (await testEnv.RESULTS.get(key))!.arrayBuffer())));
    const status = await getJson(`/tasks/${taskId}`);
    const seen = [...logs.lines(), ...stored, JSON.stringify(status.body), JSON.stringify(await eventsOf(taskId))].join("\n");
    expect(logs.lines().length).toBeGreaterThan(0);
    expect(seen).toContain(taskId);
    expect(seen).not.toContain("fake-github-test-token-0123456789");
    expect(seen).not.toContain(btoa("fake-github-test-token-0123456789"));
  });

  it("fails with repository_failed when the pull request cannot be opened, keeping the patch", async () => {
    await fetch(`${sink}/script/github`, { method: "PUT", body: JSON.stringify([403]) });
    const { taskId } = await submitted({ task: "Refused", repo: { url: REPO }, pullRequest: true });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "failed", error: { code: "repository_failed" } });
    expect(result.error!.message).toContain("pull request could not be opened");
    expect(result.repository).toMatchObject({ pushed: true, pullRequest: null });
    expect(await testEnv.RESULTS.head(artifactKey(taskId, "changes.patch"))).not.toBeNull();
  });

  it("fails with repository_failed when the checkout fails, and never starts Claude Code", async () => {
    sandboxScript.stepOutputs.checkout = `${RESULT_MARKER}${JSON.stringify({ step: "checkout", ok: false, code: "ref_not_found" })}\n`;
    const { taskId } = await submitted({ task: "Nope", repo: { url: REPO, ref: "no-such-branch" } });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "failed", error: { code: "repository_failed" } });
    expect(result.error!.message).toContain("ref_not_found");
    expect(sandboxEvents.starts).toEqual([]);
    await sandboxDestroyed(taskId);
  });
});

describe("follow-ups", () => {
  it("restore the earlier workspace, resume its session on the same branch, and link the chain", async () => {
    const first = await submitted({ task: "Start", repo: { url: REPO } });
    await storedResult(first.taskId);
    sandboxEvents.steps = [];
    const follow = await submitted({ task: "Now add tests", continueFrom: first.taskId });
    expect(follow.continuedFrom).toBe(first.taskId);
    const result = await storedResult(follow.taskId);
    expect(result).toMatchObject({ status: "succeeded", continuedFrom: first.taskId, repository: { branch: `claude/${first.taskId}`, url: REPO } });
    expect(sandboxEvents.steps.map((step) => step.step)).toEqual(["unpack", "stop", "finish", "pack"]);
    expect(sandboxEvents.written).toEqual([expect.objectContaining({ sandboxId: sandboxIdOf(follow.taskId), path: "/workspace/.claude-sandbox/workspace.tar.gz" })]);
    const command = sandboxEvents.starts.at(-1)!.command;
    expect(command).toContain(`'--resume' '${first.taskId}' '--fork-session' '--session-id' '${follow.taskId}'`);
  });

  it("of a running task waits for it, one task at a time on the branch, and shows its place", async () => {
    const first = await submitted({ task: "Long\n@stub delay=300", repo: { url: REPO } });
    const follow = await submitted({ task: "After", continueFrom: first.taskId });
    const waiting = await getJson<TaskStatusDocument>(`/tasks/${follow.taskId}`);
    expect(waiting.body).toMatchObject({ status: "queued", queuePosition: 1 });
    const firstResult = await storedResult(first.taskId);
    const followResult = await storedResult(follow.taskId);
    expect(Date.parse(followResult.startedAt!)).toBeGreaterThanOrEqual(Date.parse(firstResult.timestamp));
    expect(followResult.status).toBe("succeeded");
  });

  it("of an unknown or expired task is a 409 continue_from_unavailable", async () => {
    const response = await submit({ task: "x", continueFrom: "3f1c1c3e-5a7b-4c8d-9e0f-112233445566" });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { code: string }).code).toBe("continue_from_unavailable");

    const gone = await submitted({ task: "Soon gone", repo: { url: REPO } });
    await storedResult(gone.taskId);
    await testEnv.RESULTS.delete(workspaceKey(gone.taskId));
    const expired = await submit({ task: "x", continueFrom: gone.taskId });
    expect(expired.status).toBe(409);
    expect(((await expired.json()) as { code: string }).code).toBe("continue_from_unavailable");
  });

  it("of a task without a repository is a 400 follow_up_without_repository", async () => {
    const plain = await submitted({ task: "no repo" });
    await storedResult(plain.taskId);
    const response = await submit({ task: "x", continueFrom: plain.taskId });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("follow_up_without_repository");
  });
});

describe("the repository's default branch and the push grant", () => {
  /** What happened to a task's sandbox, in order. */
  const timelineOf = (taskId: string) => sandboxEvents.timeline.filter((entry) => entry.sandboxId === sandboxIdOf(taskId)).map((entry) => entry.what);
  const checkoutOn = (defaultBranch: string | null) =>
    `${RESULT_MARKER}${JSON.stringify({ step: "checkout", ok: true, base: "1111111111111111111111111111111111111111", defaultBranch })}\n`;

  it("keeps the default branch the checkout read, in the status document and the result", async () => {
    sandboxScript.stepOutputs.checkout = checkoutOn("develop");
    const { taskId } = await submitted({ task: "Read it", repo: { url: REPO }, branch: "feature/read-default" });
    expect((await storedResult(taskId)).repository).toMatchObject({ defaultBranch: "develop" });
    expect((await getJson<TaskStatusDocument>(`/tasks/${taskId}`)).body.repository).toMatchObject({ defaultBranch: "develop" });
  });

  it("refuses at submission a follow-up that would push the repository's default branch: 400 branch_is_default", async () => {
    sandboxScript.stepOutputs.checkout = checkoutOn("develop");
    const first = await submitted({ task: "On develop, no push", repo: { url: REPO }, branch: "develop" });
    await storedResult(first.taskId);
    const steps = sandboxEvents.steps.length;
    for (const body of [{ push: true }, { pullRequest: true }]) {
      const response = await submit({ task: "Now push it", continueFrom: first.taskId, ...body });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "branch_is_default" });
    }
    expect(sandboxEvents.steps.length).toBe(steps);
    // Without a push, the follow-up may still work on that branch.
    expect((await submit({ task: "Keep going", continueFrom: first.taskId })).status).toBe(202);
  });

  it("never grants a follow-up the push of a default branch learnt after it was accepted", async () => {
    sandboxScript.stepOutputs.checkout = checkoutOn("develop");
    // The first task's checkout is slow, so the follow-up is accepted before the default branch is known.
    sandboxScript.execDelaysMs.checkout = 1_000;
    const first = await submitted({ task: "On develop, no push", repo: { url: REPO }, branch: "develop" });
    const follow = await submitted({ task: "Push it", continueFrom: first.taskId, push: true });
    expect(follow.repository).toMatchObject({ branch: "develop", push: true, defaultBranch: null });
    const result = await storedResult(follow.taskId);
    expect(result).toMatchObject({ status: "failed", error: { code: "repository_failed" }, repository: { defaultBranch: "develop", pushed: false } });
    expect(result.error!.message).toContain("branch_is_default");
    expect(timelineOf(follow.taskId).filter((entry) => entry.startsWith("grant:"))).toEqual(["grant:read", "grant:read"]);
    expect(timelineOf(follow.taskId)).not.toContain("step:push");
    // The patch is kept.
    expect(await testEnv.RESULTS.head(artifactKey(follow.taskId, "changes.patch"))).not.toBeNull();
  });

  it("opens the write grant only for the push step, after Claude Code ended and the processes it left were stopped", async () => {
    const { taskId } = await submitted({ task: "Push", repo: { url: REPO }, branch: "feature/grant", push: true });
    const result = await storedResult(taskId);
    expect(result.repository).toMatchObject({ pushed: true });
    expect(timelineOf(taskId)).toEqual([
      "grant:read",
      "step:checkout",
      "claude",
      "grant:read",
      "step:stop",
      "step:finish",
      "grant:feature/grant",
      "step:push",
      "grant:read",
      "step:pack",
    ]);
  });

  it("never opens the write grant for a task that does not push", async () => {
    const { taskId } = await submitted({ task: "Look only", repo: { url: REPO }, branch: "feature/no-push" });
    await storedResult(taskId);
    expect(timelineOf(taskId).filter((entry) => entry.startsWith("grant:"))).toEqual(["grant:read", "grant:read"]);
    expect(timelineOf(taskId)).not.toContain("step:push");
  });

  it("does not push when the processes Claude Code left cannot be stopped, and keeps the patch", async () => {
    sandboxScript.stepOutputs.stop = `${RESULT_MARKER}${JSON.stringify({ step: "stop", ok: false, code: "stop_failed" })}\n`;
    const { taskId } = await submitted({ task: "Push", repo: { url: REPO }, branch: "feature/unstoppable", push: true });
    const result = await storedResult(taskId);
    expect(result).toMatchObject({ status: "failed", error: { code: "repository_failed" }, repository: { pushed: false } });
    expect(result.error!.message).toContain("stop_failed");
    expect(timelineOf(taskId).filter((entry) => entry.startsWith("grant:"))).toEqual(["grant:read", "grant:read"]);
    expect(await testEnv.RESULTS.head(artifactKey(taskId, "changes.patch"))).not.toBeNull();
  });
});

describe("one task at a time per repository and branch", () => {
  it("runs tasks on the same branch in the order they were accepted, and other branches at once", async () => {
    const first = await submitted({ task: "One\n@stub delay=200", repo: { url: REPO }, branch: "feature/x" });
    const second = await submitted({ task: "Two", repo: { url: REPO }, branch: "feature/x" });
    const other = await submitted({ task: "Elsewhere", repo: { url: REPO }, branch: "feature/y" });
    expect(second.queuePosition).toBe(1);
    expect(other.queuePosition).toBeUndefined();
    await statusBecomes(other.taskId, "succeeded");
    const [a, b] = [await storedResult(first.taskId), await storedResult(second.taskId)];
    expect(Date.parse(b.startedAt!)).toBeGreaterThanOrEqual(Date.parse(a.timestamp));
  });

  it("gives tasks submitted together on one repository branches of their own, so none waits for another", async () => {
    const tasks = await Promise.all([1, 2, 3].map((n) => submitted({ task: `Together ${n}\n@stub delay=100`, repo: { url: REPO } })));
    expect(tasks.map((task) => task.queuePosition)).toEqual([undefined, undefined, undefined]);
    expect(new Set(tasks.map((task) => task.repository!.branch)).size).toBe(3);
    for (const task of tasks) expect(task.repository!.branch).toBe(`claude/${task.taskId}`);
    await Promise.all(tasks.map((task) => storedResult(task.taskId)));
  });

  it("counts a waiting task's queue timeout from when its branch is free, not from its acceptance", async () => {
    const first = await submitted({ task: "Slow\n@stub delay=600", repo: { url: REPO }, branch: "feature/q" });
    const response = await postWithEnv("/tasks", { task: "Patient", repo: { url: REPO }, branch: "feature/q" }, { QUEUE_TIMEOUT_MS: "1000" });
    const second = (await response.json()) as TaskStatusDocument;
    expect(second.queuePosition).toBe(1);
    expect((await storedResult(first.taskId)).status).toBe("succeeded");
    const result = await storedResult(second.taskId);
    expect(result.status).toBe("succeeded");
    // It waited for the branch longer than its queue timeout, and still ran.
    expect(Date.parse(result.startedAt!) - Date.parse(second.createdAt)).toBeGreaterThan(1000);
  });

  it("keeps a cancel that comes while the task asks its branch's queue, even when the queue then fails", async () => {
    // A queue that holds every position call until the test lets it fail.
    const pending: ((error: Error) => void)[] = [];
    const queue = {
      enqueue: async () => ({ position: 1 }),
      position: () => new Promise<number>((_resolve, reject) => pending.push(reject)),
      release: async () => null,
    };
    const BRANCH_QUEUES = { idFromName: () => ({}), get: () => queue } as unknown as WorkerEnv["BRANCH_QUEUES"];
    const taskId = crypto.randomUUID();
    const submission: TaskSubmission = {
      taskId,
      createdAt: Date.now(),
      request: { task: "Waits its turn", timeoutMs: 60_000, permissionMode: "bypassPermissions" } satisfies TaskRequest,
      graceMs: 300,
      queueTimeoutMs: 600_000,
      maxOutputBytes: 65_536,
      credentialMode: "proxy",
      repository: {
        repo: { url: REPO, host: "github.com", path: "/acme/widgets", github: { owner: "acme", repo: "widgets" }, ref: null },
        branch: "feature/race",
        push: false,
        pullRequest: null,
        continuedFrom: null,
        defaultBranch: null,
      },
    };
    await runInDurableObject(testEnv.TASKS.get(testEnv.TASKS.newUniqueId()), async (_instance, state) => {
      const task = new Task(state, { ...testEnv, BRANCH_QUEUES });
      expect(await task.start(submission)).toMatchObject({ status: "queued", queuePosition: 1 });
      await eventually(async () => (pending.length > 0 ? true : undefined));
      expect((await task.cancel())?.outcome).toBe("cancelled");
      for (const reject of pending) reject(new Error("BranchQueue unreachable"));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const record = state.storage.kv.get<{ status: string }>("record");
      // Cancelled, or already stored and cleared: never queued again.
      expect(record?.status ?? "cleared").toMatch(/^(cancelled|cleared)$/);
    });
    expect((await storedResult(taskId)).status).toBe("cancelled");
  });

  it("refuses a task with 409 branch_queue_full when its branch has as many tasks waiting as it takes, and keeps nothing of it", async () => {
    const branch = "feature/full";
    const queue = testEnv.BRANCH_QUEUES.get(testEnv.BRANCH_QUEUES.idFromName(branchQueueName({ host: "github.com", path: "/acme/widgets", github: { owner: "acme", repo: "widgets" } }, branch)));
    const entries = () => runInDurableObject(queue, async (_instance, state) => state.storage.sql.exec<{ task_id: string }>("SELECT task_id FROM entries ORDER BY seq").toArray().map((row) => row.task_id));
    // A branch with a head that holds it for the next hour and the rest waiting.
    await runInDurableObject(queue, async (_instance, state) => {
      for (let index = 0; index < MAX_QUEUED_PER_BRANCH; index++) state.storage.sql.exec("INSERT INTO entries (task_id) VALUES (?)", `waiting-${index}`);
      state.storage.sql.exec("INSERT INTO head (id, since, until) VALUES (1, ?, ?)", Date.now(), Date.now() + 3_600_000);
    });
    const before = await entries();
    const newest = (await getJson<TaskListDocument>("/tasks?limit=1")).body.tasks[0]?.taskId;

    const response = await submit({ task: "One too many", repo: { url: REPO }, branch });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({
      error: `The branch already has ${MAX_QUEUED_PER_BRANCH} tasks waiting; wait for some to finish or name another branch`,
      code: "branch_queue_full",
    });
    expect(await entries()).toEqual(before);
    expect((await getJson<TaskListDocument>("/tasks?limit=1")).body.tasks[0]?.taskId).toBe(newest);
    expect(sandboxEvents.starts).toEqual([]);
    expect(sandboxEvents.steps).toEqual([]);
    await runInDurableObject(queue, async (_instance, state) => {
      state.storage.sql.exec("DELETE FROM entries");
      state.storage.sql.exec("DELETE FROM head");
    });
  });

  it("lets the next task run when the one ahead is cancelled", async () => {
    const first = await submitted({ task: "Stuck\n@stub hang", repo: { url: REPO }, branch: "feature/z" });
    const second = await submitted({ task: "Next", repo: { url: REPO }, branch: "feature/z" });
    await statusBecomes(first.taskId, "running");
    expect((await cancel(first.taskId)).status).toBe(202);
    expect((await storedResult(second.taskId)).status).toBe("succeeded");
  });
});

describe("a repository task without a container", () => {
  it("waits queued, asks again, and runs once one is free, like any task", async () => {
    sandboxScript.startErrors = [NO_INSTANCE, NO_INSTANCE];
    const { taskId } = await submitted({ task: "Patient", repo: { url: REPO }, branch: "feature/capacity" });
    const result = await storedResult(taskId, 15_000);
    expect(result.status).toBe("succeeded");
    expect(sandboxEvents.steps.map((step) => step.step)).toEqual(["checkout", "stop", "finish", "pack"]);
    const statuses = (await eventsOf(taskId)).filter((event) => event.type === "status").map((event) => event.data);
    expect(statuses).toEqual([{ status: "queued" }, { status: "running" }]);
  });

  it("fails sandbox_unavailable after its queue timeout, counted from its turn on the branch", async () => {
    const first = await submitted({ task: "Ahead\n@stub hang", repo: { url: REPO }, branch: "feature/none" });
    const second = await postWithEnv("/tasks", { task: "Behind", repo: { url: REPO }, branch: "feature/none" }, { QUEUE_TIMEOUT_MS: "1000" });
    const behind = (await second.json()) as TaskStatusDocument;
    expect(behind.queuePosition).toBe(1);
    await statusBecomes(first.taskId, "running");
    // Longer than its queue timeout, waiting behind the first: that does not count.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await getJson<TaskStatusDocument>(`/tasks/${behind.taskId}`)).body.status).toBe("queued");
    noContainers();
    expect((await cancel(first.taskId)).status).toBe(202);
    const turn = Date.parse((await storedResult(first.taskId)).timestamp);
    const result = await storedResult(behind.taskId);
    expect(result).toMatchObject({ status: "failed", startedAt: null, error: { code: "sandbox_unavailable", message: "No sandbox became available within 1000 ms" } });
    expect(Date.parse(result.timestamp) - turn).toBeGreaterThanOrEqual(1000);
    expect(sandboxEvents.steps.filter((step) => step.sandboxId === sandboxIdOf(behind.taskId))).toEqual([]);
  });
});

describe("what a deployment allows", () => {
  const post = (body: Record<string, unknown>, overrides: Parameters<typeof postWithEnv>[2]) => postWithEnv("/tasks", body, overrides);

  it.each([
    ["pushing without a GitHub credential", { task: "t", repo: { url: REPO }, push: true }, { GITHUB_TOKEN: undefined }, 400, "github_not_configured"],
    ["pushing to a repository githubRepos leaves out", { task: "t", repo: { url: REPO }, push: true }, { GITHUB_REPOS: "acme/other" }, 400, "repo_not_granted"],
    ["pushing to a host that is not GitHub", { task: "t", repo: { url: "https://git.example.org/team/app" }, push: true }, { ALLOWED_HOSTS: "git.example.org" }, 400, "push_not_supported"],
    ["a repository on a host the sandbox may not reach", { task: "t", repo: { url: "https://gitlab.com/a/b" } }, {}, 400, "repo_host_not_allowed"],
    ["a repository on the Anthropic API's host", { task: "t", repo: { url: "https://api.anthropic.com/v1/messages" } }, {}, 400, "repo_host_has_door"],
    ["a URL with credentials", { task: "t", repo: { url: "https://user:pass@github.com/acme/widgets" } }, {}, 400, "invalid_repo_url"],
    ["a branch that looks like an option", { task: "t", repo: { url: REPO }, branch: "--force" }, {}, 400, "invalid_branch"],
    ["a ref with a shell substitution", { task: "t", repo: { url: REPO, ref: "$(id)" } }, {}, 400, "invalid_ref"],
    ["pushing to main", { task: "t", repo: { url: REPO }, branch: "main", push: true }, {}, 400, "protected_branch"],
    ["push without a repository", { task: "t", push: true }, {}, 400, "repository_required"],
    ["continueFrom with a repo", { task: "t", repo: { url: REPO }, continueFrom: "3f1c1c3e-5a7b-4c8d-9e0f-112233445566" }, {}, 400, "follow_up_fields"],
  ])("refuses %s", async (_name, body, overrides, status, code) => {
    const response = await post(body, overrides);
    expect(response.status).toBe(status);
    expect(((await response.json()) as { code: string }).code).toBe(code);
    expect(sandboxEvents.starts).toEqual([]);
  });
});

describe("GET /tasks/:taskId/artifacts/:name", () => {
  it("is 404 artifact_not_found for another name, and for a task without a repository", async () => {
    const plain = await submitted({ task: "no repo" });
    await storedResult(plain.taskId);
    for (const path of [`/tasks/${plain.taskId}/artifacts/changes.patch`, `/tasks/${plain.taskId}/artifacts/result.json`, `/tasks/${plain.taskId}/artifacts/..%2Fresult.json`]) {
      const { status, body } = await getJson<{ code: string }>(path);
      expect({ path, status, code: body.code }).toEqual({ path, status: 404, code: "artifact_not_found" });
    }
  });

  it("is 409 task_not_finished while the task runs", async () => {
    const { taskId } = await submitted({ task: "slow\n@stub hang", repo: { url: REPO } });
    await statusBecomes(taskId, "running");
    const { status, body } = await getJson<{ code: string }>(`/tasks/${taskId}/artifacts/changes.patch`);
    expect({ status, code: body.code }).toEqual({ status: 409, code: "task_not_finished" });
    await cancel(taskId);
    await storedResult(taskId);
  });
});
