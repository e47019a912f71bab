/**
 * What a task is once it is accepted: the request as validated (with the
 * deployment's defaults applied), and the submission that fixes everything
 * else the task needs from the deployment at that moment, so a later change
 * of the settings never changes a task already accepted.
 */
import type { PermissionMode } from "../contract.js";
import type { RepositoryRequest, RepositorySource } from "../repositories/request.js";

/** A validated task request, with the deployment's defaults applied. */
export interface TaskRequest {
  task: string;
  timeoutMs: number;
  permissionMode: PermissionMode;
  model?: string;
  maxTurns?: number;
  /** Passed to `claude --max-budget-usd`. */
  maxBudgetUsd?: number;
  /** Where the `task.finished` webhook goes. */
  callbackUrl?: string;
  /** The repository fields, when the task names a repository or a task to continue. */
  repository?: RepositoryRequest;
}

/** Everything a task needs, fixed when it is accepted. */
export interface TaskSubmission {
  taskId: string;
  /** Epoch ms. */
  createdAt: number;
  request: TaskRequest;
  graceMs: number;
  queueTimeoutMs: number;
  maxOutputBytes: number;
  credentialMode: "proxy" | "env";
  /** What a repository task works on; null for a task without a repository. */
  repository: RepositoryPlan | null;
  /** Who submitted it, when Cloudflare Access let them in (their email); absent for a request with the API token. */
  submittedBy?: string;
}

/** What a repository task works on, fixed when it is accepted. */
export interface RepositoryPlan {
  repo: RepositorySource;
  branch: string;
  push: boolean;
  pullRequest: { title: string | null; body: string | null } | null;
  /** The task whose workspace a follow-up restores. */
  continuedFrom: string | null;
  /** The repository's default branch as the task followed up knew it when this one was accepted; null when not known. */
  defaultBranch: string | null;
}
