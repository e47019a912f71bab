/**
 * One task at a time per repository and branch, in the order tasks were
 * accepted: the ordering rules as pure functions over a small state, kept by
 * the BranchQueue Durable Object (branch-queue-object.ts), one per repository
 * and branch.
 *
 * The task at the head may run; the others wait, and their position is how
 * many tasks are ahead of them. A task leaves the queue when it ends (or gives
 * up waiting). When a task learns that its turn came, it claims it, telling
 * how long it may hold the branch at most (`branchHoldMs`: its own deadlines);
 * only a task that claimed its turn ever runs. A head that never leaves (its
 * Task object lost the release) is dropped once its claim runs out, or, when
 * it never claimed its turn, after `UNCLAIMED_TURN_MS`: so a branch is never
 * blocked for good, and never dropped from a task that may still work on it.
 */
import { LIMITS, REPOSITORY_STEPS_GRACE_MS } from "../contract.js";
import type { RepositorySource } from "./request.js";

/** The queue of one repository and branch. */
export interface BranchQueueState {
  /** Task ids in the order they were accepted; the first holds the branch. */
  entries: readonly string[];
  /** When the current head started to hold the branch (ms); null when the queue is empty. */
  headSince: number | null;
  /** Until when the current head may hold the branch (ms), once it claimed its turn; null until then. */
  headUntil: number | null;
}

/** The most tasks waiting on one branch. */
export const MAX_QUEUED_PER_BRANCH = 100;

/** Time a head needs after its own deadlines to let the branch go: learning its turn, destroying its container, storing its result. */
export const BRANCH_RELEASE_MARGIN_MS = 300_000;

/**
 * The longest a task may hold its branch from its turn: its wait for a
 * container (its queue timeout counts from its turn), its timeout, its grace
 * with the repository steps (`REPOSITORY_STEPS_GRACE_MS`), and the release margin.
 */
export function branchHoldMs(task: { queueTimeoutMs: number; timeoutMs: number; graceMs: number }): number {
  return task.queueTimeoutMs + task.timeoutMs + task.graceMs + BRANCH_RELEASE_MARGIN_MS;
}

/**
 * The longest any task may hold a branch: `branchHoldMs` of the longest
 * queue timeout, task timeout and grace a deployment may set. The hold of a
 * head that was queued before heads claimed their turn.
 */
export const MAX_BRANCH_HOLD_MS = branchHoldMs({
  queueTimeoutMs: LIMITS.ceilingQueueTimeoutMs,
  timeoutMs: LIMITS.ceilingTimeoutMs,
  graceMs: LIMITS.ceilingDeadlineGraceMs + REPOSITORY_STEPS_GRACE_MS,
});

/**
 * How long a head may go without claiming its turn before it is taken as lost
 * (it ended without its release, or was never accepted). A waiting task asks
 * its queue every few seconds and is woken when its turn comes, and it claims
 * the turn in the same call that tells it, so a live task claims it in seconds.
 */
export const UNCLAIMED_TURN_MS = 600_000;

export const EMPTY_BRANCH_QUEUE: BranchQueueState = { entries: [], headSince: null, headUntil: null };

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
 * The head claims its turn: it may hold the branch for `holdMs` from `now`
 * (see `branchHoldMs`). Only the head claims, and its first claim stands (a
 * retried call never extends it).
 */
export function claimTurn(state: BranchQueueState, taskId: string, holdMs: number, now: number): BranchQueueState {
  if (queueHead(state) !== taskId || state.headUntil !== null) return state;
  return { ...state, headUntil: now + holdMs };
}

/**
 * Adds a task at the end (or keeps its place when it is queued already: a
 * retried call never moves it back). Refused when the branch has
 * `MAX_QUEUED_PER_BRANCH` tasks. With `holdMs`, a task that holds the branch
 * claims its turn (see `claimTurn`).
 */
export function enqueue(
  state: BranchQueueState,
  taskId: string,
  now: number,
  holdMs?: number,
): { state: BranchQueueState; position: number } | { refused: "branch_queue_full" } {
  const claim = (queued: BranchQueueState) => (holdMs === undefined ? queued : claimTurn(queued, taskId, holdMs, now));
  const existing = queuePosition(state, taskId);
  if (existing !== null) return { state: claim(state), position: existing };
  if (state.entries.length >= MAX_QUEUED_PER_BRANCH) return { refused: "branch_queue_full" };
  const first = state.entries.length === 0;
  return {
    state: claim({ entries: [...state.entries, taskId], headSince: first ? now : state.headSince, headUntil: first ? null : state.headUntil }),
    position: state.entries.length,
  };
}

/** Removes a task wherever it is; when it held the branch, the next task holds it from `now` (unclaimed). Returns the head after. */
export function release(state: BranchQueueState, taskId: string, now: number): { state: BranchQueueState; head: string | null } {
  const index = queuePosition(state, taskId);
  if (index === null) return { state, head: queueHead(state) };
  const entries = state.entries.filter((entry) => entry !== taskId);
  const next: BranchQueueState =
    entries.length === 0
      ? EMPTY_BRANCH_QUEUE
      : index === 0
        ? { entries, headSince: now, headUntil: null }
        : { entries, headSince: state.headSince, headUntil: state.headUntil };
  return { state: next, head: entries[0] ?? null };
}

/** Whether the head is lost at `now`: past its claim, or unclaimed for `unclaimedMs`. */
function headLost(state: BranchQueueState, now: number, unclaimedMs: number): boolean {
  if (state.headSince === null) return false;
  return state.headUntil !== null ? now >= state.headUntil : now - state.headSince >= unclaimedMs;
}

/** Drops heads past their claim, or that left their turn unclaimed for `unclaimedMs`; each next head holds the branch from `now`. */
export function dropLostHeads(
  state: BranchQueueState,
  now: number,
  unclaimedMs: number = UNCLAIMED_TURN_MS,
): { state: BranchQueueState; dropped: string[] } {
  const dropped: string[] = [];
  let current = state;
  while (headLost(current, now, unclaimedMs)) {
    dropped.push(current.entries[0]!);
    current = release(current, current.entries[0]!, now).state;
  }
  return { state: current, dropped };
}

/**
 * The name of the queue of a repository and branch (the Durable Object's
 * name): host and path as `RepositorySource` holds them, lower-cased on the
 * deployment's GitHub (github.com or its Enterprise Server), whose owner and
 * repository names are not case-sensitive.
 */
export function branchQueueName(repository: Pick<RepositorySource, "host" | "path" | "github">, branch: string): string {
  const path = repository.github ? repository.path.toLowerCase() : repository.path;
  return `${repository.host}${path}#${branch}`;
}
