/**
 * The in-container steps of a repository task, as bash scripts built by pure
 * functions: `buildCheckoutScript` runs before Claude Code (a shallow fetch of
 * the ref into the working directory, and the work branch); after it,
 * `buildStopScript` stops every process Claude Code left running,
 * `buildFinishScript` commits and writes `changes.patch` and `diff-stat.json`,
 * and, when asked, `buildPushScript` pushes the commit (the only step that
 * runs while the git door lets the task push).
 *
 * Each script is a constant command plus an environment: every value, ours or
 * the caller's, travels in an environment variable and reaches git only as a
 * quoted word after `--` or inside `refs/heads/...`, so no value is ever read
 * as an option or as shell syntax, and the command string never changes with
 * the input. Git's own stdout and stderr go to stderr; stdout carries one line,
 * `CLAUDE_SANDBOX_RESULT <json>`, read back by `parseStepResult`.
 *
 * The scripts need bash, git, coreutils and node (for the JSON of the diff
 * stat), all in the sandbox image. Hooks, external diff drivers, text
 * conversions and commit signing that anyone set in the working tree are
 * turned off for the steps' own git commands.
 */

import type { DiffStat } from "../contract.js";
import { shellQuote } from "../shell-quote.js";

/** A bash command and the environment it runs with (`bash -c command`, as the sandbox runs commands). */
export interface ContainerScript {
  command: string;
  env: Record<string, string>;
}

/** Where the steps work and what they leave behind in the container. */
export interface RepositoryPaths {
  /** The working tree Claude Code runs in (its cwd). Fixed, so a follow-up resumes in the same directory. */
  workDir: string;
  /** The steps' own files, outside the working tree. */
  outputDir: string;
}

/** The paths a deployment uses; tests pass their own. */
export const REPOSITORY_PATHS: RepositoryPaths = {
  workDir: "/workspace/repo",
  outputDir: "/workspace/.claude-sandbox",
};

/** Files the steps write in `outputDir`. */
export const OUTPUT_FILES = {
  /** The task's changes: `git diff --binary --full-index --no-renames <base> <head>`, empty when nothing changed. */
  patch: "changes.patch",
  /** The `DiffStat` of the same range, as JSON. */
  diffStat: "diff-stat.json",
  /** The commit the task started from, written by the checkout (or the restore of a follow-up). */
  baseCommit: "base-commit",
} as const;

/** The author and committer of the steps' commit (and of commits Claude Code makes itself in the working tree). */
export interface CommitAuthor {
  name: string;
  email: string;
}

/**
 * The default commit author: Claude Code's own identity, the same address it
 * uses in its `Co-Authored-By` trailers, so hosts show the commits as Claude's.
 */
export const COMMIT_AUTHOR: CommitAuthor = { name: "Claude Code", email: "noreply@anthropic.com" };

/** Seconds one network step of git (ls-remote, fetch, push) may take before `timeout(1)` stops it. */
export const GIT_NETWORK_TIMEOUT_SECONDS = 300;

/** The prefix of the one result line a step prints on stdout. */
export const RESULT_MARKER = "CLAUDE_SANDBOX_RESULT ";

/** The environment variables the steps read. */
export const STEP_ENV = {
  repoUrl: "CLAUDE_SANDBOX_REPO_URL",
  ref: "CLAUDE_SANDBOX_REF",
  branch: "CLAUDE_SANDBOX_BRANCH",
  push: "CLAUDE_SANDBOX_PUSH",
  commitMessage: "CLAUDE_SANDBOX_COMMIT_MESSAGE",
  head: "CLAUDE_SANDBOX_HEAD",
  authorName: "CLAUDE_SANDBOX_AUTHOR_NAME",
  authorEmail: "CLAUDE_SANDBOX_AUTHOR_EMAIL",
  workDir: "CLAUDE_SANDBOX_WORKDIR",
  outputDir: "CLAUDE_SANDBOX_OUTPUT_DIR",
  gitTimeout: "CLAUDE_SANDBOX_GIT_TIMEOUT",
  archive: "CLAUDE_SANDBOX_ARCHIVE",
  maxArchiveBytes: "CLAUDE_SANDBOX_MAX_ARCHIVE_BYTES",
} as const;

/** Why a step failed: a stable code and a fixed message, for the task's `error`. */
export const STEP_FAILURES = {
  invalid_input: { message: "The repository step was given a value git refuses" },
  workspace_not_empty: { message: "The working directory of the task is not empty" },
  repository_unreachable: { message: "The repository could not be reached or read; check its URL and the deployment's access to it" },
  ref_not_found: { message: "The ref could not be fetched from the repository" },
  branch_is_default: { message: "The work branch is the repository's default branch, which a task never pushes" },
  stop_failed: { message: "The processes left in the container could not be stopped, so the branch was not pushed" },
  checkout_failed: { message: "The work branch could not be created" },
  workspace_missing: { message: "The working tree of the task is missing" },
  commit_failed: { message: "The changes could not be committed" },
  patch_failed: { message: "The patch or the diff stat could not be written" },
  push_failed: { message: "The work branch could not be pushed" },
  archive_failed: { message: "The workspace could not be archived" },
  archive_too_large: { message: "The workspace archive is larger than a follow-up may restore" },
  restore_failed: { message: "The earlier task's workspace could not be restored" },
  step_output_missing: { message: "The repository step ended without a readable result" },
} as const satisfies Record<string, { message: string }>;

export type StepFailureCode = keyof typeof STEP_FAILURES;

export type StepName = "checkout" | "stop" | "finish" | "push" | "pack" | "unpack";

/** What a step reports. A failed finish may still carry `base` and `head` (a patch that failed after the commit). */
export type StepResult =
  | { step: "checkout"; ok: true; base: string; defaultBranch: string | null }
  | { step: "stop"; ok: true }
  | { step: "finish"; ok: true; changed: boolean; base: string; head: string }
  | { step: "push"; ok: true }
  | { step: "pack"; ok: true; bytes: number }
  | { step: "unpack"; ok: true; base: string | null }
  | { step: StepName; ok: false; code: StepFailureCode; base?: string; head?: string };

/**
 * The start of every step: strict about unset variables and failed pipes,
 * stdout kept for the result line (fd 3) and everything else on stderr, git
 * never prompting, and `g` running git with the working tree's own hooks,
 * diff drivers, text conversions, fsmonitor and signing turned off.
 */
export function stepPrelude(step: StepName): string {
  return [
    "set -uo pipefail",
    "exec 3>&1 1>&2",
    `result() { printf '${RESULT_MARKER}%s\\n' "$1" >&3; }`,
    `fail() { result "{\\"step\\":\\"${step}\\",\\"ok\\":false,\\"code\\":\\"$1\\"\${2:-}}"; exit 1; }`,
    "export GIT_TERMINAL_PROMPT=0 GIT_ASKPASS=/bin/false SSH_ASKPASS=/bin/false LC_ALL=C",
    "g() { git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c commit.gpgSign=false -c diff.external= -c core.pager=cat \"$@\"; }",
    `gnet() { timeout --kill-after=10s "\${${STEP_ENV.gitTimeout}}s" git -c core.hooksPath=/dev/null "$@"; }`,
    `work=\${${STEP_ENV.workDir}} out=\${${STEP_ENV.outputDir}}`,
  ].join("\n");
}

/**
 * The checkout, before Claude Code: an empty working directory gets a new
 * repository with `origin` set to the URL; the remote's default branch is read
 * (`ls-remote --symref`) and, when pushing, must not be the work branch; the
 * ref (or the remote's HEAD) is fetched with depth 1, and the work branch is
 * created on it and checked out. The base commit goes to `base-commit`.
 */
const CHECKOUT_BODY = `
branch=\${${STEP_ENV.branch}} ref=\${${STEP_ENV.ref}} push=\${${STEP_ENV.push}}
case "$push" in 0|1) ;; *) fail invalid_input ;; esac
case "$branch" in -*|+*) fail invalid_input ;; esac
case "$ref" in -*|+*) fail invalid_input ;; esac
git check-ref-format "refs/heads/$branch" || fail invalid_input
if [ -n "$ref" ]; then git check-ref-format "refs/checkout/$ref" || fail invalid_input; fi
mkdir -p -- "$work" "$out" || fail checkout_failed
if [ -n "$(ls -A -- "$work")" ]; then fail workspace_not_empty; fi
cd -- "$work" || fail workspace_not_empty
g init -q || fail checkout_failed
g remote add -- origin "\${${STEP_ENV.repoUrl}}" || fail invalid_input
g config user.name "\${${STEP_ENV.authorName}}" && g config user.email "\${${STEP_ENV.authorEmail}}" || fail checkout_failed
heads=$(gnet ls-remote --symref -- origin HEAD) || fail repository_unreachable
default=$(printf '%s\\n' "$heads" | sed -n 's|^ref: refs/heads/\\(.*\\)\\tHEAD$|\\1|p' | head -n 1)
if [ "$push" = 1 ] && [ -n "$default" ] && [ "\${default,,}" = "\${branch,,}" ]; then fail branch_is_default; fi
gnet fetch -q --depth=1 --no-tags -- origin "\${ref:-HEAD}" || fail ref_not_found
base=$(g rev-parse --verify -q 'FETCH_HEAD^{commit}') || fail ref_not_found
g update-ref -- "refs/heads/$branch" "$base" || fail checkout_failed
g symbolic-ref HEAD "refs/heads/$branch" || fail checkout_failed
g reset -q --hard || fail checkout_failed
printf '%s\\n' "$base" > "$out/${OUTPUT_FILES.baseCommit}" || fail checkout_failed
if [[ $default =~ ^[A-Za-z0-9._/@+-]{1,255}$ ]]; then defaultJson="\\"$default\\""; else defaultJson=null; fi
result "{\\"step\\":\\"checkout\\",\\"ok\\":true,\\"base\\":\\"$base\\",\\"defaultBranch\\":$defaultJson}"
`;

/**
 * Reads `git diff --numstat -z --no-renames` on stdin and prints the DiffStat
 * JSON: one `ins<TAB>del<TAB>path` record per file (`-` for a binary file).
 */
const DIFF_STAT_PROGRAM = `
const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const limit = Number(process.argv[1]);
  const stat = { filesChanged: 0, insertions: 0, deletions: 0, files: [], truncated: false };
  for (const record of Buffer.concat(chunks).toString("utf8").split("\\0")) {
    const match = /^(\\d+|-)\\t(\\d+|-)\\t([\\s\\S]+)$/.exec(record);
    if (!match) continue;
    const binary = match[1] === "-";
    const insertions = binary ? 0 : Number(match[1]);
    const deletions = binary ? 0 : Number(match[2]);
    stat.filesChanged += 1;
    stat.insertions += insertions;
    stat.deletions += deletions;
    if (stat.files.length < limit) stat.files.push({ path: match[3], insertions, deletions, binary });
    else stat.truncated = true;
  }
  process.stdout.write(JSON.stringify(stat));
});
`;

/** Most files listed one by one in a diff stat; the totals always count every file. */
export const MAX_DIFF_STAT_FILES = 1000;

/**
 * The stop, once Claude Code has ended and before anything is committed or
 * pushed: every process that started after the sandbox's server (the step's
 * parent) is frozen and killed, but the step itself and the helpers it starts,
 * round after round until none is left, so nothing Claude Code started (a
 * background job, a daemon that detached itself, one that respawns) can touch
 * the commit or use the git door's write grant that the push step gets. Zombies
 * and kernel threads are left alone. Only bash builtins read `/proc`, so the
 * step starts no process while it looks. It fails with `stop_failed` when
 * `/proc` is not the kernel's or processes are still there after 100 rounds.
 */
const STOP_BODY = `
[[ $(stat -f -c %T /proc) == proc ]] || fail stop_failed
read -r stat < "/proc/$$/stat" || fail stop_failed
set -- \${stat##*') '}
read -r stat < "/proc/$2/stat" || fail stop_failed
set -- \${stat##*') '}
since=\${20}
for ((round = 0; round < 100; round++)); do
  found=()
  for entry in /proc/[0-9]*; do
    pid=\${entry#/proc/}
    [ "$pid" = "$$" ] && continue
    read -r stat 2>/dev/null < "$entry/stat" || continue
    set -- \${stat##*') '}
    # Fields from the state on: $1 state, $2 parent, $7 flags (0x200000: a kernel thread), $20 start time.
    case $1 in Z|X|x) continue ;; esac
    [ "$2" = "$$" ] && continue
    (( ($7 & 0x200000) == 0 && \${20} > since )) || continue
    kill -STOP "$pid" 2>/dev/null && found+=("$pid")
  done
  (( \${#found[@]} == 0 )) && break
  kill -KILL "\${found[@]}" 2>/dev/null
  sleep 0.05
done
(( \${#found[@]} == 0 )) || fail stop_failed
result "{\\"step\\":\\"stop\\",\\"ok\\":true}"
`;

/**
 * The finish, after Claude Code and the stop: stages everything, commits it
 * with the fixed author when anything is staged (Claude Code may also have
 * committed itself), points the work branch at the result and checks it out,
 * and writes the patch and the diff stat of `base..HEAD`.
 */
const FINISH_BODY = `
branch=\${${STEP_ENV.branch}}
case "$branch" in -*|+*) fail invalid_input ;; esac
git check-ref-format "refs/heads/$branch" || fail invalid_input
cd -- "$work" 2>/dev/null && g rev-parse --git-dir >/dev/null 2>&1 || fail workspace_missing
base=$(cat -- "$out/${OUTPUT_FILES.baseCommit}" 2>/dev/null) || fail workspace_missing
[[ $base =~ ^[0-9a-f]{40}([0-9a-f]{24})?$ ]] || fail workspace_missing
export GIT_AUTHOR_NAME=\${${STEP_ENV.authorName}} GIT_AUTHOR_EMAIL=\${${STEP_ENV.authorEmail}}
export GIT_COMMITTER_NAME=\${${STEP_ENV.authorName}} GIT_COMMITTER_EMAIL=\${${STEP_ENV.authorEmail}}
g add -A || fail commit_failed
if ! g diff --cached --quiet; then
  printf '%s\\n' "\${${STEP_ENV.commitMessage}}" | g commit -q --no-verify --cleanup=whitespace -F - || fail commit_failed
fi
head=$(g rev-parse --verify -q 'HEAD^{commit}') || fail commit_failed
g update-ref -- "refs/heads/$branch" "$head" || fail commit_failed
g symbolic-ref HEAD "refs/heads/$branch" || fail commit_failed
range=",\\"base\\":\\"$base\\",\\"head\\":\\"$head\\""
g diff --binary --full-index --no-renames --no-ext-diff --no-textconv --no-color "$base" "$head" -- > "$out/${OUTPUT_FILES.patch}" || fail patch_failed "$range"
g diff --numstat -z --no-renames --no-ext-diff --no-textconv "$base" "$head" -- | node -e ${shellQuote(DIFF_STAT_PROGRAM)} ${MAX_DIFF_STAT_FILES} > "$out/${OUTPUT_FILES.diffStat}" || fail patch_failed "$range"
if [ "$head" = "$base" ]; then changed=false; else changed=true; fi
result "{\\"step\\":\\"finish\\",\\"ok\\":true,\\"changed\\":$changed$range}"
`;

/**
 * The push, the one step that runs with the git door's write grant: asks the
 * remote for its default branch (its HEAD, as the checkout does) and refuses
 * to push the work branch when it is that branch, in any letter case, whatever
 * the task believed; then pushes the finish step's commit (by its id, so a ref
 * moved since cannot change what leaves) to the work branch, never forced.
 */
const PUSH_BODY = `
branch=\${${STEP_ENV.branch}} head=\${${STEP_ENV.head}}
case "$branch" in -*|+*) fail invalid_input ;; esac
git check-ref-format "refs/heads/$branch" || fail invalid_input
[[ $head =~ ^[0-9a-f]{40}([0-9a-f]{24})?$ ]] || fail invalid_input
cd -- "$work" 2>/dev/null && g rev-parse --git-dir >/dev/null 2>&1 || fail workspace_missing
heads=$(gnet ls-remote --symref -- origin HEAD) || fail repository_unreachable
default=$(printf '%s\\n' "$heads" | sed -n 's|^ref: refs/heads/\\(.*\\)\\tHEAD$|\\1|p' | head -n 1)
if [ -n "$default" ] && [ "\${default,,}" = "\${branch,,}" ]; then fail branch_is_default; fi
gnet push -q --no-verify -- origin "$head:refs/heads/$branch" || fail push_failed
result "{\\"step\\":\\"push\\",\\"ok\\":true}"
`;

/** The environment every step shares: our paths and the git timeout. */
export function pathEnv(paths: RepositoryPaths): Record<string, string> {
  return {
    [STEP_ENV.workDir]: paths.workDir,
    [STEP_ENV.outputDir]: paths.outputDir,
    [STEP_ENV.gitTimeout]: String(GIT_NETWORK_TIMEOUT_SECONDS),
  };
}

export interface CheckoutInput {
  /** The validated clone URL (`RepositorySource.url`). */
  url: string;
  /** The validated ref, or null for the remote's default branch. */
  ref: string | null;
  /** The validated work branch. */
  branch: string;
  /** Whether the branch will be pushed (then it must not be the remote's default branch). */
  push: boolean;
  author?: CommitAuthor;
}

/** Builds the checkout step. */
export function buildCheckoutScript(input: CheckoutInput, paths: RepositoryPaths = REPOSITORY_PATHS): ContainerScript {
  const author = input.author ?? COMMIT_AUTHOR;
  return {
    command: `${stepPrelude("checkout")}\n${CHECKOUT_BODY}`,
    env: {
      ...pathEnv(paths),
      [STEP_ENV.repoUrl]: input.url,
      [STEP_ENV.ref]: input.ref ?? "",
      [STEP_ENV.branch]: input.branch,
      [STEP_ENV.push]: input.push ? "1" : "0",
      [STEP_ENV.authorName]: author.name,
      [STEP_ENV.authorEmail]: author.email,
    },
  };
}

export interface FinishInput {
  branch: string;
  /** The commit message (see `commitMessage`). */
  message: string;
  author?: CommitAuthor;
}

/** Builds the finish step. */
export function buildFinishScript(input: FinishInput, paths: RepositoryPaths = REPOSITORY_PATHS): ContainerScript {
  const author = input.author ?? COMMIT_AUTHOR;
  return {
    command: `${stepPrelude("finish")}\n${FINISH_BODY}`,
    env: {
      ...pathEnv(paths),
      [STEP_ENV.branch]: input.branch,
      [STEP_ENV.commitMessage]: input.message,
      [STEP_ENV.authorName]: author.name,
      [STEP_ENV.authorEmail]: author.email,
    },
  };
}

/** Builds the stop step. */
export function buildStopScript(paths: RepositoryPaths = REPOSITORY_PATHS): ContainerScript {
  return { command: `${stepPrelude("stop")}\n${STOP_BODY}`, env: pathEnv(paths) };
}

export interface PushInput {
  /** The validated work branch. */
  branch: string;
  /** The commit to push: the finish step's `head`. */
  head: string;
}

/** Builds the push step. */
export function buildPushScript(input: PushInput, paths: RepositoryPaths = REPOSITORY_PATHS): ContainerScript {
  return {
    command: `${stepPrelude("push")}\n${PUSH_BODY}`,
    env: { ...pathEnv(paths), [STEP_ENV.branch]: input.branch, [STEP_ENV.head]: input.head },
  };
}

/**
 * The message of the steps' commit: the pull request title (or a default
 * subject), then the task id and, for a follow-up, the task it continues.
 */
export function commitMessage(input: { taskId: string; title?: string | null; continuedFrom?: string | null }): string {
  const subject = input.title?.trim() || "Changes made by Claude Code";
  const trailers = [`Claude-Sandbox-Task: ${input.taskId}`];
  if (input.continuedFrom) trailers.push(`Claude-Sandbox-Continues: ${input.continuedFrom}`);
  return `${subject}\n\n${trailers.join("\n")}`;
}

const SHA_PATTERN = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const isSha = (value: unknown): value is string => typeof value === "string" && SHA_PATTERN.test(value);

/**
 * Reads a step's result line from its stdout (the last `CLAUDE_SANDBOX_RESULT`
 * line). Anything missing, malformed or of another step is a failure with code
 * `step_output_missing`, never an exception.
 */
export function parseStepResult(stdout: string, step: StepName): StepResult {
  const missing: StepResult = { step, ok: false, code: "step_output_missing" };
  const line = stdout
    .split("\n")
    .reverse()
    .find((candidate) => candidate.startsWith(RESULT_MARKER));
  if (line === undefined) return missing;
  let parsed: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(line.slice(RESULT_MARKER.length));
    if (typeof value !== "object" || value === null || Array.isArray(value)) return missing;
    parsed = value as Record<string, unknown>;
  } catch {
    return missing;
  }
  if (parsed.step !== step) return missing;
  if (parsed.ok === false) {
    if (typeof parsed.code !== "string" || !Object.hasOwn(STEP_FAILURES, parsed.code)) return missing;
    const failure: StepResult = { step, ok: false, code: parsed.code as StepFailureCode };
    return isSha(parsed.base) && isSha(parsed.head) ? { ...failure, base: parsed.base, head: parsed.head } : failure;
  }
  if (parsed.ok !== true) return missing;
  switch (step) {
    case "checkout": {
      const { base, defaultBranch } = parsed;
      if (!isSha(base) || !(defaultBranch === null || typeof defaultBranch === "string")) return missing;
      return { step, ok: true, base, defaultBranch };
    }
    case "stop":
    case "push":
      return { step, ok: true };
    case "finish": {
      const { changed, base, head } = parsed;
      if (typeof changed !== "boolean" || !isSha(base) || !isSha(head)) return missing;
      return { step, ok: true, changed, base, head };
    }
    case "pack": {
      const { bytes } = parsed;
      return Number.isSafeInteger(bytes) && (bytes as number) >= 0 ? { step, ok: true, bytes: bytes as number } : missing;
    }
    case "unpack": {
      const { base } = parsed;
      return base === null || isSha(base) ? { step, ok: true, base } : missing;
    }
  }
}

/** One changed file of a diff stat. */
type DiffStatFile = DiffStat["files"][number];

/** Longest path kept in a diff stat entry. */
const MAX_STAT_PATH_LENGTH = 4096;

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * Reads `diff-stat.json` as the finish step wrote it. The file comes from the
 * container, so every field is checked and the list is bounded; null when it
 * is not a diff stat.
 */
export function parseDiffStat(text: string): DiffStat | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const { filesChanged, insertions, deletions, files, truncated } = value as Record<string, unknown>;
  if (!isCount(filesChanged) || !isCount(insertions) || !isCount(deletions) || typeof truncated !== "boolean") return null;
  if (!Array.isArray(files) || files.length > MAX_DIFF_STAT_FILES || files.length > filesChanged) return null;
  const checked: DiffStatFile[] = [];
  for (const file of files as unknown[]) {
    if (typeof file !== "object" || file === null) return null;
    const entry = file as Record<string, unknown>;
    if (typeof entry.path !== "string" || entry.path.length === 0 || entry.path.length > MAX_STAT_PATH_LENGTH) return null;
    if (!isCount(entry.insertions) || !isCount(entry.deletions) || typeof entry.binary !== "boolean") return null;
    checked.push({ path: entry.path, insertions: entry.insertions, deletions: entry.deletions, binary: entry.binary });
  }
  return { filesChanged, insertions, deletions, files: checked, truncated };
}
