/**
 * The repository fields of a task request (worker/src/repositories/request.ts)
 * and git's ref-name rules (ref-format.ts): what a caller may ask for passes
 * in its canonical form, every hostile shape is refused with its own code.
 */
import { newTaskId } from "../../worker/src/tasks/task-id.js";
import { describe, expect, it } from "vitest";
import { isValidBranchName, isValidRefName } from "../../worker/src/repositories/ref-format.js";
import {
  defaultBranch,
  isHostAllowed,
  parseRepositoryRequest,
  REPOSITORY_REQUEST_ERRORS,
  RepositoryRequestError,
  type RepositoryRequestErrorCode,
  resolveFollowUp,
} from "../../worker/src/repositories/request.js";
import { githubWebHost } from "../../worker/src/repositories/github.js";
import { readSettings } from "../../worker/src/settings.js";
import { parseTaskRequest } from "../../worker/src/http/validation.js";
import { ApiError } from "../../worker/src/http/errors.js";

const TASK_ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const EARLIER_TASK_ID = "0199a1b2-0000-7000-8000-000000000001";
const ALLOWED_HOSTS = ["api.anthropic.com", "github.com", "*.example.org"];
const context = { taskId: TASK_ID, allowedHosts: ALLOWED_HOSTS, githubHost: "github.com" };

const parse = (body: Record<string, unknown>) => parseRepositoryRequest(body, context);

/** The code `parse` throws for `body`, or null when it accepts it. */
function refusal(body: Record<string, unknown>): RepositoryRequestErrorCode | null {
  try {
    parse(body);
    return null;
  } catch (error) {
    if (error instanceof RepositoryRequestError) return error.code;
    throw error;
  }
}

describe("isValidRefName (git check-ref-format)", () => {
  it.each([
    ["refs/heads/main", true],
    ["refs/heads/claude/0199a1b2", true],
    ["refs/tags/v1.2.3", true],
    ["a./b", true],
    ["a/@", true],
    ["refs/a@b", true],
    ["refs/heads/naïve", true],
    ["main", false],
    ["refs/heads/a..b", false],
    ["refs/heads/a b", false],
    ["refs/heads/a~1", false],
    ["refs/heads/a^", false],
    ["refs/heads/a:b", false],
    ["refs/heads/a?", false],
    ["refs/heads/a*", false],
    ["refs/heads/a[", false],
    ["refs/heads/a\\b", false],
    ["refs/heads/a\tb", false],
    ["refs/heads/a\u007fb", false],
    ["refs/heads/a\u0000b", false],
    ["/refs/heads/a", false],
    ["refs/heads/a/", false],
    ["refs//heads", false],
    ["refs/heads/.hidden", false],
    ["refs/heads/a.", false],
    ["refs/heads/a.lock", false],
    ["refs/heads/a.lock/b", false],
    ["refs/heads/a@{1}", false],
    ["@", false],
    ["", false],
  ])("%j → %s", (name, valid) => {
    expect(isValidRefName(name)).toBe(valid);
  });

  it.each([
    ["main", true],
    ["HEAD", true],
    ["v1.0", true],
    ["@", false],
    ["a.lock", false],
  ])("one-level %j → %s", (name, valid) => {
    expect(isValidRefName(name, { allowOneLevel: true })).toBe(valid);
  });

  it.each([
    ["feature/x", true],
    ["@", true],
    ["HEAD", false],
    ["-x", false],
    ["a..b", false],
    ["a/.b", false],
  ])("branch %j → %s", (name, valid) => {
    expect(isValidBranchName(name)).toBe(valid);
  });
});

describe("isHostAllowed (as the container's egress filter matches)", () => {
  it.each([
    ["github.com", true],
    ["api.github.com", false],
    ["a.example.org", true],
    ["a.b.example.org", true],
    ["example.org", false],
    ["evilexample.org", false],
    ["github.com.evil.net", false],
  ])("%s → %s", (host, allowed) => {
    expect(isHostAllowed(host, ALLOWED_HOSTS)).toBe(allowed);
  });
});

describe("parseRepositoryRequest: accepted", () => {
  it("returns null when the body names no repository and no earlier task", () => {
    expect(parse({ task: "x" })).toBeNull();
    expect(parse({ push: false, pullRequest: false })).toBeNull();
    expect(parse({ repo: null })).toBeNull();
  });

  it("fills the default branch claude/<first 8 of the task id> and no push", () => {
    expect(parse({ repo: { url: "https://github.com/octo/hello.git" } })).toEqual({
      repo: { url: "https://github.com/octo/hello.git", host: "github.com", path: "/octo/hello", github: { owner: "octo", repo: "hello" }, ref: null },
      branch: `claude/${TASK_ID}`,
      push: false,
      pullRequest: null,
      continueFrom: null,
    });
    expect(defaultBranch("ABCDEF12-0000-7000-8000-000000000000")).toBe("claude/abcdef12-0000-7000-8000-000000000000");
  });

  it("names two tasks accepted in the same millisecond after different branches", () => {
    const now = Date.now();
    const ids = [newTaskId(now), newTaskId(now), newTaskId(now)];
    expect(ids.map((id) => id.slice(0, 8))).toEqual([ids[0]!.slice(0, 8), ids[0]!.slice(0, 8), ids[0]!.slice(0, 8)]);
    expect(new Set(ids.map(defaultBranch)).size).toBe(3);
  });

  it.each([
    ["a branch ref", { url: "https://github.com/octo/hello", ref: "develop" }, "develop"],
    ["a full ref", { url: "https://github.com/octo/hello", ref: "refs/pull/12/head" }, "refs/pull/12/head"],
    ["a tag", { url: "https://github.com/octo/hello", ref: "v1.2.3+build.4" }, "v1.2.3+build.4"],
    ["a commit id", { url: "https://github.com/octo/hello", ref: "0123456789abcdef0123456789abcdef01234567" }, "0123456789abcdef0123456789abcdef01234567"],
  ])("accepts %s", (_name, repo, ref) => {
    expect(parse({ repo })?.repo?.ref).toBe(ref);
  });

  it.each([
    ["an upper-case host", "https://GitHub.com/Octo/Hello.git", "https://github.com/Octo/Hello.git", "/Octo/Hello"],
    ["a .github repository", "https://github.com/octo/.github", "https://github.com/octo/.github", "/octo/.github"],
    ["a nested path on another allowed host", "https://git.example.org/group/sub/project.git", "https://git.example.org/group/sub/project.git", "/group/sub/project"],
  ])("accepts %s", (_name, url, canonical, path) => {
    const repo = parse({ repo: { url } })?.repo;
    expect(repo?.url).toBe(canonical);
    expect(repo?.path).toBe(path);
  });

  it("takes push, pullRequest with title and body, and a branch", () => {
    const request = parse({
      repo: { url: "https://github.com/octo/hello" },
      branch: "fix/typo-42",
      pullRequest: { title: "  Fix the typo  ", body: "Line one\nLine two\twith a tab" },
    });
    expect(request).toMatchObject({
      branch: "fix/typo-42",
      push: true,
      pullRequest: { title: "Fix the typo", body: "Line one\nLine two\twith a tab" },
    });
    expect(parse({ repo: { url: "https://github.com/octo/hello" }, pullRequest: true, push: true })?.pullRequest).toEqual({ title: null, body: null });
  });

  it("takes a follow-up with push, and resolves it against the earlier task", () => {
    const request = parse({ continueFrom: EARLIER_TASK_ID.toUpperCase(), push: true })!;
    expect(request).toEqual({ repo: null, branch: null, push: true, pullRequest: null, continueFrom: EARLIER_TASK_ID });
    const earlier = { ...parse({ repo: { url: "https://github.com/octo/hello" } })!, defaultBranch: "main" };
    expect(resolveFollowUp(request, earlier)).toMatchObject({ repo: earlier.repo, branch: `claude/${TASK_ID}`, push: true, continueFrom: EARLIER_TASK_ID });
    expect(resolveFollowUp(parse({ continueFrom: EARLIER_TASK_ID })!, { repo: null, branch: null, defaultBranch: null })).toMatchObject({ repo: null, push: false });
  });
});

describe("the deployment's GitHub host", () => {
  const GHES = "https://ghe.example.org/api/v3";
  const settingsFor = (githubApiUrl: string) => readSettings({ ALLOWED_HOSTS: ALLOWED_HOSTS.join(","), GITHUB_API_URL: githubApiUrl });
  const parseOn = (githubApiUrl: string, url: string) => parseRepositoryRequest({ repo: { url } }, { taskId: TASK_ID, ...settingsFor(githubApiUrl) })!.repo!;

  it.each([
    ["https://api.github.com", "github.com"],
    ["https://api.github.com/", "github.com"],
    ["https://api.octocorp.ghe.com", "octocorp.ghe.com"],
    ["https://ghe.example.org/api/v3", "ghe.example.org"],
    ["https://GHE.Example.org/api/v3/", "ghe.example.org"],
    ["http://127.0.0.1:8787/github", "github.com"],
  ])("the API %s serves the repositories of %s", (apiUrl, host) => {
    expect(githubWebHost(apiUrl)).toBe(host);
  });

  it("is github.com without a GitHub API setting", () => {
    expect(readSettings({}).githubHost).toBe("github.com");
    expect(settingsFor(GHES).githubHost).toBe("ghe.example.org");
  });

  it("reads a repository on GitHub Enterprise Server as owner/repo once its API is configured", () => {
    expect(parseOn(GHES, "https://ghe.example.org/Octo/Hello.git")).toEqual({
      url: "https://ghe.example.org/Octo/Hello.git",
      host: "ghe.example.org",
      path: "/Octo/Hello",
      github: { owner: "Octo", repo: "Hello" },
      ref: null,
    });
    // Without it, the same host is any git host: no owner/repo, so no push.
    expect(parseOn("https://api.github.com", "https://ghe.example.org/Octo/Hello.git").github).toBeNull();
  });

  it("is what a task request's repository is read against", () => {
    const body = JSON.stringify({ task: "t", repo: { url: "https://ghe.example.org/octo/hello" }, pullRequest: true });
    const request = parseTaskRequest(body, { ...settingsFor(GHES), taskId: TASK_ID });
    expect(request.repository).toMatchObject({ repo: { host: "ghe.example.org", github: { owner: "octo", repo: "hello" } }, push: true });
  });

  it("holds a repository on the Enterprise host to GitHub's owner/repo shape", () => {
    expect(() => parseOn(GHES, "https://ghe.example.org/group/sub/project")).toThrow(REPOSITORY_REQUEST_ERRORS.invalid_repo_url.message);
  });

  it("no longer reads a github.com repository as a GitHub one when the API is GitHub Enterprise Server's", () => {
    const repo = parseOn(GHES, "https://github.com/octo/hello");
    expect(repo).toMatchObject({ host: "github.com", path: "/octo/hello", github: null });
  });
});

describe("parseRepositoryRequest: refused by attack", () => {
  const url = "https://github.com/octo/hello";
  it.each<[string, Record<string, unknown>, RepositoryRequestErrorCode]>([
    // The shape of repo.
    ["repo as a string", { repo: url }, "invalid_repo"],
    ["repo as an array", { repo: [url] }, "invalid_repo"],
    ["unknown repo fields", { repo: { url, depth: 0 } }, "invalid_repo"],
    ["no url", { repo: {} }, "invalid_repo_url"],
    // URL schemes and parts.
    ["http://", { repo: { url: "http://github.com/octo/hello" } }, "invalid_repo_url"],
    ["ssh", { repo: { url: "ssh://git@github.com/octo/hello" } }, "invalid_repo_url"],
    ["scp-like", { repo: { url: "git@github.com:octo/hello.git" } }, "invalid_repo_url"],
    ["file://", { repo: { url: "file:///etc/passwd" } }, "invalid_repo_url"],
    ["ext::", { repo: { url: "ext::sh -c touch% /tmp/pwned" } }, "invalid_repo_url"],
    ["upper-case scheme", { repo: { url: "HTTPS://github.com/octo/hello" } }, "invalid_repo_url"],
    ["credentials", { repo: { url: "https://x-access-token:ghp_abc@github.com/octo/hello" } }, "invalid_repo_url"],
    ["a user name", { repo: { url: "https://octo@github.com/octo/hello" } }, "invalid_repo_url"],
    ["a port", { repo: { url: "https://github.com:8443/octo/hello" } }, "invalid_repo_url"],
    ["the default port", { repo: { url: "https://github.com:443/octo/hello" } }, "invalid_repo_url"],
    ["a query", { repo: { url: "https://github.com/octo/hello?service=git-receive-pack" } }, "invalid_repo_url"],
    ["an empty query", { repo: { url: "https://github.com/octo/hello?" } }, "invalid_repo_url"],
    ["a fragment", { repo: { url: "https://github.com/octo/hello#main" } }, "invalid_repo_url"],
    ["percent escapes", { repo: { url: "https://github.com/octo/%2e%2e/hello" } }, "invalid_repo_url"],
    ["dot segments", { repo: { url: "https://github.com/evil/../octo/hello" } }, "invalid_repo_url"],
    ["a backslash", { repo: { url: "https://github.com\\@evil.net/octo/hello" } }, "invalid_repo_url"],
    ["whitespace", { repo: { url: "https://github.com/octo/hello " } }, "invalid_repo_url"],
    ["a newline", { repo: { url: "https://github.com/octo/hello\n" } }, "invalid_repo_url"],
    ["non-ASCII", { repo: { url: "https://github.com/octo/héllo" } }, "invalid_repo_url"],
    ["a trailing slash", { repo: { url: "https://github.com/octo/hello/" } }, "invalid_repo_url"],
    ["a GitHub path of three segments", { repo: { url: "https://github.com/octo/hello/info/refs" } }, "invalid_repo_url"],
    ["a GitHub path of one segment", { repo: { url: "https://github.com/octo" } }, "invalid_repo_url"],
    ["an option-like owner", { repo: { url: "https://github.com/-octo/hello" } }, "invalid_repo_url"],
    ["an option-like repository", { repo: { url: "https://github.com/octo/-hello" } }, "invalid_repo_url"],
    ["a repository named ..", { repo: { url: "https://github.com/octo/.." } }, "invalid_repo_url"],
    ["a shell-like path", { repo: { url: "https://github.com/octo/$(id)" } }, "invalid_repo_url"],
    ["a host with a trailing dot", { repo: { url: "https://github.com./octo/hello" } }, "invalid_repo_url"],
    ["an IP address literal", { repo: { url: "https://[::1]/octo/hello" } }, "invalid_repo_url"],
    ["a too-long URL", { repo: { url: `https://github.com/octo/${"a".repeat(600)}` } }, "invalid_repo_url"],
    ["a URL that is not a string", { repo: { url: 42 } }, "invalid_repo_url"],
    // Hosts.
    ["a host not allowed", { repo: { url: "https://gitlab.com/octo/hello" } }, "repo_host_not_allowed"],
    ["a look-alike host", { repo: { url: "https://github.com.evil.net/octo/hello" } }, "repo_host_not_allowed"],
    ["the domain of a *. pattern", { repo: { url: "https://example.org/octo/hello" } }, "repo_host_not_allowed"],
    ["the Anthropic API's host, which has a door of its own", { repo: { url: "https://api.anthropic.com/octo/hello" } }, "repo_host_has_door"],
    ["the Anthropic API's host in capitals", { repo: { url: "https://API.ANTHROPIC.COM/octo/hello.git" } }, "repo_host_has_door"],
    // Refs.
    ["an option-like ref", { repo: { url, ref: "--upload-pack=touch /tmp/pwned" } }, "invalid_ref"],
    ["a ref that is a short option", { repo: { url, ref: "-o" } }, "invalid_ref"],
    ["a forced refspec", { repo: { url, ref: "+refs/heads/main:refs/heads/main" } }, "invalid_ref"],
    ["a refspec", { repo: { url, ref: "main:main" } }, "invalid_ref"],
    ["a negative refspec", { repo: { url, ref: "^main" } }, "invalid_ref"],
    ["a shell-like ref", { repo: { url, ref: "$(touch /tmp/pwned)" } }, "invalid_ref"],
    ["a ref with a semicolon", { repo: { url, ref: "main;id" } }, "invalid_ref"],
    ["a ref with ..", { repo: { url, ref: "main..evil" } }, "invalid_ref"],
    ["a reflog ref", { repo: { url, ref: "main@{1}" } }, "invalid_ref"],
    ["the @ alias", { repo: { url, ref: "@" } }, "invalid_ref"],
    ["a .lock ref", { repo: { url, ref: "main.lock" } }, "invalid_ref"],
    ["a ref with a space", { repo: { url, ref: "my branch" } }, "invalid_ref"],
    ["a ref with a newline", { repo: { url, ref: "main\n--exec" } }, "invalid_ref"],
    ["an empty ref", { repo: { url, ref: "" } }, "invalid_ref"],
    ["a too-long ref", { repo: { url, ref: "a".repeat(257) } }, "invalid_ref"],
    ["a ref that is not a string", { repo: { url, ref: 1 } }, "invalid_ref"],
    // Branches.
    ["an option-like branch", { repo: { url }, branch: "--force" }, "invalid_branch"],
    ["a branch that is a short option", { repo: { url }, branch: "-f" }, "invalid_branch"],
    ["a forced refspec branch", { repo: { url }, branch: "+main" }, "invalid_branch"],
    ["a refspec branch", { repo: { url }, branch: "x:refs/heads/main" }, "invalid_branch"],
    ["a full ref name as a branch", { repo: { url }, branch: "refs/heads/main" }, "invalid_branch"],
    ["HEAD", { repo: { url }, branch: "HEAD" }, "invalid_branch"],
    ["a branch with a leading slash", { repo: { url }, branch: "/x" }, "invalid_branch"],
    ["a branch with a trailing slash", { repo: { url }, branch: "x/" }, "invalid_branch"],
    ["a branch with //", { repo: { url }, branch: "a//b" }, "invalid_branch"],
    ["a branch with a trailing dot", { repo: { url }, branch: "x." }, "invalid_branch"],
    ["a hidden component", { repo: { url }, branch: "a/.b" }, "invalid_branch"],
    ["a .lock branch", { repo: { url }, branch: "x.lock" }, "invalid_branch"],
    ["a branch with @{", { repo: { url }, branch: "a@{-1}" }, "invalid_branch"],
    ["a shell-like branch", { repo: { url }, branch: "`id`" }, "invalid_branch"],
    ["a branch with a dollar", { repo: { url }, branch: "a$IFS" }, "invalid_branch"],
    ["a branch with a tilde", { repo: { url }, branch: "a~1" }, "invalid_branch"],
    ["a branch with a caret", { repo: { url }, branch: "a^" }, "invalid_branch"],
    ["a branch with a glob", { repo: { url }, branch: "a*" }, "invalid_branch"],
    ["a branch with a control character", { repo: { url }, branch: "a\u001bb" }, "invalid_branch"],
    ["a right-to-left override", { repo: { url }, branch: "niam\u202e" }, "invalid_branch"],
    ["a too-long branch", { repo: { url }, branch: "a".repeat(201) }, "invalid_branch"],
    ["an empty branch", { repo: { url }, branch: "" }, "invalid_branch"],
    // Protected branches.
    ["pushing main", { repo: { url }, branch: "main", push: true }, "protected_branch"],
    ["pushing Master", { repo: { url }, branch: "Master", push: true }, "protected_branch"],
    ["pushing the ref checked out", { repo: { url, ref: "develop" }, branch: "develop", push: true }, "protected_branch"],
    ["pushing the full ref checked out", { repo: { url, ref: "refs/heads/develop" }, branch: "develop", pullRequest: true }, "protected_branch"],
    // push and pullRequest.
    ["push as a string", { repo: { url }, push: "true" }, "invalid_push"],
    ["pullRequest as a string", { repo: { url }, pullRequest: "yes" }, "invalid_pull_request"],
    ["unknown pullRequest fields", { repo: { url }, pullRequest: { title: "t", base: "main" } }, "invalid_pull_request"],
    ["a blank title", { repo: { url }, pullRequest: { title: "  " } }, "invalid_pull_request"],
    ["a title with a newline", { repo: { url }, pullRequest: { title: "a\nb" } }, "invalid_pull_request"],
    ["a too-long title", { repo: { url }, pullRequest: { title: "a".repeat(257) } }, "invalid_pull_request"],
    ["a body with NUL", { repo: { url }, pullRequest: { body: "a\u0000b" } }, "invalid_pull_request"],
    ["a body with an escape", { repo: { url }, pullRequest: { body: "\u001b[31m" } }, "invalid_pull_request"],
    ["a too-long body", { repo: { url }, pullRequest: { body: "a".repeat(65_537) } }, "invalid_pull_request"],
    ["pullRequest with push false", { repo: { url }, push: false, pullRequest: true }, "pull_request_needs_push"],
    ["push without a repository", { push: true }, "repository_required"],
    ["pullRequest without a repository", { pullRequest: true }, "repository_required"],
    ["a branch without a repository", { branch: "x" }, "repository_required"],
    // Follow-ups.
    ["continueFrom not a UUID", { continueFrom: "../other-task" }, "invalid_continue_from"],
    ["continueFrom as a number", { continueFrom: 1 }, "invalid_continue_from"],
    ["continueFrom of the task itself", { continueFrom: TASK_ID }, "invalid_continue_from"],
    ["continueFrom with a repository", { continueFrom: EARLIER_TASK_ID, repo: { url } }, "follow_up_fields"],
    ["continueFrom with a branch", { continueFrom: EARLIER_TASK_ID, branch: "x" }, "follow_up_fields"],
  ])("%s → %s", (_name, body, code) => {
    expect(refusal(body)).toBe(code);
  });

  it("refuses a title holding a lone surrogate (not valid Unicode)", () => {
    // Built here, not in the table: the test runner cannot carry the string in a test's name or arguments.
    expect(refusal({ repo: { url }, pullRequest: { title: `a${String.fromCharCode(0xd800)}` } })).toBe("invalid_pull_request");
  });

  it("answers with a fixed message and a 400, never echoing the value", () => {
    const secret = "ghp_secretvalue";
    try {
      parse({ repo: { url: `https://x:${secret}@github.com/octo/hello` } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RepositoryRequestError);
      const { code, message } = error as RepositoryRequestError;
      expect({ code, message }).toEqual({ code: "invalid_repo_url", message: REPOSITORY_REQUEST_ERRORS.invalid_repo_url.message });
      expect(message).not.toContain(secret);
      // What the API answers for it.
      const answer = new ApiError(code);
      expect(answer.status).toBe(400);
      expect(answer.toBody()).toEqual({ error: REPOSITORY_REQUEST_ERRORS.invalid_repo_url.message, code: "invalid_repo_url" });
      expect(JSON.stringify(answer.toBody())).not.toContain(secret);
    }
  });

  it("refuses a follow-up that pushes when the earlier task has no repository, or pushes a protected branch", () => {
    const followUp = parse({ continueFrom: EARLIER_TASK_ID, pullRequest: true })!;
    expect(() => resolveFollowUp(followUp, { repo: null, branch: null, defaultBranch: null })).toThrow(REPOSITORY_REQUEST_ERRORS.follow_up_without_repository.message);
    const earlier = { ...parse({ repo: { url: "https://github.com/octo/hello" }, branch: "main" })!, defaultBranch: null };
    expect(() => resolveFollowUp(followUp, earlier)).toThrow(REPOSITORY_REQUEST_ERRORS.protected_branch.message);
  });

  it.each([
    ["the default branch", "develop", "develop"],
    ["the default branch in another case", "Develop", "develop"],
  ])("refuses a follow-up that pushes %s the earlier task read: branch_is_default", (_name, branch, defaultBranch) => {
    const earlier = { ...parse({ repo: { url: "https://github.com/octo/hello" }, branch })!, defaultBranch };
    for (const body of [{ push: true }, { pullRequest: true }]) {
      expect(() => resolveFollowUp(parse({ continueFrom: EARLIER_TASK_ID, ...body })!, earlier)).toThrow(REPOSITORY_REQUEST_ERRORS.branch_is_default.message);
    }
    // Working on it without a push is a follow-up like any other, and so is a push when the default branch is not known.
    expect(resolveFollowUp(parse({ continueFrom: EARLIER_TASK_ID })!, earlier)).toMatchObject({ branch, push: false });
    expect(resolveFollowUp(parse({ continueFrom: EARLIER_TASK_ID, push: true })!, { ...earlier, defaultBranch: null })).toMatchObject({ branch, push: true });
  });

  it("has a 400 status and a distinct message for every code", () => {
    const entries = Object.values(REPOSITORY_REQUEST_ERRORS);
    expect(entries.every((entry) => entry.status === 400)).toBe(true);
    expect(new Set(entries.map((entry) => entry.message)).size).toBe(entries.length);
  });
});
