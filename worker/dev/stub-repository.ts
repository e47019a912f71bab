/**
 * The stand-in's repository steps: what the checkout, stop, finish, push,
 * pack and unpack scripts (worker/src/repositories/) would print and leave
 * behind, with no git, no network and no processes to stop. The finish step leaves a small patch (a NOTES.md quoting the
 * commit's subject) and its diff stat, so clients and the CLI can try
 * repository tasks with `npm run dev:stub`.
 */
import { OUTPUT_FILES, RESULT_MARKER, type StepName, STEP_ENV } from "../src/repositories/script.js";
import { WORKSPACE_ARCHIVE_FILE } from "../src/repositories/workspace.js";

/** The commits the stand-in reports. */
export const STUB_BASE_COMMIT = "1111111111111111111111111111111111111111";
export const STUB_HEAD_COMMIT = "2222222222222222222222222222222222222222";

/** The step a command runs, read from its prelude (`"step":"<name>"`), or null for another command. */
export function stepOf(command: string): StepName | null {
  const match = /\\"step\\":\\"(checkout|stop|finish|push|pack|unpack)\\"/.exec(command);
  return match ? (match[1] as StepName) : null;
}

/** The patch the stand-in's finish step writes. */
export function stubPatch(subject: string): string {
  const line = subject.split("\n")[0]!.slice(0, 200);
  return [
    "diff --git a/NOTES.md b/NOTES.md",
    "new file mode 100644",
    "index 0000000000000000000000000000000000000000..1111111111111111111111111111111111111111",
    "--- /dev/null",
    "+++ b/NOTES.md",
    "@@ -0,0 +1,2 @@",
    "+Stub sandbox (no container, no Claude) made this change:",
    `+${line}`,
    "",
  ].join("\n");
}

/** Runs a repository step against the stand-in's files; returns what the script would print. */
export function runStubStep(
  step: StepName,
  env: Record<string, string | undefined>,
  files: Map<string, Uint8Array>,
): { exitCode: number; stdout: string; stderr: string } {
  const out = env[STEP_ENV.outputDir] ?? "/workspace/.claude-sandbox";
  const encoder = new TextEncoder();
  const result = (value: Record<string, unknown>) => ({
    exitCode: value.ok === true ? 0 : 1,
    stdout: `${RESULT_MARKER}${JSON.stringify({ step, ...value })}\n`,
    stderr: "",
  });
  switch (step) {
    case "checkout":
      return result({ ok: true, base: STUB_BASE_COMMIT, defaultBranch: "main" });
    case "stop":
    case "push":
      return result({ ok: true });
    case "finish": {
      const patch = stubPatch(env[STEP_ENV.commitMessage] ?? "");
      files.set(`${out}/${OUTPUT_FILES.patch}`, encoder.encode(patch));
      const diffStat = { filesChanged: 1, insertions: 2, deletions: 0, files: [{ path: "NOTES.md", insertions: 2, deletions: 0, binary: false }], truncated: false };
      files.set(`${out}/${OUTPUT_FILES.diffStat}`, encoder.encode(JSON.stringify(diffStat)));
      return result({ ok: true, changed: true, base: STUB_BASE_COMMIT, head: STUB_HEAD_COMMIT });
    }
    case "pack": {
      const archive = encoder.encode(`stub workspace archive of ${env[STEP_ENV.workDir] ?? "/workspace/repo"}\n`);
      files.set(`${out}/${WORKSPACE_ARCHIVE_FILE}`, archive);
      return result({ ok: true, bytes: archive.byteLength });
    }
    case "unpack":
      return files.has(`${out}/${WORKSPACE_ARCHIVE_FILE}`) ? result({ ok: true, base: STUB_HEAD_COMMIT }) : result({ ok: false, code: "restore_failed" });
  }
}
