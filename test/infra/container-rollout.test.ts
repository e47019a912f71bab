/**
 * How a rollout of the container application is shaped and followed: wrangler's
 * steps, the limits that follow from the grace period, the verdict on each
 * state the API reports, and the follow loop against the API stand-in with a
 * clock the test moves.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectCloudflare } from "../../infra/providers/cloudflare-api.js";
import { longestTaskSeconds } from "../../infra/components/sandbox-containers.js";
import {
  followRollout,
  rolloutLimits,
  rolloutSteps,
  type RolloutView,
  rolloutVerdict,
  STEP_MARGIN_MS,
  stepCount,
} from "../../infra/providers/container-rollout.js";
import { LIMITS } from "../../worker/src/contract.js";
import { apiError, CloudflareApiStandIn } from "./fixtures/cloudflare-api-stand-in.js";

const MINUTE = 60_000;

function view(status: RolloutView["status"], overrides: Partial<RolloutView> = {}): RolloutView {
  return {
    id: "r1",
    status,
    progress: { current_step: 1, total_steps: 2, updated_instances: 1, total_instances: 10 },
    steps: [
      { id: 1, status: "progressing", step_size: { percentage: 10 } },
      { id: 2, status: "pending", step_size: { percentage: 100 } },
    ],
    ...overrides,
  };
}

describe("the grace period", () => {
  it("covers the longest task: the largest timeout, the Durable Object's grace and a repository task's two steps", () => {
    const steps = 2 * LIMITS.repositoryStepSeconds;
    expect(longestTaskSeconds(900_000)).toBe(900 + 30 + steps);
    expect(longestTaskSeconds(LIMITS.ceilingTimeoutMs)).toBe(3_600 + 30 + steps);
    // Rounded up to a whole second, never down.
    expect(longestTaskSeconds(1_500)).toBe(Math.ceil(1.5 + 30 + steps));
  });
});

describe("rolloutSteps", () => {
  it.each([
    [1, { step_percentage: 100 }, 1],
    [
      2,
      {
        steps: [
          { description: "Step 1 of 2 - rollout at 10% of instances", step_size: { percentage: 10 } },
          { description: "Step 2 of 2 - rollout at 100% of instances", step_size: { percentage: 100 } },
        ],
      },
      2,
    ],
  ])("for at most %i instances: as wrangler deploys", (maxInstances, steps, count) => {
    expect(rolloutSteps(maxInstances)).toEqual(steps);
    expect(stepCount(rolloutSteps(maxInstances))).toBe(count);
  });

  it("steps 10 % then 100 % for any larger application", () => {
    expect(rolloutSteps(1_000).steps?.map((step) => step.step_size.percentage)).toEqual([10, 100]);
  });
});

describe("rolloutLimits", () => {
  it("lets each step wait the grace period and a margin, and stalls after one step's worth of silence", () => {
    expect(rolloutLimits(2_130, 2)).toEqual({ stallMs: 2_130_000 + STEP_MARGIN_MS, totalMs: 2 * (2_130_000 + STEP_MARGIN_MS) });
    expect(rolloutLimits(0, 1)).toEqual({ stallMs: STEP_MARGIN_MS, totalMs: STEP_MARGIN_MS });
  });
});

describe("rolloutVerdict", () => {
  const limits = { stallMs: 30 * MINUTE, totalMs: 60 * MINUTE };

  it.each([
    ["pending", 0, 0],
    ["progressing", 29 * MINUTE, 29 * MINUTE],
    ["progressing", 59 * MINUTE, 1 * MINUTE],
  ] as const)("waits on a %s rollout (%i ms in, %i ms quiet)", (status, elapsed, quiet) => {
    expect(rolloutVerdict(view(status), elapsed, quiet, limits)).toEqual({ kind: "waiting" });
  });

  it("ends well when the rollout completed, at any time", () => {
    expect(rolloutVerdict(view("completed"), 120 * MINUTE, 120 * MINUTE, limits)).toEqual({ kind: "completed" });
  });

  it("fails a reverted rollout at once, with its status and the reasons it gives", () => {
    const reverted = view("reverted", {
      steps: [{ id: 1, status: "reverted", step_size: { percentage: 10 }, reason: "unhealthy" }],
      health: { errors: [{ instance_id: "i-1", event: { name: "ImagePullError", message: "manifest unknown" } }] },
    });
    expect(rolloutVerdict(reverted, 1_000, 0, limits)).toEqual({
      kind: "failed",
      reason:
        "was reverted: reverted, step 1 of 2 (10 %), 1 of 10 instances updated (step 1 reverted: unhealthy; instance i-1: " +
        "ImagePullError: manifest unknown). The application keeps its previous configuration.",
    });
  });

  it("fails a replaced rollout at once", () => {
    expect(rolloutVerdict(view("replaced"), 1_000, 0, limits)).toMatchObject({ kind: "failed", reason: expect.stringContaining("replaced") });
  });

  it("fails a rollout quiet for longer than a step may take, saying for how long and where it stands", () => {
    expect(rolloutVerdict(view("progressing"), 31 * MINUTE, 31 * MINUTE, limits)).toEqual({
      kind: "failed",
      reason:
        "made no progress for 31 min and is stalled: progressing, step 1 of 2 (10 %), 1 of 10 instances updated. It may still " +
        "finish on its own: see Containers → the application → Rollouts in the Cloudflare dashboard, and run `pulumi up` again.",
    });
  });

  it("fails a rollout that keeps moving but outlasts every step's time", () => {
    expect(rolloutVerdict(view("progressing"), 61 * MINUTE, MINUTE, limits)).toMatchObject({
      kind: "failed",
      reason: expect.stringMatching(/^did not complete within 61 min and is stalled/),
    });
  });

  it("names at most five instance errors", () => {
    const errors = Array.from({ length: 9 }, (_, index) => ({ instance_id: `i-${index}`, event: { name: "VMFailed" } }));
    const verdict = rolloutVerdict(view("reverted", { health: { errors } }), 0, 0, limits);
    expect(verdict.kind === "failed" ? verdict.reason.match(/instance i-/g) : []).toHaveLength(5);
  });
});

describe("followRollout", () => {
  const standIn = new CloudflareApiStandIn();
  const ROLLOUT = "/accounts/acct/containers/applications/app-1/rollouts/r1";
  const TOKEN = "cf-rollout-test-token-never-shown";

  beforeAll(() => standIn.start());
  afterAll(() => standIn.close());
  beforeEach(() => standIn.reset());

  /** Follows rollout r1 with a clock that moves `stepMs` per read; returns the lines logged, or the error. */
  async function follow(stepMs: number, limits = { stallMs: 30 * MINUTE, totalMs: 60 * MINUTE }) {
    const connection = await connectCloudflare({
      get: (key) => ({ "cloudflare:apiToken": TOKEN, "cloudflare:baseUrl": standIn.url })[key],
    });
    let clock = 0;
    const lines: string[] = [];
    const outcome = await followRollout(connection, {
      accountId: "acct",
      applicationId: "app-1",
      applicationName: "claude-sandbox-dev",
      rolloutId: "r1",
      limits,
      pollMs: 1,
      log: (line) => lines.push(line),
      now: () => (clock += stepMs),
    }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    return { lines, error: outcome };
  }

  it("stops with the rollout's state once it has been quiet past the stall limit, logging a line a minute meanwhile", async () => {
    standIn.on("GET", ROLLOUT, () => ({ result: view("progressing") }));

    const { lines, error } = await follow(MINUTE / 2);

    expect(error?.message).toMatch(/^Container application claude-sandbox-dev: rollout r1 made no progress for 31 min and is stalled/);
    // One line when the rollout was first seen, then one a minute, never one per read.
    expect(lines.length).toBeGreaterThanOrEqual(30);
    expect(lines.length).toBeLessThanOrEqual(32);
    expect(standIn.requestsTo("GET", ROLLOUT).length).toBeGreaterThan(60);
  });

  it("counts quiet time from the last change, so a slow but moving rollout is followed to the end", async () => {
    let reads = 0;
    standIn.on("GET", ROLLOUT, () => {
      reads += 1;
      const updated = Math.min(10, Math.floor(reads / 20));
      return { result: updated === 10 ? view("completed") : view("progressing", { progress: { updated_instances: updated } }) };
    });

    const { error } = await follow(MINUTE, { stallMs: 25 * MINUTE, totalMs: 500 * MINUTE });

    expect(error).toBeUndefined();
    expect(reads).toBe(200);
  });

  it("says what failed when the rollout cannot be read, never the token", async () => {
    standIn.on("GET", ROLLOUT, (request) => apiError(403, 10000, `denied (${String(request.headers.authorization)})`));

    const { error } = await follow(1_000);

    expect(error?.message).toBe(
      "Cloudflare API: could not read rollout r1 of container application app-1: HTTP 403: 10000: denied (Bearer [redacted])",
    );
  });
});
