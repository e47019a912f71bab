/**
 * The repository part of a task, around Claude Code's run: before it, open
 * the git door for reading and check out the repository on the work branch
 * (or restore a follow-up's workspace from R2); after it, stop every process
 * Claude Code left, commit, write the patch and diff stat, push, open the pull
 * request (from the Worker, never the container), and keep the workspace in R2
 * for a follow-up. The git door lets the task push only while the push step
 * runs, and never when the work branch is the repository's default branch as
 * the task knows it. The steps themselves are the scripts of repositories/;
 * this module runs them and stores what they leave.
 */
import { ARTIFACTS, artifactKey, LIMITS, type RepositoryDocument, type TaskError, type TaskResult, workspaceKey } from "../contract.js";
import { githubCredentials, githubRepositoryOf } from "../egress/git-credentials.js";
import { openPullRequest, repositoryDefaultBranch, repositoryToken, type GitHubError } from "../repositories/github.js";
import {
  buildCheckoutScript,
  buildFinishScript,
  buildPushScript,
  buildStopScript,
  commitMessage,
  type ContainerScript,
  OUTPUT_FILES,
  parseDiffStat,
  parseStepResult,
  REPOSITORY_PATHS,
  STEP_FAILURES,
  type StepFailureCode,
  type StepName,
  type StepResult,
} from "../repositories/script.js";
import { buildPackScript, buildUnpackScript, WORKSPACE_ARCHIVE_FILE } from "../repositories/workspace.js";
import type { TaskSandbox } from "../sandbox/control.js";
import type { WorkerSecrets } from "../secrets.js";
import { readSettings, type SettingsSource } from "../settings.js";
import { loadResult } from "../storage/results.js";
import { readAtMost } from "../streams.js";
import type { RepositoryPlan } from "./submission.js";

/** The step result's failure, as the task's error. */
function stepError(code: StepFailureCode): TaskError {
  return { code: "repository_failed", message: `${STEP_FAILURES[code].message} (${code})` };
}

const STEP_TIMEOUT_MS = LIMITS.repositoryStepSeconds * 1000;

/**
 * Opens the git door of the task's sandbox for its repository: for reading,
 * or (`pushBranch`) for pushing that branch too.
 */
export function grantRepository(sandbox: TaskSandbox, plan: RepositoryPlan, pushBranch: string | null): Promise<void> {
  return sandbox.grantRepository({ host: plan.repo.host, repositoryPath: plan.repo.path, pushBranch, github: plan.repo.github });
}

/** Runs one step in the container and reads its result. */
async function runStep(sandbox: TaskSandbox, script: ContainerScript, step: StepName): Promise<StepResult> {
  const outcome = await sandbox.exec(script.command, { env: script.env, timeoutMs: STEP_TIMEOUT_MS });
  return parseStepResult(outcome.stdout, step);
}

/** The default branch a follow-up's earlier task knew, from its stored result (it ended before this one ran). */
async function earlierDefaultBranch(bucket: R2Bucket, taskId: string): Promise<string | null> {
  try {
    const earlier = (await loadResult(bucket, taskId)) as Partial<TaskResult> | null;
    const known = earlier?.repository?.defaultBranch;
    return typeof known === "string" ? known : null;
  } catch {
    return null;
  }
}

/**
 * Prepares the working tree before Claude Code: the door, for reading only,
 * then a checkout on the work branch, or for a follow-up the earlier task's
 * workspace from R2. Returns the commit the task starts from and the
 * repository's default branch as far as it is known (read by the checkout,
 * or kept by the earlier task), or the error that ends the task.
 */
export async function prepareRepository(
  sandbox: TaskSandbox,
  bucket: R2Bucket,
  plan: RepositoryPlan,
): Promise<{ base: string | null; defaultBranch: string | null } | { error: TaskError }> {
  await grantRepository(sandbox, plan, null);
  if (plan.continuedFrom !== null) {
    const archive = await bucket.get(workspaceKey(plan.continuedFrom));
    if (archive === null) return { error: stepError("restore_failed") };
    await sandbox.writeFile(`${REPOSITORY_PATHS.outputDir}/${WORKSPACE_ARCHIVE_FILE}`, archive.body);
    const result = await runStep(sandbox, buildUnpackScript(), "unpack");
    if (!result.ok) return { error: stepError(result.code) };
    const defaultBranch = (await earlierDefaultBranch(bucket, plan.continuedFrom)) ?? plan.defaultBranch;
    return { base: result.step === "unpack" ? result.base : null, defaultBranch };
  }
  const result = await runStep(sandbox, buildCheckoutScript({ url: plan.repo.url, ref: plan.repo.ref, branch: plan.branch, push: plan.push }), "checkout");
  if (!result.ok) return { error: stepError(result.code) };
  return result.step === "checkout" ? { base: result.base, defaultBranch: result.defaultBranch } : { base: null, defaultBranch: null };
}

/**
 * Pushes the work branch's commit: refused without a grant when the branch is
 * the repository's default branch as the task knows it (in any letter case),
 * else with the git door's write grant open for the push step only.
 */
async function pushBranch(sandbox: TaskSandbox, plan: RepositoryPlan, defaultBranch: string | null, head: string): Promise<StepResult> {
  if (defaultBranch !== null && defaultBranch.toLowerCase() === plan.branch.toLowerCase()) return { step: "push", ok: false, code: "branch_is_default" };
  await grantRepository(sandbox, plan, plan.branch);
  try {
    return await runStep(sandbox, buildPushScript({ branch: plan.branch, head }), "push");
  } finally {
    await grantRepository(sandbox, plan, null);
  }
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
 * Finishes the repository part after Claude Code: the git door back to
 * reading and every process Claude Code left stopped, then commit, patch and
 * diff stat (stored as the `changes.patch` artifact), push, pull request, and
 * the workspace for follow-ups. Returns the updated document and the error of
 * the first step that failed (null when all went well).
 */
export async function finishRepository(input: {
  sandbox: TaskSandbox;
  env: RepositoryEnv;
  plan: RepositoryPlan;
  taskId: string;
  task: string;
  document: RepositoryDocument;
}): Promise<{ document: RepositoryDocument; error: TaskError | null; workspaceStored?: boolean }> {
  const { sandbox, env, plan, taskId } = input;
  let document = { ...input.document };
  const defaultBranch = document.defaultBranch ?? null;
  const title = plan.pullRequest?.title ?? `Claude Code: ${input.task.split("\n")[0]!.trim().slice(0, 120)}`;
  await grantRepository(sandbox, plan, null);
  const stopped = await runStep(sandbox, buildStopScript(), "stop");

  const message = commitMessage({ taskId, title, continuedFrom: plan.continuedFrom });
  const result = await runStep(sandbox, buildFinishScript({ branch: plan.branch, message }), "finish");
  if (result.step === "finish" && result.ok) {
    document = { ...document, base: result.base, head: result.changed ? result.head : null };
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
  if (!stopped.ok) return { document, error: stepError(stopped.code) };
  if (plan.push && result.step === "finish" && result.changed) {
    const pushed = await pushBranch(sandbox, plan, defaultBranch, result.head);
    if (!pushed.ok) return { document, error: stepError(pushed.code) };
    document.pushed = true;
  }

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
      const base = plan.repo.ref ?? defaultBranch ?? (await repositoryDefaultBranch(token, repository, options));
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
  const packed = await runStep(sandbox, buildPackScript(), "pack");
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
