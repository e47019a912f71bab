/**
 * A Pulumi dynamic provider for a Cloudflare Containers application: the
 * container image the Worker's `Sandbox` Durable Object class runs.
 *
 * Neither Pulumi nor Terraform has a native resource for it, so this provider
 * drives the Containers API through the official `cloudflare` client:
 *
 * - create: a scheduler-backed application (`scheduling_policy: "default"`,
 *   no pre-started instances) bound to the Worker script's Durable Object class.
 *   Right after the Worker upload the class may not be visible yet
 *   (`DURABLE_OBJECT_NOT_FOUND`): the create is retried for a short while. An
 *   application that already exists with the same name, script and class (a
 *   create whose answer was lost, then retried) is adopted and brought to the
 *   desired configuration; one serving another Worker or class is reported;
 * - update: `maxInstances` and the rollout grace period are edited in place;
 *   a new image, instance type or logging setting goes out as a rolling
 *   rollout in wrangler's steps (the API accepts image changes only through a
 *   rollout), and the update waits until the rollout completes
 *   (`./container-rollout.ts`);
 * - a new account, name, script or class replaces the application, deleting
 *   the old one first because names are unique per account.
 *
 * `rolloutGracePeriodSeconds` is the application's `rollout_active_grace_period`:
 * how long a container that is running a task stays alive after a rollout
 * reaches it, before it may be signalled to stop. The API's default is 0.
 *
 * The provider object is serialized into the Pulumi state and run by Pulumi's
 * dynamic provider host, so its methods use only module-local helpers and
 * load npm packages at call time (see `./cloudflare-api.ts`). The API token
 * comes from the stack config handed to `configure`, never from inputs.
 */
import * as pulumi from "@pulumi/pulumi";
import type Cloudflare from "cloudflare";
import {
  apiFailure,
  type CloudflareConnection as Connection,
  connectCloudflare,
  isNotFound,
  type ProviderConfigSource,
} from "./cloudflare-api.js";
import { followRollout, rolloutLimits, rolloutSteps, stepCount } from "./container-rollout.js";

/** The instance types Cloudflare Containers offers (vCPU, memory and disk grow in this order). */
export const INSTANCE_TYPES = ["lite", "basic", "standard-1", "standard-2", "standard-3", "standard-4"] as const;

/** One of {@link INSTANCE_TYPES}. */
export type InstanceType = (typeof INSTANCE_TYPES)[number];

/** Arguments of a {@link ContainerApplication}. */
export interface ContainerApplicationArgs {
  /** Cloudflare account id. Changing it replaces the application. */
  accountId: pulumi.Input<string>;
  /** Application name, unique per account. Changing it replaces the application. */
  name: pulumi.Input<string>;
  /** Digest-pinned image reference: `registry.cloudflare.com/<account>/<repository>@sha256:<digest>`. */
  image: pulumi.Input<string>;
  /** Size of each container instance, one of {@link INSTANCE_TYPES}. */
  instanceType: pulumi.Input<InstanceType>;
  /** Most container instances that may run at once (a positive integer). */
  maxInstances: pulumi.Input<number>;
  /** Name of the Worker script that defines the Durable Object class. Changing it replaces the application. */
  scriptName: pulumi.Input<string>;
  /** The Durable Object class the containers belong to (`Sandbox`). Changing it replaces the application. */
  className: pulumi.Input<string>;
  /** Whether container logs are collected; defaults to true. */
  observability?: pulumi.Input<boolean>;
  /**
   * Seconds a running container is kept alive after a rollout reaches it (`rollout_active_grace_period`):
   * at least the longest a task can run, so a deploy never cuts a task short.
   */
  rolloutGracePeriodSeconds: pulumi.Input<number>;
}

/** The inputs as the provider receives them: {@link ContainerApplicationArgs}, resolved. */
export interface ContainerApplicationInputs {
  accountId: string;
  name: string;
  image: string;
  instanceType: InstanceType;
  maxInstances: number;
  scriptName: string;
  className: string;
  observability?: boolean;
  rolloutGracePeriodSeconds: number;
}

/** The resolved inputs with defaults applied. */
export interface DesiredApplication extends ContainerApplicationInputs {
  observability: boolean;
}

/** What the provider records in state: the desired application plus its id. */
export interface ContainerApplicationState extends DesiredApplication {
  applicationId: string;
}

/** How a change to an input reaches the application. */
type ChangeEffect = "replace" | "edit" | "rollout";

/** The effect of changing each input (every input is listed, so none is silently ignored). */
const CHANGE_EFFECTS = {
  accountId: "replace",
  name: "replace",
  scriptName: "replace",
  className: "replace",
  maxInstances: "edit",
  rolloutGracePeriodSeconds: "edit",
  image: "rollout",
  instanceType: "rollout",
  observability: "rollout",
} as const satisfies Record<keyof ContainerApplicationInputs, ChangeEffect>;

type TrackedProperty = keyof typeof CHANGE_EFFECTS;

/** Image references the API can pull reproducibly: pinned to a sha256 digest. */
const DIGEST_PINNED_IMAGE = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

/** The fields of an application this provider reads back from the API. */
interface ApplicationView {
  id: string;
  name?: string;
  max_instances?: number;
  rollout_active_grace_period?: number;
  configuration?: {
    image?: string;
    instance_type?: InstanceType;
    observability?: { logs?: { enabled?: boolean } };
  };
  observability?: { logs?: { enabled?: boolean } };
  /** The API documents only `namespace_id` here; the script and class are read when it also returns them. */
  durable_objects?: { namespace_id?: string; script_name?: string; class_name?: string };
}

/** Implements create, read, diff, update and delete of a Containers application. */
export class ContainerApplicationProvider
  implements pulumi.dynamic.ResourceProvider<ContainerApplicationInputs, ContainerApplicationState>
{
  /** The stack config, given by Pulumi's provider host before any other call. */
  private config: ProviderConfigSource | undefined;

  /** How often a create is tried while the Durable Object class is not visible yet, and the pause between tries. */
  private readonly createRetry: { attempts: number; delayMs: number };

  /** How a rollout is followed: the pause between two reads, and where progress lines go. */
  private readonly rollouts: RolloutFollowing;

  /**
   * `createAttempts` (12) tries, `createRetryDelayMs` (5000) apart: about a minute in all. A rollout
   * is read every `rolloutPollMs` (10000); its progress goes to `log` (`console.log`, which Pulumi shows
   * in the output of `pulumi up`).
   */
  constructor(
    options: { createAttempts?: number; createRetryDelayMs?: number; rolloutPollMs?: number; log?: (line: string) => void } = {},
  ) {
    this.createRetry = { attempts: options.createAttempts ?? 12, delayMs: options.createRetryDelayMs ?? 5_000 };
    this.rollouts = { pollMs: options.rolloutPollMs ?? 10_000, log: options.log ?? ((line) => console.log(line)) };
  }

  /** Keeps the stack config (it may hold `cloudflare:apiToken` and `cloudflare:baseUrl`). */
  async configure(request: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.config = request.config;
  }

  /** Rejects inputs the API would refuse, before any API call; values unknown during preview pass. */
  async check(
    _olds: ContainerApplicationInputs,
    news: ContainerApplicationInputs,
  ): Promise<pulumi.dynamic.CheckResult<ContainerApplicationInputs>> {
    return { inputs: news, failures: inputFailures(news) };
  }

  /**
   * Creates the application, retrying while the Worker's Durable Object class
   * is not visible yet; adopts an existing application with the same name,
   * script and class; reports any other conflict.
   */
  async create(inputs: ContainerApplicationInputs): Promise<pulumi.dynamic.CreateResult<ContainerApplicationState>> {
    const desired = desiredApplication(inputs);
    const connection = await this.connect();
    for (let attempt = 1; ; attempt++) {
      try {
        const application = await connection.client.containers.applications.create(createParams(desired));
        return { id: application.id, outs: { ...desired, applicationId: application.id } };
      } catch (error) {
        if (containersErrorCode(error) === "DURABLE_OBJECT_NOT_FOUND" && attempt < this.createRetry.attempts) {
          await new Promise((resolve) => setTimeout(resolve, this.createRetry.delayMs));
          continue;
        }
        const existing = await existingApplication(connection, desired, error);
        if (existing && servesDesiredClass(existing, desired)) {
          await applyChanges(async () => connection, existing.id, liveProperties(existing.view), desired, this.rollouts);
          return { id: existing.id, outs: { ...desired, applicationId: existing.id } };
        }
        throw createFailure(connection, desired, error, existing, attempt);
      }
    }
  }

  /** Reads the live application into state; a missing application reads as gone (no id). */
  async read(
    id: string,
    props?: ContainerApplicationState,
  ): Promise<pulumi.dynamic.ReadResult<ContainerApplicationState>> {
    if (!props?.accountId) {
      throw new Error(`Cannot read container application ${id}: its state has no accountId.`);
    }
    const connection = await this.connect();
    try {
      const application = await connection.client.containers.applications.get(id, { account_id: props.accountId });
      return { id, props: { ...props, ...liveProperties(application as ApplicationView), applicationId: id } };
    } catch (error) {
      if (isNotFound(error)) return {};
      throw apiFailure(`read container application ${id}`, error, [connection.apiToken]);
    }
  }

  /** Classifies the changed inputs: replacement, in-place update, or nothing. */
  async diff(
    _id: string,
    olds: ContainerApplicationState,
    news: ContainerApplicationInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const changed = changedProperties(desiredApplication(olds), desiredApplication(news));
    const replaces = changed.filter((property) => CHANGE_EFFECTS[property] === "replace");
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  }

  /**
   * Edits `maxInstances` and the grace period, and rolls out a new configuration,
   * each only when it changed; returns once the rollout has completed.
   */
  async update(
    id: string,
    olds: ContainerApplicationState,
    news: ContainerApplicationInputs,
  ): Promise<pulumi.dynamic.UpdateResult<ContainerApplicationState>> {
    const desired = desiredApplication(news);
    await applyChanges(() => this.connect(), id, desiredApplication(olds), desired, this.rollouts);
    return { outs: { ...desired, applicationId: id } };
  }

  /** Deletes the application; one that is already gone counts as deleted. */
  async delete(id: string, props: ContainerApplicationState): Promise<void> {
    const connection = await this.connect();
    try {
      await connection.client.containers.applications.delete(id, { account_id: props.accountId });
    } catch (error) {
      if (!isNotFound(error)) throw apiFailure(`delete container application ${id}`, error, [connection.apiToken]);
    }
  }

  /** A client for this call; fails clearly when no token is configured. */
  private connect(): Promise<Connection> {
    return connectCloudflare(this.config);
  }
}

/** Applies the defaults: container logs are on unless turned off. */
function desiredApplication(inputs: ContainerApplicationInputs): DesiredApplication {
  return { ...inputs, observability: inputs.observability ?? true };
}

/** The tracked inputs whose values differ between two versions (a property `before` lacks counts as changed). */
function changedProperties(before: Partial<DesiredApplication>, after: DesiredApplication): TrackedProperty[] {
  const properties = Object.keys(CHANGE_EFFECTS) as TrackedProperty[];
  return properties.filter((property) => before[property] !== after[property]);
}

/** Validation failures of known input values. */
function inputFailures(inputs: ContainerApplicationInputs): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  // During preview, an input that is not known yet arrives as the engine's placeholder.
  const known = (value: unknown) => value !== pulumi.runtime.unknownValue;
  for (const property of ["accountId", "name", "scriptName", "className"] as const) {
    if (known(inputs[property]) && (typeof inputs[property] !== "string" || inputs[property] === "")) {
      failures.push({ property, reason: `${property} must be a non-empty string` });
    }
  }
  if (known(inputs.image) && !DIGEST_PINNED_IMAGE.test(String(inputs.image))) {
    const reason = "image must be pinned to a digest: <registry>/<repository>@sha256:<64 hex>";
    failures.push({ property: "image", reason });
  }
  if (known(inputs.instanceType) && !(INSTANCE_TYPES as readonly unknown[]).includes(inputs.instanceType)) {
    failures.push({ property: "instanceType", reason: `instanceType must be one of ${INSTANCE_TYPES.join(", ")}` });
  }
  if (known(inputs.maxInstances) && !(Number.isInteger(inputs.maxInstances) && inputs.maxInstances > 0)) {
    failures.push({ property: "maxInstances", reason: "maxInstances must be a positive integer" });
  }
  const grace = inputs.rolloutGracePeriodSeconds;
  if (known(grace) && !(Number.isInteger(grace) && grace >= 0)) {
    failures.push({ property: "rolloutGracePeriodSeconds", reason: "rolloutGracePeriodSeconds must be a whole number of seconds, 0 or more" });
  }
  return failures;
}

/** The container configuration: image, instance size and logging. */
function containerConfiguration(desired: DesiredApplication) {
  return {
    image: desired.image,
    instance_type: desired.instanceType,
    observability: { logs: { enabled: desired.observability } },
  };
}

/** The create request: scheduler-backed, no pre-started instances, bound to the Worker's Durable Object class. */
function createParams(
  desired: DesiredApplication,
): Cloudflare.Containers.ApplicationCreateParams.CcContainersCreateScheduledApplicationRequest {
  return {
    account_id: desired.accountId,
    name: desired.name,
    scheduling_policy: "default",
    instances: 0,
    max_instances: desired.maxInstances,
    rollout_active_grace_period: desired.rolloutGracePeriodSeconds,
    configuration: containerConfiguration(desired),
    durable_objects: { script_name: desired.scriptName, class_name: desired.className },
  };
}

/**
 * The machine-readable code of a Containers API failure: the body's `error`
 * (`{"error": "DURABLE_OBJECT_NOT_FOUND", "details": …}`), else the first
 * Cloudflare error message.
 */
function containersErrorCode(error: unknown): string | undefined {
  const shaped = (typeof error === "object" && error !== null ? error : {}) as {
    error?: { error?: unknown };
    errors?: { message?: unknown }[];
  };
  const code = shaped.error?.error ?? shaped.errors?.[0]?.message;
  return typeof code === "string" ? code : undefined;
}

/** An application found after a failed create, with the Worker script and class it serves when they are known. */
interface ExistingApplication {
  id: string;
  name: string;
  view: ApplicationView;
  owner: { scriptName: string; className: string } | undefined;
}

/**
 * The application a failed create collided with: the one the API names when
 * the class already has an application, else the account's application with
 * the desired name (for a 409, or a 400 when one exists). Undefined when there
 * is none or it cannot be looked up (the create failure is then reported).
 */
async function existingApplication(
  connection: Connection,
  desired: DesiredApplication,
  error: unknown,
): Promise<ExistingApplication | undefined> {
  const status = (error as { status?: unknown } | null)?.status;
  const code = containersErrorCode(error);
  if (status !== 400 && status !== 409 && code !== "DURABLE_OBJECT_ALREADY_HAS_APPLICATION") return undefined;
  try {
    const details = (error as { error?: { details?: { id?: unknown } } }).error?.details;
    let id = code === "DURABLE_OBJECT_ALREADY_HAS_APPLICATION" && typeof details?.id === "string" ? details.id : undefined;
    if (id === undefined) {
      const filter = { account_id: desired.accountId, name: desired.name };
      for await (const application of connection.client.containers.applications.list(filter)) {
        if (application.name === desired.name) {
          id = application.id;
          break;
        }
      }
    }
    if (id === undefined) return undefined;
    const view = (await connection.client.containers.applications.get(id, { account_id: desired.accountId })) as ApplicationView;
    return { id, name: view.name ?? "", view, owner: await applicationOwner(connection, desired.accountId, view) };
  } catch {
    // The lookup only decides between adopting and reporting; the create failure is what gets reported.
    return undefined;
  }
}

/** The Worker script and Durable Object class an application serves, from the application or its namespace. */
async function applicationOwner(
  connection: Connection,
  accountId: string,
  view: ApplicationView,
): Promise<ExistingApplication["owner"]> {
  const objects = view.durable_objects;
  if (objects?.script_name && objects.class_name) return { scriptName: objects.script_name, className: objects.class_name };
  if (!objects?.namespace_id) return undefined;
  for await (const namespace of connection.client.durableObjects.namespaces.list({ account_id: accountId })) {
    if (namespace.id === objects.namespace_id) {
      return namespace.script && namespace.class ? { scriptName: namespace.script, className: namespace.class } : undefined;
    }
  }
  return undefined;
}

/** Whether an existing application is the one this resource would have created. */
function servesDesiredClass(existing: ExistingApplication, desired: DesiredApplication): boolean {
  return (
    existing.name === desired.name &&
    existing.owner?.scriptName === desired.scriptName &&
    existing.owner.className === desired.className
  );
}

/** How rollouts are followed (the provider's options). */
interface RolloutFollowing {
  pollMs: number;
  log: (line: string) => void;
}

/**
 * Makes an application that has `before` into `desired` in place, by each
 * changed property's CHANGE_EFFECTS: one edit for `maxInstances` and the grace
 * period, then one rollout for the container configuration, followed until it
 * completes; each only when needed (connecting only then). Properties that
 * replace the application are left to diff.
 */
async function applyChanges(
  connect: () => Promise<Connection>,
  id: string,
  before: Partial<DesiredApplication>,
  desired: DesiredApplication,
  following: RolloutFollowing,
): Promise<void> {
  const effects = new Set(changedProperties(before, desired).map((property) => CHANGE_EFFECTS[property]));
  if (!effects.has("edit") && !effects.has("rollout")) return;
  const connection = await connect();
  if (effects.has("edit")) await editApplication(connection, id, desired);
  if (effects.has("rollout")) await rollOut(connection, id, desired, following);
}

/** The error for a create that failed and adopted nothing: what stands in the way and what to do, else the API failure. */
function createFailure(
  connection: Connection,
  desired: DesiredApplication,
  error: unknown,
  existing: ExistingApplication | undefined,
  attempts: number,
): Error {
  const status = (error as { status?: unknown } | null)?.status;
  const code = containersErrorCode(error);
  if (code === "DURABLE_OBJECT_NOT_FOUND") {
    return new Error(
      `Cloudflare API: could not create container application ${desired.name}: the Durable Object class ${desired.className} ` +
        `of Worker ${desired.scriptName} was still not found after ${attempts} attempts. Run \`pulumi up\` again.`,
    );
  }
  if (existing === undefined && status !== 409 && code !== "DURABLE_OBJECT_ALREADY_HAS_APPLICATION") {
    return apiFailure(`create container application ${desired.name}`, error, [connection.apiToken]);
  }
  const id = existing?.id ?? "<id>";
  const remedy = `(Cloudflare dashboard, or \`wrangler containers delete ${id}\`) and run \`pulumi up\` again.`;
  if (existing && existing.name !== desired.name) {
    return new Error(
      `Class ${desired.className} of Worker ${desired.scriptName} already has a Containers application, "${existing.name}" ` +
        `(id ${existing.id}), in account ${desired.accountId}. Delete it ${remedy}`,
    );
  }
  const which = existing ? ` (id ${existing.id})` : "";
  const serves = existing?.owner
    ? `serves class ${existing.owner.className} of Worker ${existing.owner.scriptName}`
    : "could not be matched to this Worker's class";
  return new Error(
    `A Containers application named "${desired.name}"${which} already exists in account ${desired.accountId} and ${serves}. ` +
      `Choose another workerName, or delete it ${remedy}`,
  );
}

/** Sets the most instances that may run at once and the rollout grace period. */
async function editApplication(connection: Connection, id: string, desired: DesiredApplication): Promise<void> {
  try {
    await connection.client.containers.applications.edit(id, {
      account_id: desired.accountId,
      max_instances: desired.maxInstances,
      rollout_active_grace_period: desired.rolloutGracePeriodSeconds,
    });
  } catch (error) {
    throw apiFailure(`set max instances and rollout grace period of container application ${id}`, error, [connection.apiToken]);
  }
}

/**
 * Rolls the whole container configuration out, automatically, in wrangler's
 * steps, and follows the rollout until it completes.
 */
async function rollOut(connection: Connection, id: string, desired: DesiredApplication, following: RolloutFollowing): Promise<void> {
  const steps = rolloutSteps(desired.maxInstances);
  let rolloutId: string;
  try {
    const rollout = await connection.client.containers.applications.rollouts.create(id, {
      account_id: desired.accountId,
      description: `Deploy ${desired.image} on ${desired.instanceType}`,
      strategy: "rolling",
      kind: "full_auto",
      ...steps,
      target_configuration: containerConfiguration(desired),
    });
    rolloutId = rollout.id;
  } catch (error) {
    throw apiFailure(`roll out a new configuration to container application ${id}`, error, [connection.apiToken]);
  }
  await followRollout(connection, {
    accountId: desired.accountId,
    applicationId: id,
    applicationName: desired.name,
    rolloutId,
    limits: rolloutLimits(desired.rolloutGracePeriodSeconds, stepCount(steps)),
    ...following,
  });
}

/** The inputs as the live application has them; fields the API leaves out keep their recorded values. */
function liveProperties(application: ApplicationView): Partial<DesiredApplication> {
  const logs = application.configuration?.observability?.logs ?? application.observability?.logs;
  const live = {
    name: application.name,
    image: application.configuration?.image,
    instanceType: application.configuration?.instance_type,
    maxInstances: application.max_instances,
    rolloutGracePeriodSeconds: application.rollout_active_grace_period,
    observability: logs?.enabled,
    scriptName: application.durable_objects?.script_name,
    className: application.durable_objects?.class_name,
  };
  return Object.fromEntries(Object.entries(live).filter(([, value]) => value !== undefined));
}

/** The dynamic resource's type token is `pulumi-nodejs:dynamic/claude-sandbox:ContainerApplication`. */
const RESOURCE_MODULE = "claude-sandbox";
const RESOURCE_TYPE = "ContainerApplication";

/** A Cloudflare Containers application serving the Worker's Durable Object class. */
export class ContainerApplication extends pulumi.dynamic.Resource {
  /** The application id Cloudflare assigned (also the resource id). */
  declare readonly applicationId: pulumi.Output<string>;
  declare readonly accountId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly image: pulumi.Output<string>;
  declare readonly instanceType: pulumi.Output<InstanceType>;
  declare readonly maxInstances: pulumi.Output<number>;
  declare readonly scriptName: pulumi.Output<string>;
  declare readonly className: pulumi.Output<string>;
  declare readonly observability: pulumi.Output<boolean>;
  declare readonly rolloutGracePeriodSeconds: pulumi.Output<number>;

  constructor(name: string, args: ContainerApplicationArgs, opts?: pulumi.CustomResourceOptions) {
    // Every output is named in the props so the resource exposes it, even when left unset.
    const props = { observability: undefined, ...args, applicationId: undefined };
    super(new ContainerApplicationProvider(), name, props, opts, RESOURCE_MODULE, RESOURCE_TYPE);
  }
}
