/**
 * The `bindings` check: worker/wrangler.jsonc uses the names of
 * worker/src/contract.ts: the Durable Object bindings, the migrations in their
 * order, the container's class, the R2 bucket, the rate limit and the
 * compatibility settings.
 */
import { type ParseError, parse as parseJsonc, printParseErrorCode } from "jsonc-parser";
import { isDeepStrictEqual } from "node:util";
import { CONTRACT_MODULE, type ConfigCheck, type ContractModule, fail, finish, isRecord, type Loaded, type Problem, readText } from "./checkout.js";

const WRANGLER = "worker/wrangler.jsonc";

interface WranglerConfig {
  compatibility_date?: unknown;
  compatibility_flags?: unknown;
  containers?: unknown;
  durable_objects?: { bindings?: unknown };
  migrations?: unknown;
  r2_buckets?: unknown;
  ratelimits?: unknown;
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** The `bindings` check. */
export function checkBindings(dir: string, contract: Loaded<ContractModule>): ConfigCheck {
  const name = "bindings";
  const text = readText(dir, WRANGLER);
  if (text === null) return fail(name, `${WRANGLER} not found`, `Restore it: \`git checkout -- ${WRANGLER}\``);
  if (contract.error !== undefined) return fail(name, `cannot compare ${WRANGLER}: ${contract.error}`, `Run \`npm ci\` in ${dir}, and fix ${CONTRACT_MODULE}`);
  const errors: ParseError[] = [];
  const parsed = parseJsonc(text, errors, { allowTrailingComma: true }) as unknown;
  if (errors.length > 0 || !isRecord(parsed)) {
    const first = errors[0];
    return fail(name, `${WRANGLER} is not valid JSONC${first ? `: ${printParseErrorCode(first.error)} at offset ${first.offset}` : ""}`, `Fix the syntax of ${WRANGLER}`);
  }
  const wrangler = parsed as WranglerConfig;
  const c = contract.module;
  const fix = `Make ${WRANGLER} and ${CONTRACT_MODULE} agree (the Pulumi program deploys with the names in ${CONTRACT_MODULE})`;
  const problems: Problem[] = [];

  const bindings = list(wrangler.durable_objects?.bindings);
  const describe = (entries: Record<string, unknown>[]) => entries.map((entry) => `${String(entry.name)} → ${String(entry.class_name)}`).join(", ") || "none";
  for (const [bindingName, className] of Object.entries(c.DURABLE_OBJECT_BINDINGS)) {
    const binding = bindings.find((entry) => entry.name === bindingName);
    if (binding === undefined) {
      problems.push({ message: `no Durable Object binding named ${bindingName} (DURABLE_OBJECT_BINDINGS); found: ${describe(bindings)}`, hint: fix });
    } else if (binding.class_name !== className) {
      problems.push({ message: `the Durable Object binding ${bindingName} uses class ${String(binding.class_name)}, not ${className} (DURABLE_OBJECT_BINDINGS)`, hint: fix });
    }
  }
  const unknown = bindings.filter((entry) => typeof entry.name !== "string" || !(entry.name in c.DURABLE_OBJECT_BINDINGS));
  if (unknown.length > 0) {
    problems.push({ message: `Durable Object bindings that ${CONTRACT_MODULE} does not name: ${describe(unknown)} (DURABLE_OBJECT_BINDINGS)`, hint: fix });
  }

  // Migrations apply in order and are never edited once released: the same steps, in the same order.
  const migrations = list(wrangler.migrations).map((migration) => ({ tag: migration.tag, new_sqlite_classes: migration.new_sqlite_classes }));
  const expectedMigrations = c.DURABLE_OBJECT_MIGRATIONS.map((migration) => ({ tag: migration.tag, new_sqlite_classes: [...migration.newSqliteClasses] }));
  if (!isDeepStrictEqual(migrations, expectedMigrations)) {
    problems.push({
      message: `migrations are ${JSON.stringify(migrations)}, not ${JSON.stringify(expectedMigrations)} (DURABLE_OBJECT_MIGRATIONS, oldest first)`,
      hint: `${fix}; a released migration is never edited or removed, only new ones appended`,
    });
  }

  const containers = list(wrangler.containers);
  if (!containers.some((container) => container.class_name === c.SANDBOX_CLASS_NAME)) {
    const found = containers.map((container) => String(container.class_name)).join(", ") || "none";
    problems.push({ message: `no container is attached to class ${c.SANDBOX_CLASS_NAME}; containers' class_name: ${found}`, hint: fix });
  }

  const buckets = list(wrangler.r2_buckets);
  if (!buckets.some((bucket) => bucket.binding === c.RESULTS_BUCKET_BINDING)) {
    const found = buckets.map((bucket) => String(bucket.binding)).join(", ") || "none";
    problems.push({ message: `no R2 bucket bound as ${c.RESULTS_BUCKET_BINDING} (RESULTS_BUCKET_BINDING); found: ${found}`, hint: fix });
  }

  const ratelimits = list(wrangler.ratelimits);
  if (!ratelimits.some((ratelimit) => ratelimit.name === c.RATE_LIMIT_BINDING)) {
    const found = ratelimits.map((ratelimit) => String(ratelimit.name)).join(", ") || "none";
    problems.push({ message: `no rate limit bound as ${c.RATE_LIMIT_BINDING} (RATE_LIMIT_BINDING); found: ${found}`, hint: fix });
  }

  if (wrangler.compatibility_date !== c.COMPATIBILITY_DATE) {
    problems.push({ message: `compatibility_date is ${JSON.stringify(wrangler.compatibility_date ?? null)}, not ${c.COMPATIBILITY_DATE} (COMPATIBILITY_DATE)`, hint: fix });
  }
  const flags = Array.isArray(wrangler.compatibility_flags) ? [...(wrangler.compatibility_flags as unknown[])].map(String).sort() : null;
  if (!isDeepStrictEqual(flags, [...c.COMPATIBILITY_FLAGS].sort())) {
    problems.push({
      message: `compatibility_flags are ${JSON.stringify(wrangler.compatibility_flags ?? null)}, not ${JSON.stringify(c.COMPATIBILITY_FLAGS)} (COMPATIBILITY_FLAGS)`,
      hint: fix,
    });
  }
  return finish(
    name,
    problems,
    `${WRANGLER} binds ${describe(bindings)} (migrations ${expectedMigrations.map((migration) => migration.tag).join(", ")}; container attached to ${c.SANDBOX_CLASS_NAME}), ${c.RESULTS_BUCKET_BINDING} and ${c.RATE_LIMIT_BINDING}, compatibility ${c.COMPATIBILITY_DATE} [${c.COMPATIBILITY_FLAGS.join(", ")}], as ${CONTRACT_MODULE} says`,
  );
}
