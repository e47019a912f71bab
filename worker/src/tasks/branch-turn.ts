/**
 * A repository task's turn on its branch: the calls its object makes to the
 * BranchQueue object of its repository and branch (repositories/). It joins
 * the queue when it is accepted, asks for its position while it waits (the
 * call that tells it its turn came also claims the turn, for as long as its
 * own deadlines last), and lets the branch go once its container is gone,
 * waking the task that is next.
 */
import type { WorkerEnv } from "../env.js";
import { branchHoldMs, branchQueueName } from "../repositories/branch-queue.js";
import { taskGraceMs } from "./lifecycle.js";
import { taskObject } from "./object-stubs.js";
import type { TaskSubmission } from "./submission.js";

/** The longest a task may hold its branch from its turn (its own deadlines), as it tells its queue when its turn comes. */
export function holdOf(submission: TaskSubmission): number {
  return branchHoldMs({ queueTimeoutMs: submission.queueTimeoutMs, timeoutMs: submission.request.timeoutMs, graceMs: taskGraceMs(submission) });
}

export class BranchTurn {
  readonly #env: Pick<WorkerEnv, "BRANCH_QUEUES" | "TASKS">;
  readonly #taskId: string;
  readonly #holdMs: number;
  readonly #queueName: string;

  /** The turn of a repository task (`submission.repository` is set). */
  constructor(env: Pick<WorkerEnv, "BRANCH_QUEUES" | "TASKS">, submission: TaskSubmission) {
    const plan = submission.repository;
    if (!plan) throw new TypeError("A task without a repository has no branch to wait for");
    this.#env = env;
    this.#taskId = submission.taskId;
    this.#holdMs = holdOf(submission);
    this.#queueName = branchQueueName(plan.repo, plan.branch);
  }

  #queue() {
    return this.#env.BRANCH_QUEUES.get(this.#env.BRANCH_QUEUES.idFromName(this.#queueName));
  }

  /** Takes the task's place at the end of its branch's queue (kept when it has one); refused when the branch is full. */
  join(): Promise<{ position: number } | { refused: "branch_queue_full" }> {
    return this.#queue().enqueue(this.#taskId, this.#holdMs);
  }

  /**
   * How many tasks run before this one (0: its turn came, and is now claimed).
   * A task dropped from its queue (its turn went unclaimed too long) takes its
   * place again at the end. Throws when the queue cannot be reached or is full.
   */
  async position(): Promise<number> {
    const queue = this.#queue();
    const position = await queue.position(this.#taskId, this.#holdMs);
    if (position !== null) return position;
    const joined = await queue.enqueue(this.#taskId, this.#holdMs);
    if ("refused" in joined) throw new Error(joined.refused);
    return joined.position;
  }

  /** Lets the branch go and wakes the task that holds it next; false when the queue could not be told (to be retried). */
  async letGo(): Promise<boolean> {
    let next: string | null;
    try {
      next = await this.#queue().release(this.#taskId);
    } catch {
      return false;
    }
    // The next task asks its queue again on its own (every few seconds) if this does not reach it.
    if (next !== null) await taskObject(this.#env, next).wake().catch(() => undefined);
    return true;
  }
}
