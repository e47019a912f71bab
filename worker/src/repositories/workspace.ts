/**
 * Follow-ups: what a task leaves for the next one, and how the next one picks
 * it up.
 *
 * `buildPackScript` (after the finish step) writes one tar.gz archive holding
 * the working tree with its `.git` (members `workspace/...`) and Claude Code's
 * session data, `~/.claude/projects` (members `projects/...`). Claude Code
 * 2.1.332 keeps a session as `~/.claude/projects/<working directory with every
 * character other than a letter or digit turned into "-">/<session id>.jsonl`,
 * and `claude --resume <session id>` needs nothing else, but only from the same
 * working directory: the working directory is fixed (`REPOSITORY_PATHS`) for
 * that reason. The rest of `~/.claude` (settings, caches, backups) is left
 * out, so the archive never carries anything but the work and the
 * conversation.
 *
 * `buildUnpackScript` (before a follow-up's Claude Code) restores both into an
 * empty working directory and `$HOME/.claude`, and records the restored HEAD
 * as the follow-up's base commit. `sessionArguments` gives the Claude Code
 * flags: every task's session id is its task id, and a follow-up resumes the
 * earlier task's session as a fork under its own id, so the earlier session
 * stays as it was.
 *
 * Like script.ts, the scripts are constant commands; paths travel in the
 * environment, and stdout carries only the `CLAUDE_SANDBOX_RESULT` line.
 */
import { isUuid } from "../contract.js";
import { type ContainerScript, OUTPUT_FILES, pathEnv, REPOSITORY_PATHS, type RepositoryPaths, STEP_ENV, stepPrelude } from "./script.js";

/** The archive's file name in `outputDir`: written by the pack, read by the unpack. */
export const WORKSPACE_ARCHIVE_FILE = "workspace.tar.gz";

/** The largest archive the pack writes, in bytes (R2 takes far more; this bounds one follow-up's restore). */
export const MAX_WORKSPACE_ARCHIVE_BYTES = 1024 * 1024 * 1024;

/**
 * Archives the working tree (with `.git`) and `~/.claude/projects`. Symlinks
 * are kept as links, their targets untouched. Fails with `workspace_missing`,
 * `archive_failed` or `archive_too_large` (the archive is then removed).
 */
const PACK_BODY = `
archive=$out/\${${STEP_ENV.archive}} max=\${${STEP_ENV.maxArchiveBytes}}
[ -d "$work" ] || fail workspace_missing
mkdir -p -- "$out" || fail archive_failed
members=(-C "$work" .)
if [ -d "$HOME/.claude/projects" ]; then members+=(-C "$HOME/.claude" projects); fi
tar --create --gzip --file "$archive" --transform='s,^\\./,workspace/,S' --transform='s,^\\.$,workspace,S' "\${members[@]}" || fail archive_failed
bytes=$(stat -c %s -- "$archive") || fail archive_failed
if [ "$bytes" -gt "$max" ]; then rm -f -- "$archive"; fail archive_too_large; fi
result "{\\"step\\":\\"pack\\",\\"ok\\":true,\\"bytes\\":$bytes}"
`;

/**
 * Restores an archive of `PACK_BODY` into an empty working directory and
 * `$HOME/.claude`, then writes the restored HEAD (if the working tree is a
 * git repository) as the base commit. Fails with `restore_failed` or
 * `workspace_not_empty`.
 */
const UNPACK_BODY = `
archive=$out/\${${STEP_ENV.archive}}
[ -f "$archive" ] || fail restore_failed
mkdir -p -- "$work" "$HOME/.claude" || fail restore_failed
if [ -n "$(ls -A -- "$work")" ]; then fail workspace_not_empty; fi
tar --extract --gzip --no-same-owner --file "$archive" -C "$work" --strip-components=1 workspace || fail restore_failed
if tar --list --gzip --file "$archive" projects >/dev/null 2>&1; then
  tar --extract --gzip --no-same-owner --file "$archive" -C "$HOME/.claude" projects || fail restore_failed
fi
base=null
if head=$(cd -- "$work" && g rev-parse --verify -q 'HEAD^{commit}' 2>/dev/null); then
  printf '%s\\n' "$head" > "$out/${OUTPUT_FILES.baseCommit}" || fail restore_failed
  base="\\"$head\\""
fi
result "{\\"step\\":\\"unpack\\",\\"ok\\":true,\\"base\\":$base}"
`;

/** The environment of the pack and the unpack: every step's, and the archive's name. */
function workspaceEnv(paths: RepositoryPaths): Record<string, string> {
  return { ...pathEnv(paths), [STEP_ENV.archive]: WORKSPACE_ARCHIVE_FILE };
}

/** Builds the pack step; the archive is `<outputDir>/workspace.tar.gz`. `HOME` is the container's own. */
export function buildPackScript(paths: RepositoryPaths = REPOSITORY_PATHS, maxBytes: number = MAX_WORKSPACE_ARCHIVE_BYTES): ContainerScript {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new RangeError("maxBytes must be a positive integer");
  return {
    command: `${stepPrelude("pack")}\n${PACK_BODY}`,
    env: { ...workspaceEnv(paths), [STEP_ENV.maxArchiveBytes]: String(maxBytes) },
  };
}

/** Builds the unpack step; the archive must be at `<outputDir>/workspace.tar.gz`. */
export function buildUnpackScript(paths: RepositoryPaths = REPOSITORY_PATHS): ContainerScript {
  return { command: `${stepPrelude("unpack")}\n${UNPACK_BODY}`, env: workspaceEnv(paths) };
}

/** The Claude Code flags `sessionArguments` uses; a test checks each against `claude --help` of the pinned version. */
export const SESSION_FLAGS = ["--session-id", "--resume", "--fork-session"] as const;

/**
 * The session flags of a task's `claude`: `--session-id <task id>`, and for a
 * follow-up `--resume <earlier session id> --fork-session` before it. Both
 * ids must be UUIDs (a task id is one, and so is the session id Claude Code
 * reports); anything else throws, so no other text can become an argument.
 */
export function sessionArguments(input: { taskId: string; resumeSessionId: string | null }): string[] {
  if (!isUuid(input.taskId)) throw new TypeError("taskId must be a UUID");
  const own = ["--session-id", input.taskId.toLowerCase()];
  if (input.resumeSessionId === null) return own;
  if (!isUuid(input.resumeSessionId)) throw new TypeError("resumeSessionId must be a UUID");
  return ["--resume", input.resumeSessionId.toLowerCase(), "--fork-session", ...own];
}
