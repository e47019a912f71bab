/**
 * The repository part of a task, around Claude Code's run: before it, check
 * out the repository on the work branch (or restore a follow-up's workspace
 * from R2) and open the git door; after it, commit, write the patch and diff
 * stat, push, open the pull request (from the Worker, never the container),
 * and keep the workspace in R2 for a follow-up. The steps themselves are the
 * scripts of repositories/; this module runs them and stores what they leave.
 */
import { ARTIFACTS, artifactKey, LIMITS, type RepositoryDocument, type TaskError, workspaceKey } from "../contract.js";
import { githubCredentials, githubRepositoryOf } from "../egress/git-credentials.js";
import { openPullRequest, repositoryDefaultBranch, repositoryToken, type GitHubError } from "../repositories/github.js";
import {
  buildCheckoutScript,
  buildFinishScript,
  commitMessage,
  OUTPUT_FILES,
  parseDiffStat,
  parseStepResult,
  REPOSITORY_PATHS,
  STEP_FAILURES,
  type StepFailureCode,
} from "../repositories/script.js";
import { buildPackScript, buildUnpackScript, WORKSPACE_ARCHIVE_FILE } from "../repositories/workspace.js";
import type { TaskSandbox } from "../sandbox/control.js";
import type { WorkerSecrets } from "../secrets.js";
import { readSettings, type SettingsSource } from "../settings.js";
import { readAtMost } from "../streams.js";
import type { RepositoryPlan } from "./submission.js";

/** The step result's failure, as the task's error. */
function stepError(code: StepFailureCode): TaskError {
  return { code: "repository_failed", message: `${STEP_FAILURES[code].message} (${code})` };
}

const STEP_TIMEOUT_MS = LIMITS.repositoryStepSeconds * 1000;

/** Opens the git door of the task's sandbox for its repository. */
export function grantRepository(sandbox: TaskSandbox, plan: RepositoryPlan): Promise<void> {
  return sandbox.grantRepository({
    host: plan.repo.host,
    repositoryPath: plan.repo.path,
    pushBranch: plan.push ? plan.branch : null,
    github: plan.repo.github,
  });
}

/**
 * Prepares the working tree before Claude Code: the door, then a checkout on
 * the work branch, or for a follow-up the earlier task's workspace from R2.
 * Returns the commit the task starts from, or the error that ends it.
 */
export async function prepareRepository(
  sandbox: TaskSandbox,
  bucket: R2Bucket,
  plan: RepositoryPlan,
): Promise<{ base: string | null; defaultBranch: string | null } | { error: TaskError }> {
  await grantRepository(sandbox, plan);
  if (plan.continuedFrom !== null) {
    const archive = await bucket.get(workspaceKey(plan.continuedFrom));
    if (archive === null) return { error: stepError("restore_failed") };
    await sandbox.writeFile(`${REPOSITORY_PATHS.outputDir}/${WORKSPACE_ARCHIVE_FILE}`, archive.body);
    const script = buildUnpackScript();
    const outcome = await sandbox.exec(script.command, { env: script.env, timeoutMs: STEP_TIMEOUT_MS });
    const result = parseStepResult(outcome.stdout, "unpack");
    if (!result.ok) return { error: stepError(result.code) };
    return { base: result.step === "unpack" ? result.base : null, defaultBranch: null };
  }
  const script = buildCheckoutScript({ url: plan.repo.url, ref: plan.repo.ref, branch: plan.branch, push: plan.push });
  const outcome = await sandbox.exec(script.command, { env: script.env, timeoutMs: STEP_TIMEOUT_MS });
  const result = parseStepResult(outcome.stdout, "checkout");
  if (!result.ok) return { error: stepError(result.code) };
  return result.step === "checkout" ? { base: result.base, defaultBranch: result.defaultBranch } : { base: null, defaultBranch: null };
}

/** Reads a file of the container, at most `maxBytes` (null when larger, missing or unreadable). */
async function readBounded(sandbox: TaskSandbox, path: string, maxBytes: number): Promise<Uint8Array | null> {
  try {
    return await readAtMost(await sandbox.readFile(path), maxBytes);
  } catch {
    return null;
  }
}

/** The environment the GitHub client needs. */
export type RepositoryEnv = WorkerSecrets & SettingsSource & { RESULTS: R2Bucket };

/**
 * Finishes the repository part after Claude Code: commit, patch and diff stat
 * (stored as the `changes.patch` artifact), push, pull request, and the
 * workspace for follow-ups. Returns the updated document and the error of the
 * first step that failed (null when all went well).
 */
export async function finishRepository(input: {
  sandbox: TaskSandbox;
  env: RepositoryEnv;
  plan: RepositoryPlan;
  taskId: string;
  task: string;
  document: RepositoryDocument;
  defaultBranch: string | null;
}): Promise<{ document: RepositoryDocument; error: TaskError | null; workspaceStored?: boolean }> {
  const { sandbox, env, plan, taskId } = input;
  let document = { ...input.document };
  const title = plan.pullRequest?.title ?? `Claude Code: ${input.task.split("\n")[0]!.trim().slice(0, 120)}`;
  await grantRepository(sandbox, plan);

  const finish = buildFinishScript({
    branch: plan.branch,
    push: plan.push,
    message: commitMessage({ taskId, title, continuedFrom: plan.continuedFrom }),
  });
  const outcome = await sandbox.exec(finish.command, { env: finish.env, timeoutMs: STEP_TIMEOUT_MS });
  const result = parseStepResult(outcome.stdout, "finish");
  if (result.step === "finish" && result.ok) {
    document = { ...document, base: result.base, head: result.changed ? result.head : null, pushed: result.pushed };
  } else if (!result.ok && result.head !== undefined) {
    document = { ...document, head: result.head };
  }

  // The diff stat and the patch, whatever happened to the push.
  const stat = await readBounded(sandbox, `${REPOSITORY_PATHS.outputDir}/${OUTPUT_FILES.diffStat}`, 1024 * 1024);
  document.diffStat = stat ? parseDiffStat(new TextDecoder().decode(stat)) : null;
  const patch = await readBounded(sandbox, `${REPOSITORY_PATHS.outputDir}/${OUTPUT_FILES.patch}`, LIMITS.maxPatchBytes);
  if (patch !== null) {
    await env.RESULTS.put(artifactKey(taskId, "changes.patch"), patch, { httpMetadata: { contentType: ARTIFACTS["changes.patch"] } });
  } else {
    document.artifacts = {};
  }
  if (!result.ok) return { document, error: stepError(result.code) };

  let error: TaskError | null = null;
  if (plan.pullRequest !== null && document.pushed) {
    try {
      const settings = readSettings(env);
      // Only the deployment's GitHub opens the pull request: never a token of one GitHub for another's repository.
      const repository = githubRepositoryOf(plan.repo, settings);
      const credentials = githubCredentials(env);
      if (repository === null || credentials === null) throw new Error("no GitHub credential for this repository");
      const options = { apiUrl: settings.githubApiUrl };
      const { token } = await repositoryToken(credentials, repository, "pullRequest", options);
      const base = plan.repo.ref ?? input.defaultBranch ?? (await repositoryDefaultBranch(token, repository, options));
      const opened = await openPullRequest(token, {
        ...repository,
        head: plan.branch,
        base,
        title,
        body: plan.pullRequest.body ?? `Made by Claude Code in claude-sandbox task \`${taskId}\`.`,
      }, options);
      document.pullRequest = { url: opened.url, number: opened.number };
    } catch (failure) {
      const code = (failure as Partial<GitHubError>).code;
      error = { code: "repository_failed", message: `The pull request could not be opened (${code ?? "github_unavailable"})` };
    }
  }

  // The workspace, for a follow-up.
  const pack = buildPackScript();
  const packed = parseStepResult((await sandbox.exec(pack.command, { env: pack.env, timeoutMs: STEP_TIMEOUT_MS })).stdout, "pack");
  let workspaceStored = false;
  if (packed.step === "pack" && packed.ok) {
    try {
      const archive = await sandbox.readFile(`${REPOSITORY_PATHS.outputDir}/${WORKSPACE_ARCHIVE_FILE}`);
      const { readable, writable } = new FixedLengthStream(packed.bytes);
      await Promise.all([env.RESULTS.put(workspaceKey(taskId), readable), archive.pipeTo(writable)]);
      workspaceStored = true;
    } catch {
      // Without it, a follow-up of this task answers continue_from_unavailable; the task itself is done.
    }
  }
  return { document, error, workspaceStored };
}
