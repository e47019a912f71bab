/**
 * The task text reaches `claude` byte for byte as one prompt argument, never as
 * a flag and never interpreted by the shell: the exact command and environment
 * the Worker builds run through a real bash, with a stand-in `claude` on PATH
 * that prints the argv and environment it received.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildClaudeInvocation, KILL_AFTER_SECONDS, PROMPT_ENV_VAR } from "../../worker/src/tasks/claude-command.js";
import { LIMITS, PERMISSION_MODES } from "../../worker/src/contract.js";
import { runInBash } from "./fixtures/run-command.js";

let binDir: string;
let canary: string;

/** A stand-in `claude` that prints the argv and environment it received. */
const STAND_IN = `#!${process.execPath}\nprocess.stdout.write(JSON.stringify({ argv: process.argv.slice(2), env: process.env }));\n`;

beforeAll(async () => {
  binDir = await mkdtemp(join(tmpdir(), "claude-stand-in-"));
  canary = join(binDir, "pwned");
  await writeFile(join(binDir, "claude"), STAND_IN);
  await chmod(join(binDir, "claude"), 0o755);
});

afterAll(async () => {
  await rm(binDir, { recursive: true, force: true });
});

async function received(task: string, extra: { model?: string; maxTurns?: number; maxBudgetUsd?: number } = {}) {
  const invocation = buildClaudeInvocation({
    task,
    timeoutMs: 60_000,
    permissionMode: "bypassPermissions",
    credential: { kind: "oauth", token: "fake-oauth-real" },
    credentialMode: "proxy",
    ...extra,
  });
  const outcome = await runInBash(invocation, { PATH: `${binDir}:/usr/bin:/bin`, CANARY: canary });
  expect(outcome.stderr).toBe("");
  expect(outcome.exitCode).toBe(0);
  return JSON.parse(outcome.stdout) as { argv: string[]; env: Record<string, string> };
}

const longMixed = Array.from({ length: LIMITS.maxTaskLength / 16 }, (_, i) => `$(x${i}) 'q' "d"`).join("").slice(0, LIMITS.maxTaskLength);

const hostileTasks: [string, string][] = [
  ["single quotes", "it's 'quoted' and ''' unbalanced '"],
  ["double quotes", 'say "hello" and " unbalanced "'],
  ["both quote kinds", `mix 'a "b" c' and "d 'e' f"`],
  ["backticks", "run `touch $CANARY` now"],
  ["command substitution", "$(touch $CANARY)"],
  ["nested substitution", "$(echo $(touch $CANARY))"],
  ["arithmetic expansion", "$((6*7)) and $[1+1]"],
  ["parameter expansion", "${HOME} ${PATH:0:3} $CLAUDE_SANDBOX_PROMPT $CANARY"],
  ["semicolon", "fix it; touch $CANARY"],
  ["and-list", "true && touch $CANARY"],
  ["or-list", "false || touch $CANARY"],
  ["pipe", "cat /etc/passwd | tee $CANARY"],
  ["redirections", "> $CANARY 2>&1 < /dev/null >> x"],
  ["background", "sleep 1 & touch $CANARY &"],
  ["newlines", "line one\nline two\n\nline four"],
  ["trailing newlines", "ends with newlines\n\n\n"],
  ["tabs and CR", "\tindented\r\nwindows line\t"],
  ["leading spaces", "   spaced out   "],
  ["unicode", "naïve café — 你好 — 🦀 — \u202Eevil\u202C — e\u0301"],
  ["control characters", "bell\u0007 escape\u001b[31m red\u001b[0m del\u007f"],
  ["leading dash", "-p"],
  ["a help flag", "--help"],
  ["a dangerous flag", "--dangerously-skip-permissions"],
  ["double dash", "--"],
  ["single dash", "-"],
  ["a flag with value", "--model=opus --print"],
  ["glob characters", "* ? [a-z] ~ ~root"],
  ["history expansion", "!! !$ !-1"],
  ["backslashes", "C:\\path\\to\\file \\n \\\\"],
  ["quote escapes", "'\\'' \"\\\"\" '\"'\"'"],
  ["a shell breakout", "'; exec sh -c 'touch $CANARY'; '"],
  ["a here-doc", "cat <<EOF\n$(touch $CANARY)\nEOF"],
  ["printf formats", "%s %n %x %%"],
  ["a zero", "0"],
  ["the longest task", longMixed],
];

describe("the task reaches claude as one prompt, byte for byte", () => {
  it("has at least 20 hostile task texts", () => {
    expect(hostileTasks.length).toBeGreaterThanOrEqual(20);
  });

  it.each(hostileTasks)("%s", async (_name, task) => {
    const { argv, env } = await received(task);
    expect(argv).toEqual(["--print", "--output-format", "stream-json", "--verbose", "--permission-mode", "bypassPermissions", "--", task]);
    expect(Buffer.from(argv.at(-1)!, "utf8").equals(Buffer.from(task, "utf8"))).toBe(true);
    // The carrier variable is removed before claude starts.
    expect(env).not.toHaveProperty(PROMPT_ENV_VAR);
    expect(env.IS_SANDBOX).toBe("1");
    // Nothing in the task ran.
    const { access } = await import("node:fs/promises");
    await expect(access(canary)).rejects.toThrow();
  });

  it("passes model, turn limit and budget without touching the prompt", async () => {
    const { argv, env } = await received("--model haiku", { model: "claude-opus-4-1[1m]", maxTurns: 3, maxBudgetUsd: 1.25 });
    expect(argv).toEqual([
      "--print",
      "--output-format",
      "stream-json",
      "--verbose",
      "--permission-mode",
      "bypassPermissions",
      "--model",
      "claude-opus-4-1[1m]",
      "--max-budget-usd",
      "1.25",
      "--",
      "--model haiku",
    ]);
    expect(env.CLAUDE_CODE_MAX_TURNS).toBe("3");
  });

  it("gives claude an empty stdin, so it never waits for input", async () => {
    const invocation = buildClaudeInvocation({ task: "t", timeoutMs: 60_000, permissionMode: "plan", credential: { kind: "apiKey", key: "k" }, credentialMode: "env" });
    await writeFile(join(binDir, "claude"), `#!${process.execPath}\nlet n = 0; process.stdin.on("data", (d) => (n += d.length)); process.stdin.on("end", () => process.stdout.write(String(n)));\n`);
    try {
      const outcome = await runInBash(invocation, { PATH: `${binDir}:/usr/bin:/bin` });
      expect(outcome.stdout).toBe("0");
    } finally {
      await writeFile(join(binDir, "claude"), STAND_IN);
    }
  });

  it("stops claude at the task timeout with exit 124 (timeout(1))", async () => {
    const invocation = buildClaudeInvocation({ task: "t", timeoutMs: 1000, permissionMode: "plan", credential: { kind: "apiKey", key: "k" }, credentialMode: "env" });
    await writeFile(join(binDir, "claude"), "#!/bin/bash\nsleep 30\n");
    try {
      const started = Date.now();
      const outcome = await runInBash(invocation, { PATH: `${binDir}:/usr/bin:/bin` });
      expect(outcome.exitCode).toBe(124);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await writeFile(join(binDir, "claude"), STAND_IN);
    }
  });

  it("kills a claude that ignores TERM once the kill-after wait is over", async () => {
    const invocation = buildClaudeInvocation({ task: "t", timeoutMs: 1000, permissionMode: "plan", credential: { kind: "apiKey", key: "k" }, credentialMode: "env" });
    expect(invocation.command).toContain(`--kill-after=${KILL_AFTER_SECONDS}s`);
    await writeFile(join(binDir, "claude"), "#!/bin/bash\ntrap '' TERM\nsleep 30\n");
    try {
      const started = Date.now();
      // The same command with a 1 s kill-after, so the test does not wait the real 10 s.
      const outcome = await runInBash({ ...invocation, command: invocation.command.replace(`--kill-after=${KILL_AFTER_SECONDS}s`, "--kill-after=1s") }, {
        PATH: `${binDir}:/usr/bin:/bin`,
      });
      // timeout(1) sends KILL to its whole process group, itself included: no exit code, or 137 from a shell.
      expect([null, 137]).toContain(outcome.exitCode);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await writeFile(join(binDir, "claude"), STAND_IN);
    }
  });

  it.each(PERMISSION_MODES)("passes the permission mode %s", async (mode) => {
    const invocation = buildClaudeInvocation({
      task: "t",
      timeoutMs: 60_000,
      permissionMode: mode,
      credential: { kind: "apiKey", key: "k" },
      credentialMode: "env",
    });
    const outcome = await runInBash(invocation, { PATH: `${binDir}:/usr/bin:/bin` });
    const { argv, env } = JSON.parse(outcome.stdout) as { argv: string[]; env: Record<string, string> };
    expect(argv.slice(4, 6)).toEqual(["--permission-mode", mode]);
    expect(env.ANTHROPIC_API_KEY).toBe("k");
  });

  it("keeps the task text out of the command string", () => {
    const task = "UNIQUE-TASK-TEXT-4711";
    const { command } = buildClaudeInvocation({
      task,
      timeoutMs: 60_000,
      permissionMode: "plan",
      credential: { kind: "oauth", token: "fake-oauth-secret" },
      credentialMode: "env",
    });
    expect(command).not.toContain(task);
    expect(command).not.toContain("fake-oauth-secret");
  });
});
