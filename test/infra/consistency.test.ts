/**
 * worker/wrangler.jsonc (local dev and tests) agrees with the names in
 * worker/src/contract.ts, and with what the Pulumi program binds: the same
 * Durable Object bindings and migrations, the same rate limit, the same
 * settings with the same defaults, the console's assets where the contract
 * puts them. And the Worker reads every setting the program binds as the
 * program meant it.
 */
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { parse, type ParseError } from "jsonc-parser";
import { describe, expect, it } from "vitest";
import { workerBindings } from "../../infra/components/sandbox-worker.js";
import { parseConfig } from "../../infra/config.js";
import { readSettings } from "../../worker/src/settings.js";
import {
  BRANCH_QUEUE_BINDING,
  BRANCH_QUEUE_CLASS_NAME,
  COMPATIBILITY_DATE,
  CONSOLE_ASSETS,
  COMPATIBILITY_FLAGS,
  DURABLE_OBJECT_BINDINGS,
  DURABLE_OBJECT_MIGRATIONS,
  LATEST_MIGRATION_TAG,
  LIMITS,
  PERMISSION_MODES,
  RATE_LIMIT_BINDING,
  RESULTS_BUCKET_BINDING,
  SANDBOX_CLASS_NAME,
  SECRET_BINDINGS,
  SERVICE_VERSION,
  SETTING_VARS,
} from "../../worker/src/contract.js";

interface WranglerConfig {
  compatibility_date: string;
  compatibility_flags: string[];
  observability: { enabled: boolean };
  assets: { directory: string; run_worker_first: string[]; html_handling: string; not_found_handling: string; binding?: string };
  containers: { class_name: string; image: string }[];
  durable_objects: { bindings: { name: string; class_name: string }[] };
  migrations: { tag: string; new_sqlite_classes?: string[] }[];
  ratelimits: { name: string; namespace_id: string; simple: { limit: number; period: number } }[];
  r2_buckets: { binding: string }[];
  vars: Record<string, string>;
}

const errors: ParseError[] = [];
const wrangler = parse(readFileSync("worker/wrangler.jsonc", "utf8"), errors) as WranglerConfig;

/** The program's bindings for a stack with default settings, and `values` on top. */
function programBindings(values: Record<string, string> = {}) {
  const config = parseConfig(
    {
      get: (key) => ({ accountId: "0123456789abcdef0123456789abcdef", anthropicApiKey: "fake-apikey-consistency", ...values })[key],
      isSecret: () => true,
    },
    "dev",
  );
  return workerBindings(config.workerName, config.bucketName, config);
}

/** The plain-text vars among `bindings`, by name. */
function plainVars(bindings: ReturnType<typeof programBindings>): Record<string, string> {
  return Object.fromEntries(bindings.flatMap((binding) => (binding.type === "plain_text" ? [[binding.name, binding.text]] : [])));
}

describe("worker/wrangler.jsonc", () => {
  it("parses", () => {
    expect(errors).toEqual([]);
  });

  it("binds every Durable Object class under the contract's names", () => {
    expect(wrangler.durable_objects.bindings).toEqual(
      Object.entries(DURABLE_OBJECT_BINDINGS).map(([name, className]) => ({ name, class_name: className })),
    );
  });

  it("has the contract's migrations, in order, ending at the latest tag", () => {
    expect(wrangler.migrations).toEqual(
      DURABLE_OBJECT_MIGRATIONS.map(({ tag, newSqliteClasses }) => ({ tag, new_sqlite_classes: [...newSqliteClasses] })),
    );
    expect(wrangler.migrations.at(-1)?.tag).toBe(LATEST_MIGRATION_TAG);
  });

  it("binds BranchQueue as BRANCH_QUEUES, created by the v3 migration", () => {
    expect(wrangler.durable_objects.bindings).toContainEqual({ name: BRANCH_QUEUE_BINDING, class_name: BRANCH_QUEUE_CLASS_NAME });
    expect(wrangler.migrations.find((migration) => migration.new_sqlite_classes?.includes(BRANCH_QUEUE_CLASS_NAME))?.tag).toBe("v3");
  });

  it("creates every bound class in exactly one migration", () => {
    const created = DURABLE_OBJECT_MIGRATIONS.flatMap((migration) => migration.newSqliteClasses);
    expect([...created].sort()).toEqual([...new Set(Object.values(DURABLE_OBJECT_BINDINGS))].sort());
  });

  it("attaches the container image to the Sandbox class only", () => {
    expect(wrangler.containers.map((container) => [container.class_name, container.image])).toEqual([
      [SANDBOX_CLASS_NAME, "../container/Dockerfile"],
    ]);
  });

  it("binds the task rate limit under the contract's name, per minute, with the default limit", () => {
    expect(wrangler.ratelimits.map(({ name, simple }) => ({ name, simple }))).toEqual([
      { name: RATE_LIMIT_BINDING, simple: { limit: LIMITS.rateLimitPerMinute, period: 60 } },
    ]);
  });

  it("binds the results bucket under the contract's name", () => {
    expect(wrangler.r2_buckets.map((bucket) => bucket.binding)).toEqual([RESULTS_BUCKET_BINDING]);
  });

  it("uses the contract's compatibility date and flags, with observability on", () => {
    expect(wrangler.compatibility_date).toBe(COMPATIBILITY_DATE);
    expect(wrangler.compatibility_flags).toEqual([...COMPATIBILITY_FLAGS]);
    expect(wrangler.observability.enabled).toBe(true);
  });

  it("serves the console's assets from the contract's directory, running the Worker first everywhere else", () => {
    expect(wrangler.assets).toEqual({
      // Relative to worker/, where wrangler.jsonc lives.
      directory: `../${CONSOLE_ASSETS.directory}`,
      run_worker_first: [...CONSOLE_ASSETS.runWorkerFirst],
      html_handling: "auto-trailing-slash",
      not_found_handling: "none",
    });
  });

  it("declares only known settings, with valid values", () => {
    const known = new Set<string>(Object.values(SETTING_VARS));
    for (const name of Object.keys(wrangler.vars)) expect(known, name).toContain(name);
    expect(PERMISSION_MODES).toContain(wrangler.vars[SETTING_VARS.permissionMode]);
  });

  it("holds no secret", () => {
    const text = readFileSync("worker/wrangler.jsonc", "utf8");
    for (const secret of Object.values(SECRET_BINDINGS)) expect(Object.keys(wrangler.vars)).not.toContain(secret);
    expect(text).not.toMatch(/sk-ant-|whsec_/);
  });
});

describe("the program and worker/wrangler.jsonc", () => {
  const bindings = programBindings();
  const ofType = <Type extends (typeof bindings)[number]["type"]>(type: Type) =>
    bindings.filter((binding): binding is Extract<(typeof bindings)[number], { type: Type }> => binding.type === type);

  it("bind the same Durable Objects, bucket binding and rate limit", () => {
    expect(ofType("durable_object_namespace").map(({ name, class_name }) => ({ name, class_name }))).toEqual(
      wrangler.durable_objects.bindings,
    );
    expect(ofType("r2_bucket").map((binding) => binding.name)).toEqual(wrangler.r2_buckets.map((bucket) => bucket.binding));
    expect(ofType("ratelimit").map(({ name, simple }) => ({ name, simple }))).toEqual(
      wrangler.ratelimits.map(({ name, simple }) => ({ name, simple })),
    );
  });

  it("send the same migrations", () => {
    expect(DURABLE_OBJECT_MIGRATIONS.map(({ tag, newSqliteClasses }) => ({ tag, new_sqlite_classes: newSqliteClasses }))).toEqual(
      wrangler.migrations,
    );
  });

  it("set the same settings, with the program's defaults as the local values", () => {
    const vars = Object.fromEntries(ofType("plain_text").map(({ name, text }) => [name, text]));
    // The insecure callback switch is for local development only.
    const { [SETTING_VARS.allowInsecureCallbacks]: _localOnly, ...local } = wrangler.vars;
    expect(vars).toEqual(local);
  });

  it("bind BRANCH_QUEUES to BranchQueue and end at the v3 migration", () => {
    expect(ofType("durable_object_namespace")).toContainEqual({
      type: "durable_object_namespace",
      name: BRANCH_QUEUE_BINDING,
      class_name: BRANCH_QUEUE_CLASS_NAME,
    });
    expect(DURABLE_OBJECT_MIGRATIONS.at(-1)).toEqual({ tag: "v3", newSqliteClasses: [BRANCH_QUEUE_CLASS_NAME] });
  });

  it("never binds the local-only insecure callback switch in a deployment", () => {
    expect(bindings.map((binding) => binding.name)).not.toContain(SETTING_VARS.allowInsecureCallbacks);
  });
});

describe("the Worker reads the settings the program binds", () => {
  it("with the defaults: no GitHub App and any repository", () => {
    const vars = plainVars(programBindings());
    expect(vars).not.toHaveProperty(SETTING_VARS.githubAppId);
    expect(vars).not.toHaveProperty(SETTING_VARS.githubRepos);
    expect(readSettings(vars)).toMatchObject({ githubAppId: null, githubRepos: [] });
  });

  it("with a GitHub App and repositories at the edges of GitHub's names", () => {
    const repos = [`${"a".repeat(39)}/x`, "A-b-C/.github", "o/_private", "o/dots.and-dashes_", `o/${"r".repeat(100)}`];
    const key = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    const vars = plainVars(
      programBindings({ githubAppId: String(Number.MAX_SAFE_INTEGER), githubAppPrivateKey: key, githubRepos: JSON.stringify(repos) }),
    );
    expect(readSettings(vars)).toMatchObject({
      githubAppId: String(Number.MAX_SAFE_INTEGER),
      githubRepos: repos.map((repo) => repo.toLowerCase()),
    });
  });
});

describe("the service version", () => {
  it("is the package version", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(SERVICE_VERSION).toBe(pkg.version);
  });
});
