/**
 * The `pulumi-yaml` check: Pulumi.yaml runs the program in `main` with
 * nodejs, and declares, typed and described, exactly the keys (and defaults)
 * that `infra/config.ts` reads.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse as parseYaml } from "yaml";
import { CONFIG_MODULE, type ConfigCheck, type ConfigModule, configText, errorText, fail, finish, isRecord, type Loaded, type Problem, readText } from "./checkout.js";

const PROJECT_NAME = "claude-sandbox";
/** The Pulumi types a project config key may declare. */
const PULUMI_TYPES = ["string", "integer", "boolean", "array", "object"];

/** The `pulumi-yaml` check, and the defaults it declares. */
export interface ProjectFacts {
  check: ConfigCheck;
  /** The declared defaults, as config text, to merge under each stack's values. */
  defaults: Record<string, string>;
}

/** Judges Pulumi.yaml (or Pulumi.yml) against the program in `infra/config.ts`. */
export function checkPulumiYaml(dir: string, config: Loaded<ConfigModule>): ProjectFacts {
  const name = "pulumi-yaml";
  const defaults: Record<string, string> = {};
  const file = ["Pulumi.yaml", "Pulumi.yml"].find((candidate) => readText(dir, candidate) !== null);
  const text = file === undefined ? null : readText(dir, file);
  if (file === undefined || text === null) {
    return {
      check: fail(name, `Pulumi.yaml not found in ${dir}`, "Run validate-config in the repository root (the directory with Pulumi.yaml), or restore it: `git checkout -- Pulumi.yaml`"),
      defaults,
    };
  }
  let project: unknown;
  try {
    project = parseYaml(text);
  } catch (error) {
    return { check: fail(name, `${file} is not valid YAML: ${errorText(error)}`, `Fix the YAML syntax of ${file}`), defaults };
  }
  if (!isRecord(project)) return { check: fail(name, `${file} is not a YAML mapping`, `Restore ${file}: \`git checkout -- ${file}\``), defaults };

  const problems: Problem[] = [];
  const expectedName = config.module?.PROJECT ?? PROJECT_NAME;
  if (project.name !== expectedName) {
    problems.push({
      message: `name is ${JSON.stringify(project.name ?? null)}, not "${expectedName}" (the namespace of every config key)`,
      hint: `Set \`name: ${expectedName}\` in ${file}`,
    });
  }
  const runtime = isRecord(project.runtime) ? project.runtime.name : project.runtime;
  if (runtime !== "nodejs") {
    problems.push({ message: `runtime is ${JSON.stringify(runtime ?? null)}, not nodejs`, hint: `Set \`runtime: { name: nodejs }\` in ${file}` });
  }
  if (typeof project.main !== "string" || project.main.trim() === "") {
    problems.push({ message: "main is not set, so Pulumi would look for the program in the repository root", hint: `Set \`main: infra/index.ts\` in ${file}` });
  } else {
    // The program's entry file, or a directory whose index.ts is.
    const main = join(dir, project.main);
    const entry = existsSync(main) && statSync(main).isDirectory() ? join(main, "index.ts") : main;
    if (!/\.[cm]?[jt]s$/.test(entry) || !existsSync(entry) || !statSync(entry).isFile()) {
      problems.push({
        message: `main is "${project.main}", which is neither the program's entry file nor a directory with index.ts`,
        hint: `Point \`main\` in ${file} at the program (infra/index.ts)`,
      });
    }
  }

  const declarations: Record<string, unknown> = {};
  if (!isRecord(project.config)) {
    problems.push({ message: `${file} declares no config keys`, hint: `Restore the \`config:\` section of ${file}: \`git checkout -- ${file}\`` });
  } else {
    for (const [rawKey, schema] of Object.entries(project.config)) {
      // Values for other namespaces (a provider's keys) are settings, not declarations of the program.
      const colon = rawKey.indexOf(":");
      if (colon !== -1 && rawKey.slice(0, colon) !== expectedName) continue;
      const key = colon === -1 ? rawKey : rawKey.slice(colon + 1);
      declarations[key] = schema;
      if (!isRecord(schema)) {
        problems.push({ message: `config key ${key} is a bare value, not a declaration with type and description`, hint: `Declare ${key} in ${file} with \`type:\`, \`description:\` and \`default:\`` });
        continue;
      }
      if (typeof schema.type !== "string" || !PULUMI_TYPES.includes(schema.type)) {
        problems.push({
          message: `config key ${key} has ${schema.type === undefined ? "no type" : `type ${JSON.stringify(schema.type)}, not one of ${PULUMI_TYPES.join(", ")}`}`,
          hint: `Give ${key} a \`type:\` in ${file}`,
        });
      }
      if (typeof schema.description !== "string" || schema.description.trim() === "") {
        problems.push({ message: `config key ${key} has no description`, hint: `Give ${key} a \`description:\` in ${file} (what it does and what it accepts)` });
      }
      if ("default" in schema) defaults[key] = configText(schema.default);
    }
  }

  if (config.error !== undefined) {
    problems.push({ message: `cannot compare with the program: ${config.error}`, hint: `Run \`npm ci\` in ${dir}, and fix ${CONFIG_MODULE}` });
  } else if (isRecord(project.config)) {
    const programKeys = config.module.CONFIG_KEYS;
    for (const key of programKeys) {
      if (!(key in declarations)) {
        problems.push({ message: `config key ${key} is read by ${CONFIG_MODULE} but not declared`, hint: `Declare ${key} in ${file} (type, description, default)` });
      }
    }
    for (const key of Object.keys(declarations)) {
      if (!programKeys.includes(key)) {
        problems.push({ message: `config key ${key} is declared but ${CONFIG_MODULE} does not read it`, hint: `Remove ${key} from ${file}, or read it in ${CONFIG_MODULE}` });
      }
    }
    for (const [key, programDefault] of Object.entries(config.module.CONFIG_DEFAULTS)) {
      const schema = declarations[key];
      if (!isRecord(schema)) continue;
      if (!("default" in schema)) {
        problems.push({
          message: `config key ${key} has no default, so Pulumi would require it; the program's default is ${JSON.stringify(programDefault)}`,
          hint: `Set \`default: ${JSON.stringify(programDefault)}\` for ${key} in ${file}`,
        });
      } else if (!isDeepStrictEqual(schema.default, programDefault)) {
        problems.push({
          message: `config key ${key} defaults to ${JSON.stringify(schema.default)} but ${CONFIG_MODULE} to ${JSON.stringify(programDefault)}`,
          hint: `Make the default of ${key} the same in ${file} and ${CONFIG_MODULE}`,
        });
      }
    }
  }
  const keyCount = Object.keys(declarations).length;
  return { check: finish(name, problems, `${file} runs ${String(project.main)} with nodejs and declares the ${keyCount} keys ${CONFIG_MODULE} reads, each typed and described`), defaults };
}
