/** worker/wrangler.jsonc (local dev and tests) agrees with the names in worker/src/contract.ts. */
import { readFileSync } from "node:fs";
import { parse, type ParseError } from "jsonc-parser";
import { describe, expect, it } from "vitest";
import {
  COMPATIBILITY_DATE,
  COMPATIBILITY_FLAGS,
  PERMISSION_MODES,
  RESULTS_BUCKET_BINDING,
  SANDBOX_BINDING,
  SANDBOX_CLASS_NAME,
  SANDBOX_MIGRATION_TAG,
  SERVICE_VERSION,
  SETTING_VARS,
} from "../../worker/src/contract.js";

interface WranglerConfig {
  compatibility_date: string;
  compatibility_flags: string[];
  observability: { enabled: boolean };
  containers: { class_name: string; image: string }[];
  durable_objects: { bindings: { name: string; class_name: string }[] };
  migrations: { tag: string; new_sqlite_classes?: string[] }[];
  r2_buckets: { binding: string }[];
  vars: Record<string, string>;
}

const errors: ParseError[] = [];
const wrangler = parse(readFileSync("worker/wrangler.jsonc", "utf8"), errors) as WranglerConfig;

describe("worker/wrangler.jsonc", () => {
  it("parses", () => {
    expect(errors).toEqual([]);
  });

  it("binds the Sandbox Durable Object class under the contract's name", () => {
    expect(wrangler.durable_objects.bindings).toEqual([{ name: SANDBOX_BINDING, class_name: SANDBOX_CLASS_NAME }]);
  });

  it("creates the class with the contract's SQLite migration", () => {
    expect(wrangler.migrations).toEqual([{ tag: SANDBOX_MIGRATION_TAG, new_sqlite_classes: [SANDBOX_CLASS_NAME] }]);
  });

  it("attaches the container image to the same class", () => {
    expect(wrangler.containers.map((container) => [container.class_name, container.image])).toEqual([
      [SANDBOX_CLASS_NAME, "../container/Dockerfile"],
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

  it("declares only known settings, with valid values", () => {
    const known = new Set<string>(Object.values(SETTING_VARS));
    for (const name of Object.keys(wrangler.vars)) expect(known, name).toContain(name);
    expect(PERMISSION_MODES).toContain(wrangler.vars[SETTING_VARS.permissionMode]);
  });

  it("holds no secret", () => {
    const text = readFileSync("worker/wrangler.jsonc", "utf8");
    for (const secret of ["SERVER_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"]) {
      expect(Object.keys(wrangler.vars)).not.toContain(secret);
    }
    expect(text).not.toMatch(/sk-ant-/);
  });
});

describe("the service version", () => {
  it("is the package version", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(SERVICE_VERSION).toBe(pkg.version);
  });
});
