/**
 * A deployment on GitHub Enterprise Server (GITHUB_API_URL set to its API),
 * through the real Worker: a task may push a repository on that server's host,
 * whose git door is granted as a GitHub repository; a github.com repository is
 * then any git host's, which a task may read but not push.
 */
import { describe, expect, it } from "vitest";
import { captureLogs, freshState, postWithEnv, sandboxIdOf, storedResult, testEnv } from "./helpers.js";
import { sandboxEvents } from "./harness.js";

freshState();
captureLogs();

const GHES = { GITHUB_API_URL: "https://ghe.example.org/api/v3", ALLOWED_HOSTS: `${testEnv.ALLOWED_HOSTS},ghe.example.org` };

describe("with GITHUB_API_URL pointing at GitHub Enterprise Server", () => {
  it("accepts a push to a repository on its host, and grants that repository's door as a GitHub one", async () => {
    const response = await postWithEnv("/tasks", { task: "Fix it", repo: { url: "https://ghe.example.org/Octo/Hello.git" }, push: true }, GHES);
    expect(response.status).toBe(202);
    const { taskId, repository } = (await response.json()) as { taskId: string; repository: { push: boolean; url: string } };
    expect(repository).toMatchObject({ url: "https://ghe.example.org/Octo/Hello.git", push: true });
    await storedResult(taskId);
    expect(sandboxEvents.grants.map(({ grant }) => grant)).toContainEqual({
      host: "ghe.example.org",
      repositoryPath: "/Octo/Hello",
      pushBranch: `claude/${taskId}`,
      github: { owner: "Octo", repo: "Hello" },
    });
  });

  it("refuses a push to a github.com repository, which is no longer the deployment's GitHub", async () => {
    const response = await postWithEnv("/tasks", { task: "Fix it", repo: { url: "https://github.com/octo/hello" }, push: true }, GHES);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "push_not_supported" });
  });

  it("still reads a github.com repository, as any git host's", async () => {
    const response = await postWithEnv("/tasks", { task: "Read it", repo: { url: "https://github.com/octo/hello" } }, GHES);
    expect(response.status).toBe(202);
    const { taskId } = (await response.json()) as { taskId: string };
    await storedResult(taskId);
    expect(sandboxEvents.grants.map(({ grant }) => grant)).toContainEqual({
      host: "github.com",
      repositoryPath: "/octo/hello",
      pushBranch: null,
      github: null,
    });
  });

  it("lets a follow-up of such a task push too: its repository is read again as the deployment's GitHub", async () => {
    const first = await postWithEnv("/tasks", { task: "Start", repo: { url: "https://ghe.example.org/Octo/Hello" }, push: true }, GHES);
    const { taskId: firstId } = (await first.json()) as { taskId: string };
    await storedResult(firstId);
    const follow = await postWithEnv("/tasks", { task: "Go on", continueFrom: firstId, push: true }, GHES);
    expect(follow.status).toBe(202);
    const { taskId } = (await follow.json()) as { taskId: string };
    await storedResult(taskId);
    // The grant of its push step.
    const grants = sandboxEvents.grants.filter((entry) => entry.sandboxId === sandboxIdOf(taskId)).map((entry) => entry.grant as { pushBranch: string | null });
    expect(grants.find((grant) => grant.pushBranch !== null)).toEqual({
      host: "ghe.example.org",
      repositoryPath: "/Octo/Hello",
      pushBranch: `claude/${firstId}`,
      github: { owner: "Octo", repo: "Hello" },
    });
  });
});
