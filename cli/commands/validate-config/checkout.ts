/**
 * What the checks of `validate-config` share: the shape of a check's outcome,
 * reading the checkout's files, and importing its own TypeScript modules
 * (`infra/config.ts`, `worker/src/contract.ts`) so that each check judges the
 * checkout by its own code.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Json } from "../../lib/result.js";

/** One check's outcome; `hint` says what to do, null when it passed. */
export interface ConfigCheck {
  name: string;
  ok: boolean;
  message: string;
  hint: string | null;
  [key: string]: Json | undefined;
}

/** One thing wrong, and what to do about it. */
export interface Problem {
  message: string;
  hint: string;
}

/** What the checks need of `infra/config.ts`. */
export interface ConfigModule {
  PROJECT: string;
  CONFIG_KEYS: readonly string[];
  CONFIG_DEFAULTS: Record<string, unknown>;
  parseConfig(source: { get(key: string): string | undefined; isSecret?(key: string): boolean | undefined }, stack: string): unknown;
  ConfigError: new (key: string, problem: string) => Error;
  /** The keys whose values must be set as secrets. */
  SECRET_CONFIG_KEYS?: readonly string[];
}

/** What the checks need of `worker/src/contract.ts`. */
export interface ContractModule {
  /** The class the container is attached to. */
  SANDBOX_CLASS_NAME: string;
  /** Binding name → Durable Object class name. */
  DURABLE_OBJECT_BINDINGS: Readonly<Record<string, string>>;
  /** Every migration, oldest first. */
  DURABLE_OBJECT_MIGRATIONS: readonly { tag: string; newSqliteClasses: readonly string[] }[];
  RATE_LIMIT_BINDING: string;
  RESULTS_BUCKET_BINDING: string;
  COMPATIBILITY_DATE: string;
  COMPATIBILITY_FLAGS: readonly string[];
}

/** A module of the checkout, or why it could not be used. */
export type Loaded<T> = { module: T; error?: undefined } | { module?: undefined; error: string };

export const CONFIG_MODULE = "infra/config.ts";
export const CONTRACT_MODULE = "worker/src/contract.ts";

/** The message of a thrown value. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A check that passed when nothing is wrong, else one that lists every problem and its hint. */
export function finish(name: string, problems: Problem[], okMessage: string, extra: { [key: string]: Json | undefined } = {}): ConfigCheck {
  if (problems.length === 0) return { name, ok: true, message: okMessage, hint: null, ...extra };
  const hints = [...new Set(problems.map((problem) => problem.hint))];
  return { name, ok: false, message: problems.map((problem) => problem.message).join("; "), hint: hints.join("; "), ...extra };
}

/** A check that failed for one reason. */
export function fail(name: string, message: string, hint: string): ConfigCheck {
  return { name, ok: false, message, hint };
}

/** Whether a parsed value is a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A file of the checkout, or null when it is not there. */
export function readText(dir: string, file: string): string | null {
  const path = join(dir, file);
  try {
    return statSync(path).isFile() ? readFileSync(path, "utf8") : null;
  } catch {
    return null;
  }
}

let typeScriptImports: Promise<void> | undefined;

/**
 * Lets this process import TypeScript: run from its sources (tsx, vitest) it
 * already can; the built CLI registers tsx the first time it needs to.
 */
function enableTypeScriptImports(): Promise<void> {
  typeScriptImports ??= import.meta.url.endsWith(".ts") ? Promise.resolve() : import("tsx/esm/api").then(({ register }) => void register());
  return typeScriptImports;
}

/** Imports a TypeScript module of the checked directory. */
async function importFromDir<T>(dir: string, file: string, validate: (module: Record<string, unknown>) => string | null): Promise<Loaded<T>> {
  const path = join(dir, file);
  if (!existsSync(path)) return { error: `${file} not found` };
  let module: Record<string, unknown>;
  try {
    await enableTypeScriptImports();
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    return { error: `${file} could not be loaded: ${errorText(error)}` };
  }
  const problem = validate(module);
  return problem === null ? { module: module as T } : { error: `${file} ${problem}` };
}

/** The checkout's `infra/config.ts`, checked for what the checks use. */
export function loadConfigModule(dir: string): Promise<Loaded<ConfigModule>> {
  return importFromDir<ConfigModule>(dir, CONFIG_MODULE, (module) => {
    const missing = [
      typeof module.PROJECT === "string" ? null : "PROJECT",
      Array.isArray(module.CONFIG_KEYS) ? null : "CONFIG_KEYS",
      isRecord(module.CONFIG_DEFAULTS) ? null : "CONFIG_DEFAULTS",
      typeof module.parseConfig === "function" ? null : "parseConfig",
      typeof module.ConfigError === "function" ? null : "ConfigError",
    ].filter((name) => name !== null);
    return missing.length === 0 ? null : `does not export ${missing.join(", ")}`;
  });
}

/** The checkout's `worker/src/contract.ts`, checked for what the checks use. */
export function loadContractModule(dir: string): Promise<Loaded<ContractModule>> {
  return importFromDir<ContractModule>(dir, CONTRACT_MODULE, (module) => {
    const names = ["SANDBOX_CLASS_NAME", "RATE_LIMIT_BINDING", "RESULTS_BUCKET_BINDING", "COMPATIBILITY_DATE"];
    const missing = names.filter((name) => typeof module[name] !== "string");
    if (!isRecord(module.DURABLE_OBJECT_BINDINGS)) missing.push("DURABLE_OBJECT_BINDINGS");
    if (!Array.isArray(module.DURABLE_OBJECT_MIGRATIONS)) missing.push("DURABLE_OBJECT_MIGRATIONS");
    if (!Array.isArray(module.COMPATIBILITY_FLAGS)) missing.push("COMPATIBILITY_FLAGS");
    return missing.length === 0 ? null : `does not export ${missing.join(", ")}`;
  });
}

/** A config value as the Pulumi SDK hands it to the program: text, JSON for lists and objects. */
export function configText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
