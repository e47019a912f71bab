/**
 * Follow-ups (worker/src/repositories/workspace.ts) with a real bash, tar, git
 * and the pinned `claude`: a task works in a checked-out repository against the
 * local fake Anthropic API, its working tree and session are packed into one
 * archive, everything is thrown away, the archive is unpacked into a fresh
 * HOME and working directory, and `claude` resumes the session there: the API
 * then receives the earlier conversation with the new prompt.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, readlink, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  buildCheckoutScript,
  type ContainerScript,
  parseStepResult,
  type RepositoryPaths,
  type StepFailureCode,
  type StepName,
} from "../../worker/src/repositories/script.js";
import { buildPackScript, buildUnpackScript, SESSION_FLAGS, sessionArguments, WORKSPACE_ARCHIVE_FILE } from "../../worker/src/repositories/workspace.js";
import { buildClaudeInvocation } from "../../worker/src/tasks/claude-command.js";
import { BIN_DIR } from "./fixtures/api-recording.js";
import { type FakeAnthropicApi, FAKE_REPLY, startFakeAnthropicApi } from "./fixtures/fake-anthropic-api.js";
import { git, makeRemote, runStep, tempDir, writeFiles } from "./fixtures/git-repos.js";
import { type CommandOutcome, runProcess } from "./fixtures/run-command.js";

const FIRST_TASK = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const FOLLOW_UP_TASK = "0199a1b3-0000-7000-8000-00000000f011";
const FIRST_PROMPT = "First prompt: remember the word periwinkle.";
const SECOND_PROMPT = "Second prompt: which word did I ask you to remember?";

let root: string;
let cleanup: () => Promise<void>;
let remote: string;
let api: FakeAnthropicApi;
let paths: RepositoryPaths;

beforeAll(async () => {
  ({ path: root, cleanup } = await tempDir("workspace-"));
  remote = await makeRemote(root, { "src/app.txt": "hello\n" });
  api = await startFakeAnthropicApi("text");
});

afterAll(async () => {
  await api.close();
  await cleanup();
});

beforeEach(async () => {
  paths = { workDir: join(root, "workspace", "repo"), outputDir: join(root, "workspace", ".claude-sandbox") };
  await rm(join(root, "workspace"), { recursive: true, force: true });
});

/** Runs the pinned `claude` in the working directory, as a task does, with the session flags of `sessionArguments`. */
function runClaude(home: string, prompt: string, session: string[]): Promise<CommandOutcome> {
  const { env } = buildClaudeInvocation({
    task: prompt,
    permissionMode: "bypassPermissions",
    timeoutMs: 60_000,
    credential: { kind: "apiKey", key: "held-by-the-worker" },
    credentialMode: "proxy",
  });
  return runProcess(join(BIN_DIR, "claude"), ["--print", "--output-format", "json", "--permission-mode", "bypassPermissions", ...session, "--", prompt], {
    cwd: paths.workDir,
    env: { ...env, PATH: `${BIN_DIR}:/usr/bin:/bin`, HOME: home, ANTHROPIC_BASE_URL: api.url },
  });
}

/** The user and assistant texts of the last Messages request the fake API got. */
function lastConversation(): string[] {
  const last = api.requests.findLast((request) => request.path.startsWith("/v1/messages"));
  return (last?.body.messages ?? []).flatMap((message) =>
    typeof message.content === "string" ? [message.content] : message.content.map((block) => block.text ?? ""),
  );
}

describe("claude --help of the pinned version", () => {
  it("lists every session flag", () => {
    const help = execFileSync(join(BIN_DIR, "claude"), ["--help"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    for (const flag of SESSION_FLAGS) expect(help).toMatch(new RegExp(`^\\s+(-\\w, )?${flag}\\b`, "m"));
  });
});

describe("sessionArguments", () => {
  it("names the task's session by its id, and resumes an earlier one as a fork", () => {
    expect(sessionArguments({ taskId: FIRST_TASK, resumeSessionId: null })).toEqual(["--session-id", FIRST_TASK]);
    expect(sessionArguments({ taskId: FOLLOW_UP_TASK.toUpperCase(), resumeSessionId: FIRST_TASK })).toEqual([
      "--resume",
      FIRST_TASK,
      "--fork-session",
      "--session-id",
      FOLLOW_UP_TASK,
    ]);
  });

  it.each(["--dangerously-skip-permissions", "", "latest", `${FIRST_TASK} --print`, "../session"])("refuses %j as a session id", (value) => {
    expect(() => sessionArguments({ taskId: FOLLOW_UP_TASK, resumeSessionId: value })).toThrow(TypeError);
    expect(() => sessionArguments({ taskId: value, resumeSessionId: null })).toThrow(TypeError);
  });
});

describe("pack, unpack and resume", () => {
  let firstHome: { path: string; cleanup: () => Promise<void> };
  let freshHome: { path: string; cleanup: () => Promise<void> };

  beforeEach(async () => {
    firstHome = await tempDir("home-first-");
    freshHome = await tempDir("home-fresh-");
    return async () => {
      await firstHome.cleanup();
      await freshHome.cleanup();
    };
  });

  it("restores the working tree and the session in a fresh HOME, and claude --resume sends the earlier conversation", async () => {
    const checkout = await runStep(buildCheckoutScript({ url: `file://${remote}`, ref: null, branch: "claude/0199a1b2", push: false }, paths));
    expect(parseStepResult(checkout.stdout, "checkout")).toMatchObject({ ok: true });

    const first = await runClaude(firstHome.path, FIRST_PROMPT, sessionArguments({ taskId: FIRST_TASK, resumeSessionId: null }));
    expect(first.exitCode).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ session_id: FIRST_TASK, result: FAKE_REPLY });
    // What the task left: a commit, a change not committed, and a symlink.
    await writeFiles(paths.workDir, { "committed.txt": "committed\n" });
    await git(paths.workDir, "add", "-A");
    await git(paths.workDir, "commit", "-q", "-m", "Work of the first task");
    await writeFiles(paths.workDir, { "uncommitted.txt": "not yet committed\n" });
    await symlink("./src/app.txt", join(paths.workDir, "link-to-app"));
    const head = (await git(paths.workDir, "rev-parse", "HEAD")).trim();

    const pack = await runStep(buildPackScript(paths), { HOME: firstHome.path });
    const packed = parseStepResult(pack.stdout, "pack");
    expect(packed).toMatchObject({ step: "pack", ok: true });
    const archive = join(paths.outputDir, WORKSPACE_ARCHIVE_FILE);
    const members = execFileSync("tar", ["--list", "--gzip", "--file", archive], { encoding: "utf8" }).split("\n").filter(Boolean);
    expect(members.every((member) => member.startsWith("workspace/") || member.startsWith("projects/"))).toBe(true);
    expect(members).toContain(`projects/${paths.workDir.replace(/[^A-Za-z0-9]/g, "-")}/${FIRST_TASK}.jsonl`);
    expect(members).toContain("workspace/.git/HEAD");
    expect(members.some((member) => member.startsWith("projects/") === false && member.includes(".claude"))).toBe(false);

    // Nothing of the first container survives but the archive.
    const kept = join(root, "kept.tar.gz");
    execFileSync("cp", [archive, kept]);
    await rm(join(root, "workspace"), { recursive: true, force: true });
    await mkdir(paths.outputDir, { recursive: true });
    execFileSync("cp", [kept, archive]);

    const unpack = await runStep(buildUnpackScript(paths), { HOME: freshHome.path });
    expect(parseStepResult(unpack.stdout, "unpack")).toEqual({ step: "unpack", ok: true, base: head });
    expect(await git(paths.workDir, "symbolic-ref", "HEAD")).toBe("refs/heads/claude/0199a1b2\n");
    expect(await git(paths.workDir, "status", "--porcelain")).toBe("?? link-to-app\n?? uncommitted.txt\n");
    expect(await readlink(join(paths.workDir, "link-to-app"))).toBe("./src/app.txt");
    expect((await readFile(join(paths.outputDir, "base-commit"), "utf8")).trim()).toBe(head);
    expect(await readdir(join(freshHome.path, ".claude"))).toEqual(["projects"]);

    const second = await runClaude(
      freshHome.path,
      SECOND_PROMPT,
      sessionArguments({ taskId: FOLLOW_UP_TASK, resumeSessionId: FIRST_TASK }),
    );
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ session_id: FOLLOW_UP_TASK });
    const conversation = lastConversation();
    expect(conversation).toContain(FIRST_PROMPT);
    expect(conversation).toContain(FAKE_REPLY);
    expect(conversation.at(-1)).toBe(SECOND_PROMPT);
    expect(conversation.indexOf(FIRST_PROMPT)).toBeLessThan(conversation.indexOf(SECOND_PROMPT));
  });

  it("without the restored session, claude --resume finds nothing to resume", async () => {
    await mkdir(paths.workDir, { recursive: true });
    const attempt = await runClaude(freshHome.path, SECOND_PROMPT, sessionArguments({ taskId: FOLLOW_UP_TASK, resumeSessionId: FIRST_TASK }));
    expect(attempt.exitCode).not.toBe(0);
    expect(`${attempt.stdout}${attempt.stderr}`).toMatch(/No conversation found/i);
  });
});

describe("pack and unpack failures", () => {
  let home: { path: string; cleanup: () => Promise<void> };

  beforeEach(async () => {
    home = await tempDir("home-");
  });

  afterEach(async () => {
    await home.cleanup();
  });

  it("packs a working tree without any session, and unpacks it with a null base when it is not a repository", async () => {
    await writeFiles(paths.workDir, { "notes.txt": "no git here\n" });
    expect(parseStepResult((await runStep(buildPackScript(paths), { HOME: home.path })).stdout, "pack")).toMatchObject({ ok: true });
    await rm(paths.workDir, { recursive: true });
    const unpack = await runStep(buildUnpackScript(paths), { HOME: home.path });
    expect(parseStepResult(unpack.stdout, "unpack")).toEqual({ step: "unpack", ok: true, base: null });
    expect(await readFile(join(paths.workDir, "notes.txt"), "utf8")).toBe("no git here\n");
    expect(existsSync(join(home.path, ".claude", "projects"))).toBe(false);
  });

  it.each<[string, () => Promise<unknown>, () => ContainerScript, StepName, StepFailureCode]>([
    ["a missing working tree", async () => undefined, () => buildPackScript(paths), "pack", "workspace_missing"],
    ["an archive over the limit", () => writeFiles(paths.workDir, { "big.txt": "x".repeat(10_000) }), () => buildPackScript(paths, 100), "pack", "archive_too_large"],
    ["no archive to restore", () => mkdir(paths.outputDir, { recursive: true }), () => buildUnpackScript(paths), "unpack", "restore_failed"],
  ])("fails with a code on %s", async (_name, prepare, build, step, code) => {
    await prepare();
    const outcome = await runStep(build(), { HOME: home.path });
    expect(outcome.exitCode).not.toBe(0);
    expect(parseStepResult(outcome.stdout, step)).toEqual({ step, ok: false, code });
    expect(existsSync(join(paths.outputDir, WORKSPACE_ARCHIVE_FILE))).toBe(false);
  });

  it("refuses to unpack over a working directory that is not empty", async () => {
    await writeFiles(paths.workDir, { "a.txt": "a\n" });
    expect(parseStepResult((await runStep(buildPackScript(paths), { HOME: home.path })).stdout, "pack")).toMatchObject({ ok: true });
    const outcome = await runStep(buildUnpackScript(paths), { HOME: home.path });
    expect(parseStepResult(outcome.stdout, "unpack")).toEqual({ step: "unpack", ok: false, code: "workspace_not_empty" });
  });
});
