/**
 * How the container application rolls a new configuration out, and how
 * `pulumi up` follows it until it ends.
 *
 * Steps are wrangler's default (`containers deploy`): 10 % of the instances,
 * then all of them, when more than one instance may run; one step of 100 %
 * otherwise. Running tasks are not cut short: the application's
 * `rollout_active_grace_period` keeps an active container alive that long
 * before it may be signalled, so a step can take up to that grace period.
 *
 * The waiting is decided by pure functions (`rolloutVerdict`, `describeRollout`)
 * and driven by `followRollout`, which polls the rollout through the official
 * client's plain GET (the client has no method for this endpoint).
 */
import type Cloudflare from "cloudflare";
import { apiFailure, type CloudflareConnection } from "./cloudflare-api.js";

/** A rollout as the Containers API returns it (the fields read here). */
export interface RolloutView {
  id: string;
  status: "pending" | "progressing" | "completed" | "reverted" | "replaced";
  last_updated_at?: string;
  progress?: { current_step?: number; total_steps?: number; updated_instances?: number; total_instances?: number };
  steps?: { id: number; status: string; step_size?: { percentage?: number }; reason?: string }[];
  health?: { errors?: { instance_id?: string; event?: { name?: string; message?: string } }[] };
}

/** The step fields of a rollout request. */
export type RolloutSteps = Pick<Cloudflare.Containers.Applications.RolloutCreateParams, "step_percentage" | "steps">;

/** The percentages of wrangler's default steps when more than one instance may run. */
const STEPPED_PERCENTAGES = [10, 100] as const;

/** wrangler's default steps for an application of at most `maxInstances` instances. */
export function rolloutSteps(maxInstances: number): RolloutSteps {
  if (maxInstances < 2) return { step_percentage: 100 };
  return {
    steps: STEPPED_PERCENTAGES.map((percentage, index) => ({
      description: `Step ${index + 1} of ${STEPPED_PERCENTAGES.length} - rollout at ${percentage}% of instances`,
      step_size: { percentage },
    })),
  };
}

/** How many steps a rollout with these steps has. */
export function stepCount(steps: RolloutSteps): number {
  return steps.steps?.length ?? 1;
}

/** Time a step may take beyond the grace period (instances starting, health checks). */
export const STEP_MARGIN_MS = 10 * 60_000;

/** The limits of following one rollout. */
export interface RolloutLimits {
  /** Longest time without any change before the rollout counts as stalled: the grace period and a margin. */
  stallMs: number;
  /** Longest time in all: every step its stall limit. */
  totalMs: number;
}

/** The limits for a rollout of `steps` steps under a grace period of `graceSeconds`. */
export function rolloutLimits(graceSeconds: number, steps: number): RolloutLimits {
  const stallMs = graceSeconds * 1000 + STEP_MARGIN_MS;
  return { stallMs, totalMs: steps * stallMs };
}

/** What to do about a rollout: it ended well, it failed (and why), or wait on. */
export type RolloutVerdict = { kind: "completed" } | { kind: "failed"; reason: string } | { kind: "waiting" };

/** A short account of where a rollout stands, for the log and for errors. */
export function describeRollout(rollout: RolloutView): string {
  const parts: string[] = [rollout.status];
  const progress = rollout.progress;
  const step = rollout.steps?.find((candidate) => candidate.id === progress?.current_step);
  if (progress?.current_step !== undefined && progress.total_steps !== undefined) {
    const percentage = step?.step_size?.percentage;
    parts.push(`step ${progress.current_step} of ${progress.total_steps}${percentage === undefined ? "" : ` (${percentage} %)`}`);
  }
  if (progress?.updated_instances !== undefined && progress.total_instances !== undefined) {
    parts.push(`${progress.updated_instances} of ${progress.total_instances} instances updated`);
  }
  return parts.join(", ");
}

/** The reasons a rollout gives for its state: its steps' reasons and its instances' errors. */
function rolloutReasons(rollout: RolloutView): string {
  const steps = (rollout.steps ?? [])
    .filter((step) => step.reason)
    .map((step) => `step ${step.id} ${step.status}: ${step.reason}`);
  const errors = (rollout.health?.errors ?? []).slice(0, 5).map(({ instance_id, event }) => {
    const what = [event?.name, event?.message].filter(Boolean).join(": ");
    return `instance ${instance_id ?? "?"}: ${what || "unknown error"}`;
  });
  return [...steps, ...errors].join("; ");
}

/**
 * The verdict on a rollout polled `elapsedMs` after it was created and
 * `quietMs` after anything about it last changed.
 */
export function rolloutVerdict(rollout: RolloutView, elapsedMs: number, quietMs: number, limits: RolloutLimits): RolloutVerdict {
  const reasons = rolloutReasons(rollout);
  const because = reasons ? ` (${reasons})` : "";
  switch (rollout.status) {
    case "completed":
      return { kind: "completed" };
    case "reverted":
      return {
        kind: "failed",
        reason: `was reverted: ${describeRollout(rollout)}${because}. The application keeps its previous configuration.`,
      };
    case "replaced":
      return {
        kind: "failed",
        reason: `was replaced by another rollout (a later deploy, or a change in the dashboard) before it completed: ${describeRollout(rollout)}.`,
      };
    default: {
      const stalled = quietMs > limits.stallMs;
      if (!stalled && elapsedMs <= limits.totalMs) return { kind: "waiting" };
      const minutes = Math.round((stalled ? quietMs : elapsedMs) / 60_000);
      const what = stalled ? `made no progress for ${minutes} min` : `did not complete within ${minutes} min`;
      return {
        kind: "failed",
        reason:
          `${what} and is stalled: ${describeRollout(rollout)}${because}. It may still finish on its own: see ` +
          "Containers → the application → Rollouts in the Cloudflare dashboard, and run `pulumi up` again.",
      };
    }
  }
}

/** What `followRollout` needs besides the connection. */
export interface FollowOptions {
  accountId: string;
  applicationId: string;
  applicationName: string;
  rolloutId: string;
  limits: RolloutLimits;
  /** Pause between two reads of the rollout. */
  pollMs: number;
  /** Writes one line of progress to `pulumi up`'s output. */
  log: (line: string) => void;
  /** Milliseconds since some fixed point; `Date.now` unless a test sets it. */
  now?: () => number;
}

/** The longest a rollout goes without a progress line, even when nothing changes. */
const PROGRESS_LINE_EVERY_MS = 60_000;

/**
 * Reads the rollout until it completes; throws with its status and reasons when
 * it is reverted, replaced or stalls. A progress line is logged whenever the
 * rollout changes, and at least once a minute.
 */
export async function followRollout(connection: CloudflareConnection, options: FollowOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const path = `/accounts/${options.accountId}/containers/applications/${options.applicationId}/rollouts/${options.rolloutId}`;
  const label = `Container application ${options.applicationName}: rollout ${options.rolloutId}`;
  const started = now();
  let lastChange = started;
  let lastLine = Number.NEGATIVE_INFINITY;
  let lastSeen = "";
  for (;;) {
    let rollout: RolloutView;
    try {
      rollout = ((await connection.client.get(path)) as { result: RolloutView }).result;
    } catch (error) {
      throw apiFailure(`read rollout ${options.rolloutId} of container application ${options.applicationId}`, error, [
        connection.apiToken,
      ]);
    }
    const seen = JSON.stringify([rollout.status, rollout.last_updated_at, rollout.progress, rollout.steps?.map((step) => step.status)]);
    const time = now();
    if (seen !== lastSeen) {
      lastSeen = seen;
      lastChange = time;
    }
    const verdict = rolloutVerdict(rollout, time - started, time - lastChange, options.limits);
    if (verdict.kind === "completed") {
      options.log(`${label}: ${describeRollout(rollout)}`);
      return;
    }
    if (verdict.kind === "failed") throw new Error(`${label} ${verdict.reason}`);
    if (lastChange === time || time - lastLine >= PROGRESS_LINE_EVERY_MS) {
      lastLine = time;
      const waited = Math.round((time - started) / 1000);
      options.log(`${label}: ${describeRollout(rollout)} (${waited} s; running tasks keep their containers until they end)`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}
