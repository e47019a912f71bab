/**
 * One task at a time per repository and branch, in the order tasks were
 * accepted: the ordering rules as pure functions over a small state, kept by
 * the BranchQueue Durable Object (branch-queue-object.ts), one per repository
 * and branch.
 *
 * The task at the head may run; the others wait, and their position is how
 * many tasks are ahead of them. A task leaves the queue when it ends (or gives
 * up waiting). A head that never leaves (its Task object lost the release) is
 * dropped once it has held the branch longer than any task can run, so a
 * branch is never blocked for good.
 */
import { LIMITS } from "../contract.js";
import { GITHUB_HOST } from "./request.js";

/** The queue of one repository and branch. */
export interface BranchQueueState {
  /** Task ids in the order they were accepted; the first holds the branch. */
  entries: readonly string[];
  /** When the current head started to hold the branch (ms); null when the queue is empty. */
  headSince: number | null;
}

/** The most tasks waiting on one branch. */
export const MAX_QUEUED_PER_BRANCH = 100;

/**
 * The longest a head may hold the branch before it is taken as lost: the
 * longest task timeout, the most grace the deployment may set, and time for
 * the checkout, the finish and the archive.
 */
export const MAX_BRANCH_HOLD_MS = LIMITS.ceilingTimeoutMs + 600_000 + 300_000;

export const EMPTY_BRANCH_QUEUE: BranchQueueState = { entries: [], headSince: null };

/** A task's place: 0 holds the branch, n has n tasks ahead; null when it is not queued. */
export function queuePosition(state: BranchQueueState, taskId: string): number | null {
  const index = state.entries.indexOf(taskId);
  return index === -1 ? null : index;
}

/** The task that holds the branch, or null. */
export function queueHead(state: BranchQueueState): string | null {
  return state.entries[0] ?? null;
}

/**
 * Adds a task at the end (or keeps its place when it is queued already: a
 * retried call never moves it back). Refused when the branch has
 * `MAX_QUEUED_PER_BRANCH` tasks.
 */
export function enqueue(
  state: BranchQueueState,
  taskId: string,
  now: number,
): { state: BranchQueueState; position: number } | { refused: "branch_queue_full" } {
  const existing = queuePosition(state, taskId);
  if (existing !== null) return { state, position: existing };
  if (state.entries.length >= MAX_QUEUED_PER_BRANCH) return { refused: "branch_queue_full" };
  return {
    state: { entries: [...state.entries, taskId], headSince: state.entries.length === 0 ? now : state.headSince },
    position: state.entries.length,
  };
}

/** Removes a task wherever it is; when it held the branch, the next task holds it from `now`. Returns the head after. */
export function release(state: BranchQueueState, taskId: string, now: number): { state: BranchQueueState; head: string | null } {
  const index = queuePosition(state, taskId);
  if (index === null) return { state, head: queueHead(state) };
  const entries = state.entries.filter((entry) => entry !== taskId);
  const headSince = entries.length === 0 ? null : index === 0 ? now : state.headSince;
  return { state: { entries, headSince }, head: entries[0] ?? null };
}

/** Drops heads that held the branch for `maxHoldMs` or more; each next head holds it from `now`. */
export function dropLostHeads(
  state: BranchQueueState,
  now: number,
  maxHoldMs: number = MAX_BRANCH_HOLD_MS,
): { state: BranchQueueState; dropped: string[] } {
  const dropped: string[] = [];
  let current = state;
  while (current.headSince !== null && now - current.headSince >= maxHoldMs) {
    dropped.push(current.entries[0]!);
    current = release(current, current.entries[0]!, now).state;
  }
  return { state: current, dropped };
}

/**
 * The name of the queue of a repository and branch (the Durable Object's
 * name): host and path as `RepositorySource` holds them, lower-cased on
 * GitHub, whose owner and repository names are not case-sensitive.
 */
export function branchQueueName(repository: { host: string; path: string }, branch: string): string {
  const path = repository.host === GITHUB_HOST ? repository.path.toLowerCase() : repository.path;
  return `${repository.host}${path}#${branch}`;
}
