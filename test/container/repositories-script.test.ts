/**
 * The repository steps (worker/src/repositories/script.ts) run by a real bash
 * and a real git against a local bare repository: checkout of the default
 * branch, a branch, a tag and a commit; the finish with nothing changed, new,
 * changed and deleted files, a binary file and Claude Code's own commits;
 * the push of the finish's commit, and its refusal of the remote's default
 * branch (a remote whose default branch is develop); failed checkouts; and
 * hostile values that must never become options or shell syntax (a canary
 * file proves nothing ran).
 */
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  buildCheckoutScript,
  buildFinishScript,
  buildPushScript,
  COMMIT_AUTHOR,
  commitMessage,
  type ContainerScript,
  OUTPUT_FILES,
  parseDiffStat,
  parseStepResult,
  type RepositoryPaths,
  STEP_ENV,
} from "../../worker/src/repositories/script.js";
import { git, makeRemote, runStep, tempDir, writeFiles } from "./fixtures/git-repos.js";

const TASK_ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const BRANCH = "claude/0199a1b2";

/** Bytes that are not text: NUL, high bytes and a CR LF, as an image would have. */
const BINARY = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x00, 0x10, 0x80]);

let template: { path: string; cleanup: () => Promise<void> };
let templateRemote: string;
let root: string;
let cleanup: () => Promise<void>;
let remote: string;
let remoteUrl: string;
let paths: RepositoryPaths;
let canary: string;

beforeAll(async () => {
  template = await tempDir("repo-steps-template-");
  templateRemote = await makeRemote(template.path, { "src/app.txt": "one\ntwo\nthree\n", "old.txt": "to be deleted\n", "logo.bin": BINARY });
});

afterAll(async () => {
  await template.cleanup();
});

beforeEach(async () => {
  // Each test gets its own copy of the remote, since some push to it.
  ({ path: root, cleanup } = await tempDir("repo-steps-"));
  remote = join(root, "remote.git");
  await cp(templateRemote, remote, { recursive: true });
  remoteUrl = `file://${remote}`;
  paths = { workDir: join(root, "workspace", "repo"), outputDir: join(root, "workspace", ".claude-sandbox") };
  canary = join(root, "pwned");
});

afterEach(async () => {
  await cleanup();
});

async function checkout(input: { ref?: string | null; branch?: string; push?: boolean; url?: string } = {}) {
  const script = buildCheckoutScript(
    { url: input.url ?? remoteUrl, ref: input.ref ?? null, branch: input.branch ?? BRANCH, push: input.push ?? false },
    paths,
  );
  const outcome = await runStep(script, { CANARY: canary });
  return { outcome, result: parseStepResult(outcome.stdout, "checkout") };
}

async function finish(input: { message?: string; branch?: string } = {}) {
  const script = buildFinishScript({ branch: input.branch ?? BRANCH, message: input.message ?? commitMessage({ taskId: TASK_ID }) }, paths);
  const outcome = await runStep(script, { CANARY: canary });
  const result = parseStepResult(outcome.stdout, "finish");
  const output = (name: string) => readFile(join(paths.outputDir, name));
  return { outcome, result, output };
}

describe("checkout", () => {
  it("checks out the default branch shallowly on the work branch", async () => {
    const { outcome, result } = await checkout();
    expect(outcome.exitCode).toBe(0);
    const head = (await git(remote, "rev-parse", "main")).trim();
    expect(result).toEqual({ step: "checkout", ok: true, base: head, defaultBranch: "main" });
    expect(await git(paths.workDir, "symbolic-ref", "HEAD")).toBe(`refs/heads/${BRANCH}\n`);
    expect(await git(paths.workDir, "rev-list", "--count", "HEAD")).toBe("1\n");
    expect(await readFile(join(paths.workDir, "src/app.txt"), "utf8")).toBe("one\ntwo\nthree\n");
    expect(await git(paths.workDir, "status", "--porcelain")).toBe("");
    expect((await readFile(join(paths.outputDir, OUTPUT_FILES.baseCommit), "utf8")).trim()).toBe(head);
    expect(await git(paths.workDir, "remote", "get-url", "origin")).toBe(`${remoteUrl}\n`);
    expect(await git(paths.workDir, "config", "user.email")).toBe(`${COMMIT_AUTHOR.email}\n`);
  });

  it.each([
    ["a branch", "feature", "feature"],
    ["a full ref name", "refs/heads/feature", "feature"],
    ["a tag", "v1", "v1"],
  ])("checks out %s", async (_name, ref, revision) => {
    const { result } = await checkout({ ref });
    expect(result).toMatchObject({ ok: true, base: (await git(remote, "rev-parse", `${revision}^{commit}`)).trim() });
    expect(existsSync(join(paths.workDir, "feature.txt"))).toBe(ref.includes("feature"));
  });

  it("checks out a commit by its full id", async () => {
    const first = (await git(remote, "rev-parse", "v1^{commit}")).trim();
    const { result } = await checkout({ ref: first });
    expect(result).toMatchObject({ ok: true, base: first });
    expect(existsSync(join(paths.workDir, "src/app.txt"))).toBe(false);
  });

  it.each([
    ["an unknown branch", { ref: "no-such-branch" }, "ref_not_found"],
    ["an unknown commit", { ref: "0123456789abcdef0123456789abcdef01234567" }, "ref_not_found"],
    ["an unreachable URL", { url: "http://127.0.0.1:9/nothing.git" }, "repository_unreachable"],
    ["a URL with no repository", { url: "file:///nonexistent/repo.git" }, "repository_unreachable"],
    ["pushing to the default branch", { branch: "main", push: true }, "branch_is_default"],
  ])("fails with a code on %s", async (_name, input, code) => {
    const { outcome, result } = await checkout(input);
    expect(outcome.exitCode).not.toBe(0);
    expect(result).toEqual({ step: "checkout", ok: false, code });
  });

  it("refuses a working directory that is not empty", async () => {
    await writeFiles(paths.workDir, { "left-over.txt": "x" });
    expect((await checkout()).result).toEqual({ step: "checkout", ok: false, code: "workspace_not_empty" });
  });
});

describe("finish", () => {
  beforeEach(async () => {
    expect((await checkout()).result.ok).toBe(true);
  });

  it("reports nothing changed on a clean tree, with an empty patch and diff stat", async () => {
    const { result, output } = await finish();
    expect(result).toMatchObject({ ok: true, changed: false });
    expect((await output(OUTPUT_FILES.patch)).byteLength).toBe(0);
    expect(parseDiffStat((await output(OUTPUT_FILES.diffStat)).toString("utf8"))).toEqual({
      filesChanged: 0,
      insertions: 0,
      deletions: 0,
      files: [],
      truncated: false,
    });
    expect(await git(paths.workDir, "rev-list", "--count", "HEAD")).toBe("1\n");
  });

  it("commits new, changed, deleted and binary files with the fixed author and message, and writes a patch git applies", async () => {
    const newBinary = Uint8Array.from({ length: 300 }, (_, index) => (index * 37) % 256);
    await writeFiles(paths.workDir, { "src/app.txt": "one\n2\nthree\nfour\n", "docs/new file.md": "hello\nworld\n", "new.bin": newBinary });
    await rm(join(paths.workDir, "old.txt"));
    await writeFile(join(paths.workDir, "logo.bin"), Uint8Array.from([...BINARY, 0x00, 0x01]));
    const message = commitMessage({ taskId: TASK_ID, title: "#12 Fix the thing" });

    const { result, output } = await finish({ message });
    expect(result).toMatchObject({ step: "finish", ok: true, changed: true });
    // The finish never pushes: the push is a step of its own.
    expect(await git(remote, "for-each-ref", "--format=%(refname)", `refs/heads/${BRANCH}`)).toBe("");
    if (!result.ok || result.step !== "finish") throw new Error("finish failed");
    expect(result.head).toBe((await git(paths.workDir, "rev-parse", "HEAD")).trim());
    expect(await git(paths.workDir, "log", "-1", "--format=%an <%ae>|%cn <%ce>")).toBe(
      `${COMMIT_AUTHOR.name} <${COMMIT_AUTHOR.email}>|${COMMIT_AUTHOR.name} <${COMMIT_AUTHOR.email}>\n`,
    );
    expect(await git(paths.workDir, "log", "-1", "--format=%B")).toBe(`${message}\n\n`);
    expect(await git(paths.workDir, "symbolic-ref", "HEAD")).toBe(`refs/heads/${BRANCH}\n`);

    const stat = parseDiffStat((await output(OUTPUT_FILES.diffStat)).toString("utf8"));
    expect(stat).toEqual({
      filesChanged: 5,
      insertions: 4,
      deletions: 2,
      truncated: false,
      files: [
        { path: "docs/new file.md", insertions: 2, deletions: 0, binary: false },
        { path: "logo.bin", insertions: 0, deletions: 0, binary: true },
        { path: "new.bin", insertions: 0, deletions: 0, binary: true },
        { path: "old.txt", insertions: 0, deletions: 1, binary: false },
        { path: "src/app.txt", insertions: 2, deletions: 1, binary: false },
      ],
    });

    // The patch recreates the exact tree on a fresh copy of the base, binary files included.
    const copy = join(root, "copy");
    await git(root, "clone", "-q", remote, copy);
    await writeFile(join(root, "changes.patch"), await output(OUTPUT_FILES.patch));
    await git(copy, "apply", "--index", join(root, "changes.patch"));
    expect(new Uint8Array(await readFile(join(copy, "new.bin")))).toEqual(newBinary);
    expect(await git(copy, "write-tree")).toBe(await git(paths.workDir, "rev-parse", "HEAD^{tree}"));
  });

  it("keeps Claude Code's own commits and includes them in the patch", async () => {
    await writeFiles(paths.workDir, { "by-claude.txt": "committed by Claude\n" });
    await git(paths.workDir, "add", "by-claude.txt");
    await git(paths.workDir, "commit", "-q", "-m", "Claude's commit");
    await writeFiles(paths.workDir, { "uncommitted.txt": "left for the finish\n" });
    const { result, output } = await finish();
    expect(result).toMatchObject({ ok: true, changed: true });
    expect(await git(paths.workDir, "log", "--format=%s", "HEAD")).toMatch(/^Changes made by Claude Code\nClaude's commit\n/);
    const stat = parseDiffStat((await output(OUTPUT_FILES.diffStat)).toString("utf8"));
    expect(stat?.files.map((file) => file.path)).toEqual(["by-claude.txt", "uncommitted.txt"]);
  });

  it("reports a commit Claude Code made itself as a change even when the tree is clean", async () => {
    await writeFiles(paths.workDir, { "by-claude.txt": "x\n" });
    await git(paths.workDir, "add", "-A");
    await git(paths.workDir, "commit", "-q", "-m", "Claude's commit");
    expect((await finish()).result).toMatchObject({ ok: true, changed: true });
  });

  it("brings the work branch back when Claude Code switched to another branch", async () => {
    await git(paths.workDir, "checkout", "-q", "-b", "elsewhere");
    await writeFiles(paths.workDir, { "elsewhere.txt": "x\n" });
    const { result } = await finish();
    expect(result).toMatchObject({ ok: true, changed: true });
    expect(await git(paths.workDir, "symbolic-ref", "HEAD")).toBe(`refs/heads/${BRANCH}\n`);
    expect(await git(paths.workDir, "show", "--format=", "--name-only", BRANCH)).toBe("elsewhere.txt\n");
  });

  it("ignores hooks and signing set up in the working tree", async () => {
    await writeFile(join(paths.workDir, ".git/hooks/pre-commit"), `#!/bin/sh\ntouch "$CANARY"\nexit 1\n`);
    await chmod(join(paths.workDir, ".git/hooks/pre-commit"), 0o755);
    await git(paths.workDir, "config", "commit.gpgSign", "true");
    await writeFiles(paths.workDir, { "a.txt": "a\n" });
    expect((await finish()).result).toMatchObject({ ok: true, changed: true });
    expect(existsSync(canary)).toBe(false);
  });

  it("fails with workspace_missing when the working tree is gone", async () => {
    await rm(paths.workDir, { recursive: true });
    expect((await finish()).result).toEqual({ step: "finish", ok: false, code: "workspace_missing" });
  });
});

describe("push", () => {
  /** The finish's commit of a change, then the push step for it. */
  async function commitAndPush(input: { branch?: string; files?: Record<string, string> } = {}) {
    const branch = input.branch ?? BRANCH;
    await writeFiles(paths.workDir, input.files ?? { "pushed.txt": "pushed\n" });
    const finished = (await finish({ branch })).result;
    if (!finished.ok || finished.step !== "finish") throw new Error(`finish failed: ${JSON.stringify(finished)}`);
    const outcome = await runStep(buildPushScript({ branch, head: finished.head }, paths), { CANARY: canary });
    return { head: finished.head, result: parseStepResult(outcome.stdout, "push") };
  }

  beforeEach(async () => {
    expect((await checkout()).result.ok).toBe(true);
  });

  it("pushes the finish's commit to the work branch, never forced", async () => {
    const { head, result } = await commitAndPush();
    expect(result).toEqual({ step: "push", ok: true });
    expect((await git(remote, "rev-parse", BRANCH)).trim()).toBe(head);
    expect(await git(remote, "show", "--format=", "--name-only", BRANCH)).toBe("pushed.txt\n");
    expect(await git(remote, "rev-parse", "main")).toBe(await git(paths.workDir, "rev-parse", "HEAD~1"));
  });

  it("pushes the commit the finish reported, even when the branch was moved since", async () => {
    await writeFiles(paths.workDir, { "reported.txt": "reported\n" });
    const finished = (await finish()).result;
    if (!finished.ok || finished.step !== "finish") throw new Error("finish failed");
    // Something moves the work branch to another commit after the finish.
    await writeFiles(paths.workDir, { "sneaked.txt": "sneaked\n" });
    await git(paths.workDir, "add", "-A");
    await git(paths.workDir, "commit", "-q", "-m", "Sneaked in");
    const outcome = await runStep(buildPushScript({ branch: BRANCH, head: finished.head }, paths));
    expect(parseStepResult(outcome.stdout, "push")).toEqual({ step: "push", ok: true });
    expect((await git(remote, "rev-parse", BRANCH)).trim()).toBe(finished.head);
  });

  it("reports a refused push: the remote's branch moved on, and the push is never forced", async () => {
    await git(remote, "update-ref", `refs/heads/${BRANCH}`, "feature");
    const { result } = await commitAndPush({ files: { "late.txt": "late\n" } });
    expect(result).toEqual({ step: "push", ok: false, code: "push_failed" });
    expect((await git(remote, "rev-parse", BRANCH)).trim()).toBe((await git(remote, "rev-parse", "feature")).trim());
  });

  it.each([
    ["an option-like branch", { branch: "--force", head: "a".repeat(40) }],
    ["a head that is not a commit id", { branch: BRANCH, head: "HEAD~1" }],
    ["a head that is an option", { branch: BRANCH, head: "--mirror" }],
  ])("refuses %s before git runs", async (_name, input) => {
    const outcome = await runStep(buildPushScript(input, paths), { CANARY: canary });
    expect(parseStepResult(outcome.stdout, "push")).toEqual({ step: "push", ok: false, code: "invalid_input" });
    expect(await git(remote, "for-each-ref", "--format=%(refname)", "refs/heads/")).not.toContain(BRANCH);
  });
});

describe("a remote whose default branch is develop", () => {
  beforeEach(async () => {
    // A remote of its own, whose HEAD is develop.
    const fresh = join(root, "develop-remote");
    await mkdir(fresh);
    remote = await makeRemote(fresh, { "src/app.txt": "one\n" }, { defaultBranch: "develop" });
    remoteUrl = `file://${remote}`;
  });

  it.each(["develop", "Develop", "DEVELOP"])("the checkout refuses to push %s: branch_is_default", async (branch) => {
    expect((await checkout({ branch, push: true })).result).toEqual({ step: "checkout", ok: false, code: "branch_is_default" });
  });

  it.each(["develop", "Develop"])("the push step refuses to push %s after a checkout that did not push, whatever the task believed", async (branch) => {
    // A task on develop that did not push, followed up by one that does: the follow-up's steps ask the remote again.
    expect((await checkout({ branch, push: false })).result).toMatchObject({ ok: true, defaultBranch: "develop" });
    const before = (await git(remote, "rev-parse", "develop")).trim();
    await writeFiles(paths.workDir, { "to-develop.txt": "x\n" });
    const finished = (await finish({ branch })).result;
    if (!finished.ok || finished.step !== "finish") throw new Error("finish failed");
    const outcome = await runStep(buildPushScript({ branch, head: finished.head }, paths));
    expect(parseStepResult(outcome.stdout, "push")).toEqual({ step: "push", ok: false, code: "branch_is_default" });
    expect((await git(remote, "rev-parse", "develop")).trim()).toBe(before);
    expect(await git(remote, "for-each-ref", "--format=%(refname)", "refs/heads/")).toBe("refs/heads/develop\nrefs/heads/feature\n");
  });

  it("the push step pushes another branch of that repository", async () => {
    expect((await checkout({ branch: "claude/other", push: true })).result).toMatchObject({ ok: true, defaultBranch: "develop" });
    await writeFiles(paths.workDir, { "x.txt": "x\n" });
    const finished = (await finish({ branch: "claude/other" })).result;
    if (!finished.ok || finished.step !== "finish") throw new Error("finish failed");
    const outcome = await runStep(buildPushScript({ branch: "claude/other", head: finished.head }, paths));
    expect(parseStepResult(outcome.stdout, "push")).toEqual({ step: "push", ok: true });
    expect((await git(remote, "rev-parse", "claude/other")).trim()).toBe(finished.head);
  });
});

describe("hostile values never become options or shell syntax", () => {
  const hostile: [string, string][] = [
    ["command substitution", "$(touch $CANARY)"],
    ["backticks", "`touch $CANARY`"],
    ["a semicolon", "x; touch $CANARY"],
    ["an upload-pack option", "--upload-pack=touch $CANARY"],
    ["an exec option", "--exec=touch $CANARY"],
    ["a short option", "-o"],
    ["a forced refspec", "+refs/heads/main:refs/heads/main"],
    ["a refspec", "main:refs/heads/main"],
    ["a newline", "x\ntouch $CANARY"],
  ];

  const commands = new Set<string>();
  const record = (script: ContainerScript) => {
    commands.add(script.command);
    return script;
  };

  it.each(hostile)("as a branch: %s", async (_name, value) => {
    const outcome = await runStep(record(buildCheckoutScript({ url: remoteUrl, ref: null, branch: value, push: true }, paths)), { CANARY: canary });
    expect(parseStepResult(outcome.stdout, "checkout")).toEqual({ step: "checkout", ok: false, code: "invalid_input" });
    expect(existsSync(canary)).toBe(false);
    expect(await git(remote, "for-each-ref", "--format=%(refname)")).not.toMatch(/CANARY|touch/);
  });

  it.each(hostile)("as a ref: %s", async (_name, value) => {
    const outcome = await runStep(record(buildCheckoutScript({ url: remoteUrl, ref: value, branch: BRANCH, push: false }, paths)), { CANARY: canary });
    expect(parseStepResult(outcome.stdout, "checkout")).toMatchObject({ ok: false });
    expect(existsSync(canary)).toBe(false);
  });

  it.each([
    ...hostile,
    ["an ext:: transport", "ext::sh -c touch% $CANARY"],
    ["a local path that is an option", "--upload-pack=touch${IFS}$CANARY"],
  ])("as a URL: %s", async (_name, value) => {
    const outcome = await runStep(record(buildCheckoutScript({ url: value, ref: null, branch: BRANCH, push: false }, paths)), { CANARY: canary });
    expect(parseStepResult(outcome.stdout, "checkout")).toMatchObject({ ok: false });
    expect(existsSync(canary)).toBe(false);
  });

  it.each(hostile)("as a commit message: %s", async (_name, value) => {
    expect((await checkout()).result.ok).toBe(true);
    await writeFiles(paths.workDir, { "a.txt": "a\n" });
    const script = record(buildFinishScript({ branch: BRANCH, message: value }, paths));
    const outcome = await runStep(script, { CANARY: canary });
    expect(parseStepResult(outcome.stdout, "finish")).toMatchObject({ ok: true, changed: true });
    expect(await git(paths.workDir, "log", "-1", "--format=%B")).toBe(`${value}\n\n`);
    expect(existsSync(canary)).toBe(false);
  });

  it("as a branch of the finish: an option-like branch is refused before git runs", async () => {
    expect((await checkout()).result.ok).toBe(true);
    const outcome = await runStep(record(buildFinishScript({ branch: "--force", message: "m" }, paths)), { CANARY: canary });
    expect(parseStepResult(outcome.stdout, "finish")).toEqual({ step: "finish", ok: false, code: "invalid_input" });
  });

  it("the command never changes with the input: values travel only in the environment", () => {
    // Every hostile run above used one of exactly two commands: the checkout's and the finish's.
    expect(commands.size).toBe(2);
    for (const [, value] of hostile) {
      const script = buildCheckoutScript({ url: value, ref: value, branch: value, push: false }, paths);
      expect(script.command).not.toContain(value);
      expect(script.env[STEP_ENV.branch]).toBe(value);
    }
  });
});

describe("parseStepResult", () => {
  const sha = "a".repeat(40);
  it.each([
    ["no result line", "git said things\n", { step: "finish", ok: false, code: "step_output_missing" }],
    ["a result of another step", `CLAUDE_SANDBOX_RESULT {"step":"checkout","ok":true,"base":"${sha}","defaultBranch":null}\n`, { step: "finish", ok: false, code: "step_output_missing" }],
    ["an unknown failure code", 'CLAUDE_SANDBOX_RESULT {"step":"finish","ok":false,"code":"rm_rf"}\n', { step: "finish", ok: false, code: "step_output_missing" }],
    ["a malformed sha", 'CLAUDE_SANDBOX_RESULT {"step":"finish","ok":true,"changed":true,"base":"HEAD","head":"HEAD"}\n', { step: "finish", ok: false, code: "step_output_missing" }],
    ["broken JSON", "CLAUDE_SANDBOX_RESULT {\n", { step: "finish", ok: false, code: "step_output_missing" }],
    [
      "the last result line",
      `CLAUDE_SANDBOX_RESULT {"step":"finish","ok":false,"code":"commit_failed"}\nCLAUDE_SANDBOX_RESULT {"step":"finish","ok":true,"changed":false,"base":"${sha}","head":"${sha}"}\n`,
      { step: "finish", ok: true, changed: false, base: sha, head: sha },
    ],
  ])("%s", (_name, stdout, expected) => {
    expect(parseStepResult(stdout, "finish")).toEqual(expected);
  });
});
