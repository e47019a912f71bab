/**
 * The Containers application dynamic provider, driven through the real
 * `cloudflare` client against a local stand-in of the Cloudflare API, and run
 * once more the way Pulumi runs it: serialized, then loaded in a plain `node`
 * process with `require-from-string`.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { dynamic } from "@pulumi/pulumi";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ContainerApplicationProvider,
  INSTANCE_TYPES,
  type ContainerApplicationInputs,
  type ContainerApplicationState,
} from "../../infra/providers/container-application.js";
import { apiError, CloudflareApiStandIn, type RecordedRequest } from "./fixtures/cloudflare-api-stand-in.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "cf-test-token-RECOGNIZABLE-7f3a9c1e5b2d4f60";
const ACCOUNT = "0123456789abcdef0123456789abcdef";
const APP_ID = "a1b2c3d4-0000-4000-8000-00000000c0de";
const IMAGE = `registry.cloudflare.com/${ACCOUNT}/claude-sandbox@sha256:${"a".repeat(64)}`;
const NEW_IMAGE = `registry.cloudflare.com/${ACCOUNT}/claude-sandbox@sha256:${"b".repeat(64)}`;
const APPLICATIONS = `/accounts/${ACCOUNT}/containers/applications`;
const APPLICATION = `${APPLICATIONS}/${APP_ID}`;
const ROLLOUTS = `${APPLICATION}/rollouts`;
/** Lets the client retry 409 and 5xx answers at once instead of backing off. */
const RETRY_NOW = { "retry-after-ms": "0" };

const INPUTS: ContainerApplicationInputs = {
  accountId: ACCOUNT,
  name: "claude-sandbox",
  image: IMAGE,
  instanceType: "standard-1",
  maxInstances: 5,
  scriptName: "claude-sandbox-worker",
  className: "Sandbox",
  rolloutGracePeriodSeconds: 2_130,
};
const STATE: ContainerApplicationState = { ...INPUTS, observability: true, applicationId: APP_ID };

const standIn = new CloudflareApiStandIn();

/** A stack config as Pulumi's provider host hands it to `configure`. */
function stackConfig(values: Record<string, string>): dynamic.Config {
  return {
    get: (key) => values[key],
    require: (key) => {
      const value = values[key];
      if (value === undefined) throw new Error(`Missing required configuration key: ${key}`);
      return value;
    },
  };
}

/** A provider configured with the test token and the stand-in's URL (unless overridden). */
async function configuredProvider(values?: Record<string, string>): Promise<ContainerApplicationProvider> {
  const provider = new ContainerApplicationProvider();
  await provider.configure({
    config: stackConfig(values ?? { "cloudflare:apiToken": TOKEN, "cloudflare:baseUrl": standIn.url }),
  });
  return provider;
}

/** An application as the API returns it, for the test inputs unless overridden. */
function liveApplication(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: APP_ID,
    account_id: ACCOUNT,
    name: INPUTS.name,
    scheduling_policy: "default",
    instances: 0,
    max_instances: INPUTS.maxInstances,
    rollout_active_grace_period: INPUTS.rolloutGracePeriodSeconds,
    version: 1,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    configuration: { image: IMAGE, instance_type: "standard-1", observability: { logs: { enabled: true } } },
    durable_objects: { namespace_id: "namespace-1" },
    ...overrides,
  };
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error("expected a rejection, but the call succeeded");
}

function summary(requests: RecordedRequest[]): string[] {
  return requests.map((request) => `${request.method} ${request.path}`);
}

/** A rollout as the API returns it while it runs and when it ends. */
function rollout(status: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "rollout-1",
    status,
    last_updated_at: "2026-01-01T00:00:00Z",
    progress: { current_step: 1, total_steps: 2, updated_instances: 0, total_instances: 4 },
    steps: [
      { id: 1, description: "Step 1 of 2", status: "progressing", step_size: { percentage: 10 } },
      { id: 2, description: "Step 2 of 2", status: "pending", step_size: { percentage: 100 } },
    ],
    health: { errors: [], instances: { active: 4, assigned: 0 } },
    ...overrides,
  };
}

/**
 * Accepts edits and rollouts; each read of the rollout answers the next of
 * `states` (the last one from then on).
 */
function acceptUpdates(states: Record<string, unknown>[] = [rollout("completed")]): void {
  let reads = 0;
  standIn
    .on("PATCH", "/accounts/:account/containers/applications/:id", () => ({ result: liveApplication() }))
    .on("POST", "/accounts/:account/containers/applications/:id/rollouts", () => ({ result: rollout("pending") }))
    .on("GET", "/accounts/:account/containers/applications/:id/rollouts/:rollout", () => ({
      result: states[Math.min(reads++, states.length - 1)],
    }));
}

/** A configured provider that reads rollouts at once and keeps the progress lines it logs. */
async function followingProvider(): Promise<{ provider: ContainerApplicationProvider; lines: string[] }> {
  const lines: string[] = [];
  const provider = new ContainerApplicationProvider({ rolloutPollMs: 1, log: (line) => lines.push(line) });
  await provider.configure({ config: stackConfig({ "cloudflare:apiToken": TOKEN, "cloudflare:baseUrl": standIn.url }) });
  return { provider, lines };
}

beforeAll(async () => {
  await standIn.start();
});

afterAll(async () => {
  await standIn.close();
});

beforeEach(() => {
  standIn.reset();
  // Only what a test configures may reach the client.
  for (const name of ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_BASE_URL", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL"]) {
    vi.stubEnv(name, undefined);
  }
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("create", () => {
  it("creates a scheduler-backed application bound to the Worker's Durable Object class", async () => {
    standIn.on("POST", "/accounts/:account/containers/applications", () => ({ result: liveApplication() }));
    const provider = await configuredProvider();

    const result = await provider.create(INPUTS);

    expect(result).toEqual({ id: APP_ID, outs: { ...INPUTS, observability: true, applicationId: APP_ID } });
    expect(summary(standIn.requests)).toEqual([`POST ${APPLICATIONS}`]);
    const [request] = standIn.requests;
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.body).toEqual({
      name: "claude-sandbox",
      scheduling_policy: "default",
      instances: 0,
      max_instances: 5,
      // Running tasks keep their containers through a rollout for this long, in seconds.
      rollout_active_grace_period: 2_130,
      configuration: { image: IMAGE, instance_type: "standard-1", observability: { logs: { enabled: true } } },
      durable_objects: { script_name: "claude-sandbox-worker", class_name: "Sandbox" },
    });
  });

  it("turns container logs off when observability is false", async () => {
    standIn.on("POST", "/accounts/:account/containers/applications", () => ({ result: liveApplication() }));
    const provider = await configuredProvider();

    const result = await provider.create({ ...INPUTS, observability: false });

    expect(result.outs?.observability).toBe(false);
    expect(standIn.requests[0]?.body).toMatchObject({ configuration: { observability: { logs: { enabled: false } } } });
  });

  /** Answers the Durable Object namespace list: `namespace-1` belongs to `owner`. */
  function namespaces(owner: { script: string; class: string }): void {
    standIn.on("GET", "/accounts/:account/workers/durable_objects/namespaces", ({ query }) => ({
      result:
        query.get("page") === null || query.get("page") === "1"
          ? [
              { id: "namespace-0", name: "other", script: "another-worker", class: "Other", use_sqlite: true },
              { id: "namespace-1", name: "sandbox", script: owner.script, class: owner.class, use_sqlite: true },
            ]
          : [],
    }));
  }

  /** A create that collides with `existing` (409 after a lost answer), with the list and get routes to find it. */
  function collideWith(existing: Record<string, unknown>): void {
    standIn
      .on("POST", "/accounts/:account/containers/applications", () => apiError(409, 1000, "conflict", RETRY_NOW))
      .on("GET", "/accounts/:account/containers/applications", () => ({
        result: [liveApplication({ name: "other", id: "other-id" }), existing],
        extra: { result_info: { per_page: 20 } },
      }))
      .on("GET", "/accounts/:account/containers/applications/:id", ({ pathname }) =>
        pathname === `${APPLICATIONS}/${String(existing.id)}` ? { result: existing } : apiError(404, 1000, "not found"),
      );
  }

  it("adopts an application with the same name, script and class (a create whose answer was lost)", async () => {
    collideWith(liveApplication());
    namespaces({ script: INPUTS.scriptName, class: INPUTS.className });
    const provider = await configuredProvider();

    const result = await provider.create(INPUTS);

    expect(result).toEqual({ id: APP_ID, outs: { ...INPUTS, observability: true, applicationId: APP_ID } });
    expect(standIn.requestsTo("GET", APPLICATIONS)[0]?.query.get("name")).toBe("claude-sandbox");
    // Already as desired: nothing to edit or roll out.
    expect(standIn.requests.filter((request) => request.method === "PATCH" || request.pathname === ROLLOUTS)).toEqual([]);
  });

  it("brings an adopted application to the desired size, grace period and image, and waits for the rollout", async () => {
    collideWith(liveApplication({ max_instances: 1, rollout_active_grace_period: undefined }));
    namespaces({ script: INPUTS.scriptName, class: INPUTS.className });
    acceptUpdates();
    const { provider } = await followingProvider();

    const result = await provider.create({ ...INPUTS, image: NEW_IMAGE });

    expect(result.id).toBe(APP_ID);
    expect(standIn.requestsTo("PATCH", APPLICATION).map((request) => request.body)).toEqual([
      { max_instances: 5, rollout_active_grace_period: 2_130 },
    ]);
    expect(standIn.requestsTo("POST", ROLLOUTS).map((request) => request.body)).toEqual([
      expect.objectContaining({ target_configuration: expect.objectContaining({ image: NEW_IMAGE }) }),
    ]);
    expect(standIn.requestsTo("GET", `${ROLLOUTS}/rollout-1`)).toHaveLength(1);
  });

  it("reports an application with the same name that serves another Worker, and adopts nothing", async () => {
    collideWith(liveApplication());
    namespaces({ script: "someone-elses-worker", class: "Sandbox" });
    const provider = await configuredProvider();

    const error = await rejection(provider.create(INPUTS));

    expect(error.message).toBe(
      `A Containers application named "claude-sandbox" (id ${APP_ID}) already exists in account ${ACCOUNT} and serves class ` +
        "Sandbox of Worker someone-elses-worker. Choose another workerName, or delete it " +
        `(Cloudflare dashboard, or \`wrangler containers delete ${APP_ID}\`) and run \`pulumi up\` again.`,
    );
    expect(standIn.requests.filter((request) => request.method === "PATCH" || request.pathname === ROLLOUTS)).toEqual([]);
  });

  it("reports a 409 it cannot look up, naming no id", async () => {
    standIn
      .on("POST", "/accounts/:account/containers/applications", () => apiError(409, 1000, "conflict", RETRY_NOW))
      .on("GET", "/accounts/:account/containers/applications", () => ({ result: [] }));
    const provider = await configuredProvider();

    const error = await rejection(provider.create(INPUTS));

    expect(error.message).toContain(`A Containers application named "claude-sandbox" already exists in account ${ACCOUNT}`);
    expect(error.message).toContain("wrangler containers delete <id>");
  });

  it("reports that the class already has an application under another name", async () => {
    const other = liveApplication({ id: "older-id", name: "claude-sandbox-old" });
    standIn
      .on("POST", "/accounts/:account/containers/applications", () => ({
        status: 400,
        extra: { error: "DURABLE_OBJECT_ALREADY_HAS_APPLICATION", details: { name: "claude-sandbox-old", id: "older-id" } },
      }))
      .on("GET", "/accounts/:account/containers/applications/:id", () => ({ result: other }));
    namespaces({ script: INPUTS.scriptName, class: INPUTS.className });
    const provider = await configuredProvider();

    const error = await rejection(provider.create(INPUTS));

    expect(error.message).toContain(
      'Class Sandbox of Worker claude-sandbox-worker already has a Containers application, "claude-sandbox-old" (id older-id)',
    );
  });

  it("reports a 400 as a conflict only when an application with that name exists", async () => {
    standIn.on("POST", "/accounts/:account/containers/applications", () => apiError(400, 1000, "invalid application"));
    standIn.on("GET", "/accounts/:account/containers/applications", () => ({ result: [] }));
    const provider = await configuredProvider();

    const error = await rejection(provider.create(INPUTS));

    expect(error.message).toBe(
      "Cloudflare API: could not create container application claude-sandbox: HTTP 400: 1000: invalid application",
    );
  });

  it("retries while the Worker's Durable Object class is not visible yet", async () => {
    let attempts = 0;
    standIn.on("POST", "/accounts/:account/containers/applications", () => {
      attempts += 1;
      return attempts < 3
        ? { status: 400, extra: { error: "DURABLE_OBJECT_NOT_FOUND", details: {} } }
        : { result: liveApplication() };
    });
    const provider = new ContainerApplicationProvider({ createAttempts: 4, createRetryDelayMs: 1 });
    await provider.configure({ config: stackConfig({ "cloudflare:apiToken": TOKEN, "cloudflare:baseUrl": standIn.url }) });

    const result = await provider.create(INPUTS);

    expect(result.id).toBe(APP_ID);
    expect(standIn.requestsTo("POST", APPLICATIONS)).toHaveLength(3);
  });

  it("gives up on a class that stays invisible, saying what to do", async () => {
    standIn.on("POST", "/accounts/:account/containers/applications", () => ({
      status: 400,
      extra: { error: "DURABLE_OBJECT_NOT_FOUND", details: {} },
    }));
    const provider = new ContainerApplicationProvider({ createAttempts: 3, createRetryDelayMs: 1 });
    await provider.configure({ config: stackConfig({ "cloudflare:apiToken": TOKEN, "cloudflare:baseUrl": standIn.url }) });

    const error = await rejection(provider.create(INPUTS));

    expect(error.message).toBe(
      "Cloudflare API: could not create container application claude-sandbox: the Durable Object class Sandbox of Worker " +
        "claude-sandbox-worker was still not found after 3 attempts. Run `pulumi up` again.",
    );
    expect(standIn.requestsTo("POST", APPLICATIONS)).toHaveLength(3);
  });

  it("fails clearly, without calling the API, when no token is configured", async () => {
    const provider = await configuredProvider({ "cloudflare:baseUrl": standIn.url });

    const error = await rejection(provider.create(INPUTS));

    expect(error.message).toContain("No Cloudflare API token");
    expect(error.message).toContain("cloudflare:apiToken");
    expect(standIn.requests).toEqual([]);
  });

  it("falls back to CLOUDFLARE_API_TOKEN and CLOUDFLARE_BASE_URL", async () => {
    vi.stubEnv("CLOUDFLARE_API_TOKEN", "env-token-0123456789");
    vi.stubEnv("CLOUDFLARE_BASE_URL", standIn.url);
    standIn.on("POST", "/accounts/:account/containers/applications", () => ({ result: liveApplication() }));
    const provider = await configuredProvider({});

    await provider.create(INPUTS);

    expect(standIn.requests.map((request) => request.headers.authorization)).toEqual(["Bearer env-token-0123456789"]);
  });
});

describe("read", () => {
  it("maps the live application onto the state, so refresh shows drift", async () => {
    standIn.on("GET", "/accounts/:account/containers/applications/:id", ({ pathname }) =>
      pathname === APPLICATION
        ? {
            result: liveApplication({
              name: "renamed",
              max_instances: 9,
              rollout_active_grace_period: 0,
              configuration: { image: NEW_IMAGE, instance_type: "standard-2", observability: { logs: { enabled: false } } },
              durable_objects: { namespace_id: "namespace-1", script_name: "other-script", class_name: "Other" },
            }),
          }
        : apiError(404, 1000, "not found"),
    );
    const provider = await configuredProvider();

    const result = await provider.read(APP_ID, STATE);

    expect(result).toEqual({
      id: APP_ID,
      props: {
        ...STATE,
        name: "renamed",
        image: NEW_IMAGE,
        instanceType: "standard-2",
        maxInstances: 9,
        rolloutGracePeriodSeconds: 0,
        observability: false,
        scriptName: "other-script",
        className: "Other",
      },
    });
    expect(summary(standIn.requests)).toEqual([`GET ${APPLICATION}`]);
  });

  it("keeps recorded values the API does not return, and reads top-level log settings", async () => {
    standIn.on("GET", "/accounts/:account/containers/applications/:id", () => ({
      result: liveApplication({
        configuration: { image: IMAGE },
        observability: { logs: { enabled: false } },
        max_instances: undefined,
        rollout_active_grace_period: undefined,
      }),
    }));
    const provider = await configuredProvider();

    const result = await provider.read(APP_ID, STATE);

    expect(result.props).toEqual({ ...STATE, observability: false });
  });

  it("reads a deleted application as gone: no id", async () => {
    standIn.on("GET", "/accounts/:account/containers/applications/:id", () => apiError(404, 1000, "not found"));
    const provider = await configuredProvider();

    const result = await provider.read(APP_ID, STATE);

    expect(result.id).toBeUndefined();
    expect(result).toEqual({});
  });

  it("surfaces other failures", async () => {
    standIn.on("GET", "/accounts/:account/containers/applications/:id", () =>
      apiError(500, 1002, "upstream down", RETRY_NOW),
    );
    const provider = await configuredProvider();

    const error = await rejection(provider.read(APP_ID, STATE));

    expect(error.message).toBe(
      `Cloudflare API: could not read container application ${APP_ID}: HTTP 500: 1002: upstream down`,
    );
  });
});

describe("diff", () => {
  const replacing: [keyof ContainerApplicationInputs, string][] = [
    ["accountId", "fedcba9876543210fedcba9876543210"],
    ["name", "claude-sandbox-2"],
    ["scriptName", "another-worker"],
    ["className", "OtherSandbox"],
  ];
  it.each(replacing)("replaces the application, deleting it first, when %s changes", async (property, value) => {
    const provider = new ContainerApplicationProvider();

    const result = await provider.diff(APP_ID, STATE, { ...INPUTS, [property]: value });

    expect(result).toEqual({ changes: true, replaces: [property], deleteBeforeReplace: true });
  });

  const updating: [keyof ContainerApplicationInputs, unknown][] = [
    ["image", NEW_IMAGE],
    ["instanceType", "standard-2"],
    ["observability", false],
    ["maxInstances", 6],
    ["rolloutGracePeriodSeconds", 3_930],
  ];
  it.each(updating)("updates in place when %s changes", async (property, value) => {
    const provider = new ContainerApplicationProvider();

    const result = await provider.diff(APP_ID, STATE, { ...INPUTS, [property]: value });

    expect(result).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });

  it("lists every replacing property when several change", async () => {
    const provider = new ContainerApplicationProvider();

    const result = await provider.diff(APP_ID, STATE, { ...INPUTS, name: "n2", className: "C2", image: NEW_IMAGE });

    expect(result.replaces).toEqual(["name", "className"]);
  });

  it("reports no change for the Worker version an older program recorded, so previews do not show one on every Worker upload", async () => {
    const provider = new ContainerApplicationProvider();
    const recordedByOlderProgram = { ...STATE, workerVersion: "worker-version-1" } as ContainerApplicationState;

    expect(await provider.diff(APP_ID, recordedByOlderProgram, INPUTS)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("reports no change for identical inputs, or observability left at its default", async () => {
    const provider = new ContainerApplicationProvider();

    expect(await provider.diff(APP_ID, STATE, INPUTS)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    expect(await provider.diff(APP_ID, STATE, { ...INPUTS, observability: true })).toMatchObject({ changes: false });
    expect(standIn.requests).toEqual([]);
  });
});

describe("update", () => {
  it("edits maxInstances alone with a PATCH that also keeps the grace period, and no rollout", async () => {
    acceptUpdates();
    const provider = await configuredProvider();

    const result = await provider.update(APP_ID, STATE, { ...INPUTS, maxInstances: 8 });

    expect(summary(standIn.requests)).toEqual([`PATCH ${APPLICATION}`]);
    expect(standIn.requests[0]?.body).toEqual({ max_instances: 8, rollout_active_grace_period: 2_130 });
    expect(result.outs).toEqual({ ...STATE, maxInstances: 8 });
  });

  it("edits a longer grace period (a larger maxTimeoutMs) in place, with no rollout", async () => {
    acceptUpdates();
    const provider = await configuredProvider();

    const result = await provider.update(APP_ID, STATE, { ...INPUTS, rolloutGracePeriodSeconds: 3_930 });

    expect(summary(standIn.requests)).toEqual([`PATCH ${APPLICATION}`]);
    expect(standIn.requests[0]?.body).toEqual({ max_instances: 5, rollout_active_grace_period: 3_930 });
    expect(result.outs?.rolloutGracePeriodSeconds).toBe(3_930);
  });

  it("rolls a new image out in wrangler's steps, 10 % then all, and returns once the rollout completed", async () => {
    acceptUpdates([
      rollout("progressing"),
      rollout("progressing", { progress: { current_step: 2, total_steps: 2, updated_instances: 1, total_instances: 4 } }),
      rollout("completed", { progress: { current_step: 2, total_steps: 2, updated_instances: 4, total_instances: 4 } }),
    ]);
    const { provider, lines } = await followingProvider();

    const result = await provider.update(APP_ID, STATE, { ...INPUTS, image: NEW_IMAGE });

    expect(summary(standIn.requests)).toEqual([
      `POST ${ROLLOUTS}`,
      `GET ${ROLLOUTS}/rollout-1`,
      `GET ${ROLLOUTS}/rollout-1`,
      `GET ${ROLLOUTS}/rollout-1`,
    ]);
    expect(standIn.requests[0]?.body).toEqual({
      description: expect.stringContaining(NEW_IMAGE),
      strategy: "rolling",
      kind: "full_auto",
      steps: [
        { description: "Step 1 of 2 - rollout at 10% of instances", step_size: { percentage: 10 } },
        { description: "Step 2 of 2 - rollout at 100% of instances", step_size: { percentage: 100 } },
      ],
      target_configuration: { image: NEW_IMAGE, instance_type: "standard-1", observability: { logs: { enabled: true } } },
    });
    expect(result.outs?.image).toBe(NEW_IMAGE);
    expect(lines).toEqual([
      expect.stringContaining("rollout rollout-1: progressing, step 1 of 2 (10 %), 0 of 4 instances updated"),
      expect.stringContaining("rollout rollout-1: progressing, step 2 of 2 (100 %), 1 of 4 instances updated"),
      `Container application ${INPUTS.name}: rollout rollout-1: completed, step 2 of 2 (100 %), 4 of 4 instances updated`,
    ]);
  });

  it("rolls out to a single instance in one step of 100 %", async () => {
    acceptUpdates();
    const { provider } = await followingProvider();

    await provider.update(APP_ID, { ...STATE, maxInstances: 1 }, { ...INPUTS, maxInstances: 1, image: NEW_IMAGE });

    expect(standIn.requestsTo("POST", ROLLOUTS)[0]?.body).toMatchObject({ step_percentage: 100 });
    expect(standIn.requestsTo("POST", ROLLOUTS)[0]?.body).not.toHaveProperty("steps");
  });

  it("rolls out a new instance type or log setting with the whole configuration", async () => {
    acceptUpdates();
    const { provider } = await followingProvider();

    await provider.update(APP_ID, STATE, { ...INPUTS, instanceType: "standard-3", observability: false });

    expect(summary(standIn.requests)).toEqual([`POST ${ROLLOUTS}`, `GET ${ROLLOUTS}/rollout-1`]);
    expect(standIn.requests[0]?.body).toMatchObject({
      target_configuration: { image: IMAGE, instance_type: "standard-3", observability: { logs: { enabled: false } } },
    });
  });

  it("edits first, so the rollout already has the new size and grace period", async () => {
    acceptUpdates();
    const { provider } = await followingProvider();

    await provider.update(APP_ID, STATE, { ...INPUTS, image: NEW_IMAGE, maxInstances: 2 });

    expect(summary(standIn.requests)).toEqual([`PATCH ${APPLICATION}`, `POST ${ROLLOUTS}`, `GET ${ROLLOUTS}/rollout-1`]);
    expect(standIn.requests[0]?.body).toEqual({ max_instances: 2, rollout_active_grace_period: 2_130 });
    expect(standIn.requests[1]?.body).toMatchObject({ target_configuration: { image: NEW_IMAGE } });
  });

  it("fails with the rollout's status, its steps' reasons and the instances' errors when it is reverted", async () => {
    acceptUpdates([
      rollout("progressing"),
      rollout("reverted", {
        steps: [
          { id: 1, description: "Step 1 of 2", status: "reverted", step_size: { percentage: 10 }, reason: "health checks failed" },
          { id: 2, description: "Step 2 of 2", status: "pending", step_size: { percentage: 100 } },
        ],
        health: {
          errors: [{ instance_id: "instance-7", event: { id: "e1", name: "VMFailedToStart", message: "exec format error" } }],
          instances: { active: 0, assigned: 0 },
        },
      }),
    ]);
    const { provider } = await followingProvider();

    const error = await rejection(provider.update(APP_ID, STATE, { ...INPUTS, image: NEW_IMAGE }));

    expect(error.message).toBe(
      `Container application ${INPUTS.name}: rollout rollout-1 was reverted: reverted, step 1 of 2 (10 %), 0 of 4 instances updated ` +
        "(step 1 reverted: health checks failed; instance instance-7: VMFailedToStart: exec format error). " +
        "The application keeps its previous configuration.",
    );
  });

  it("fails when another rollout replaced this one before it completed", async () => {
    acceptUpdates([rollout("replaced")]);
    const { provider } = await followingProvider();

    const error = await rejection(provider.update(APP_ID, STATE, { ...INPUTS, image: NEW_IMAGE }));

    expect(error.message).toContain("rollout rollout-1 was replaced by another rollout");
  });

  it("needs no API call and no token when nothing the API holds changed", async () => {
    const provider = await configuredProvider({ "cloudflare:baseUrl": standIn.url });

    const result = await provider.update(APP_ID, STATE, { ...INPUTS });

    expect(standIn.requests).toEqual([]);
    expect(result.outs).toEqual(STATE);
  });

  it("surfaces a refused rollout with Cloudflare's message", async () => {
    standIn.on("POST", "/accounts/:account/containers/applications/:id/rollouts", () =>
      apiError(400, 1101, "image not found in registry"),
    );
    const provider = await configuredProvider();

    const error = await rejection(provider.update(APP_ID, STATE, { ...INPUTS, image: NEW_IMAGE }));

    expect(error.message).toBe(
      `Cloudflare API: could not roll out a new configuration to container application ${APP_ID}: ` +
        "HTTP 400: 1101: image not found in registry",
    );
  });
});

describe("delete", () => {
  it("deletes the application", async () => {
    standIn.on("DELETE", "/accounts/:account/containers/applications/:id", () => ({ result: {} }));
    const provider = await configuredProvider();

    await provider.delete(APP_ID, STATE);

    expect(summary(standIn.requests)).toEqual([`DELETE ${APPLICATION}`]);
    expect(standIn.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("treats an application that is already gone as deleted", async () => {
    standIn.on("DELETE", "/accounts/:account/containers/applications/:id", () => apiError(404, 1000, "not found"));
    const provider = await configuredProvider();

    await expect(provider.delete(APP_ID, STATE)).resolves.toBeUndefined();
    expect(summary(standIn.requests)).toEqual([`DELETE ${APPLICATION}`]);
  });
});

describe("check", () => {
  it("accepts valid inputs as they are", async () => {
    const provider = new ContainerApplicationProvider();
    for (const instanceType of INSTANCE_TYPES) {
      expect(await provider.check(INPUTS, { ...INPUTS, instanceType })).toEqual({
        inputs: { ...INPUTS, instanceType },
        failures: [],
      });
    }
  });

  it("rejects an unpinned image, an unknown instance type, a bad instance count and empty names", async () => {
    const provider = new ContainerApplicationProvider();
    const news = {
      ...INPUTS,
      image: "registry.cloudflare.com/acct/claude-sandbox:latest",
      instanceType: "huge",
      maxInstances: 1.5,
      className: "",
    } as unknown as ContainerApplicationInputs;

    const { failures } = await provider.check(INPUTS, news);

    expect(failures?.map((failure) => failure.property)).toEqual(["className", "image", "instanceType", "maxInstances"]);
  });

  it("lets values unknown during preview through", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const provider = new ContainerApplicationProvider();
    const news = { ...INPUTS, image: unknown, maxInstances: unknown } as unknown as ContainerApplicationInputs;

    expect((await provider.check(INPUTS, news)).failures).toEqual([]);
  });
});

describe("API failures", () => {
  const operations: [string, string, (provider: ContainerApplicationProvider) => Promise<unknown>][] = [
    ["create", "create container application claude-sandbox", (provider) => provider.create(INPUTS)],
    ["read", `read container application ${APP_ID}`, (provider) => provider.read(APP_ID, STATE)],
    [
      "update maxInstances",
      `set max instances and rollout grace period of container application ${APP_ID}`,
      (provider) => provider.update(APP_ID, STATE, { ...INPUTS, maxInstances: 1 }),
    ],
    [
      "update the image",
      `roll out a new configuration to container application ${APP_ID}`,
      (provider) => provider.update(APP_ID, STATE, { ...INPUTS, image: NEW_IMAGE }),
    ],
    ["delete", `delete container application ${APP_ID}`, (provider) => provider.delete(APP_ID, STATE)],
  ];
  it.each(operations)("%s: says what failed, the status and Cloudflare's message, never the token", async (_, action, call) => {
    // The stand-in echoes the Authorization header, so only redaction keeps the token out.
    const deny = (request: RecordedRequest) =>
      apiError(403, 10000, `Authentication error (${request.headers.authorization ?? ""})`);
    standIn
      .on("*", "/accounts/:account/containers/applications", deny)
      .on("*", "/accounts/:account/containers/applications/:id", deny)
      .on("*", "/accounts/:account/containers/applications/:id/rollouts", deny);
    const provider = await configuredProvider();

    const error = await rejection(call(provider));

    expect(error.message).toBe(
      `Cloudflare API: could not ${action}: HTTP 403: 10000: Authentication error (Bearer [redacted])`,
    );
    expect(error.message).not.toContain(TOKEN);
    expect(error.stack ?? "").not.toContain(TOKEN);
    expect(standIn.requests).toHaveLength(1);
  });
});

describe("in Pulumi's dynamic provider host", () => {
  const run = promisify(execFile);
  let workDir: string;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), "container-application-"));
  });

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  /**
   * Declares a ContainerApplication in a Pulumi program run with tsx and mocks,
   * and returns what Pulumi would register: its type and inputs, including the
   * serialized provider under `__provider`.
   */
  async function registeredResource(): Promise<{ type: string; inputs: Record<string, unknown> }> {
    const output = join(workDir, "registered.json");
    const program = `
      import { writeFileSync } from "node:fs";
      import * as pulumi from "@pulumi/pulumi";
      await pulumi.runtime.setMocks({
        newResource: (args) => {
          writeFileSync(${JSON.stringify(output)}, JSON.stringify({ type: args.type, inputs: args.inputs }));
          return { id: "mock-id", state: args.inputs };
        },
        call: () => ({}),
      }, "claude-sandbox", "test", false);
      const { ContainerApplication } = await import("./infra/providers/container-application.ts");
      new ContainerApplication("sandbox", ${JSON.stringify(INPUTS)});
    `;
    // The token is in the environment here to prove it is not captured into the provider.
    await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program], {
      cwd: ROOT,
      env: { ...process.env, CLOUDFLARE_API_TOKEN: TOKEN },
    });
    return JSON.parse(readFileSync(output, "utf8")) as { type: string; inputs: Record<string, unknown> };
  }

  it("registers a readable type, keeps the token out of the state, and creates and checks from the serialized provider", async () => {
    const { type, inputs } = await registeredResource();
    expect(type).toBe("pulumi-nodejs:dynamic/claude-sandbox:ContainerApplication");
    expect(inputs).toMatchObject(INPUTS);
    const serialized = inputs.__provider;
    expect(typeof serialized).toBe("string");
    expect(JSON.stringify(inputs)).not.toContain(TOKEN);

    const providerFile = join(workDir, "provider.js");
    writeFileSync(providerFile, String(serialized));
    standIn.on("POST", "/accounts/:account/containers/applications", () => ({ result: liveApplication() }));
    // Loads the provider as node_modules/@pulumi/pulumi/cmd/dynamic-provider does, with its Config class.
    const host = `
      const { createRequire } = require("node:module");
      const { readFileSync } = require("node:fs");
      const requireHere = createRequire(process.cwd() + "/");
      const requireFromString = requireHere("require-from-string");
      const { Config } = requireHere("@pulumi/pulumi/cmd/dynamic-provider/config");
      const [providerFile, token, baseUrl, inputs] = process.argv.slice(1);
      const provider = requireFromString(readFileSync(providerFile, "utf8")).handler();
      const config = new Config({ "cloudflare:apiToken": token, "cloudflare:baseUrl": baseUrl }, "claude-sandbox");
      (async () => {
        await provider.configure({ config });
        const result = await provider.create(JSON.parse(inputs));
        // check, as in a preview with values not known yet, and with a value the API would refuse.
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        const preview = await provider.check(JSON.parse(inputs), { ...JSON.parse(inputs), image: unknown, maxInstances: unknown });
        const refused = await provider.check(JSON.parse(inputs), { ...JSON.parse(inputs), maxInstances: 0 });
        process.stdout.write(JSON.stringify({ result, checks: [preview.failures, refused.failures] }));
      })().catch((error) => { console.error(error.message); process.exit(1); });
    `;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CLOUDFLARE_API_TOKEN;
    delete env.CLOUDFLARE_BASE_URL;

    const { stdout } = await run(
      process.execPath,
      ["-e", host, providerFile, TOKEN, standIn.url, JSON.stringify(inputs)],
      { cwd: ROOT, env },
    );

    const { result, checks } = JSON.parse(stdout) as { result: unknown; checks: [unknown[], { property: string }[]] };
    expect(result).toMatchObject({ id: APP_ID, outs: { ...INPUTS, applicationId: APP_ID } });
    // The serialized check still tells a value unknown during preview from a wrong one.
    expect(checks[0]).toEqual([]);
    expect(checks[1].map((failure) => failure.property)).toEqual(["maxInstances"]);
    expect(summary(standIn.requests)).toEqual([`POST ${APPLICATIONS}`]);
    expect(standIn.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(standIn.requests[0]?.body).toMatchObject({ name: INPUTS.name, configuration: { image: IMAGE } });
  });
});
