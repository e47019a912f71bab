/**
 * `validate-config` on this repository and on temporary copies of it with
 * exactly one thing broken, each failing its own check and leaving the others
 * passing. The copies are judged by the command function in this process; the
 * repository and a missing directory by the built CLI, which must import the
 * checkout's TypeScript by itself.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { PERMISSION_MODES } from "../../worker/src/contract.js";
import { validateConfig } from "../../cli/commands/validate-config/index.js";
import { UsageError } from "../../cli/lib/result.js";
import { copyRepo, editFile, removeFile, replaceInFile } from "./fixtures/repo-copy.js";
import { type CliProcessRun, removeTempDirs, REPO_ROOT, runCliProcess, tempDir } from "./fixtures/run-cli-process.js";

interface Check {
  name: string;
  ok: boolean;
  message: string;
  hint: string | null;
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const SANDBOX_VERSION = pkg.dependencies["@cloudflare/sandbox"]!;
const CLAUDE_VERSION = pkg.devDependencies["@anthropic-ai/claude-code"]!;

const ACCOUNT = "0123456789abcdef0123456789abcdef";
/** An encrypted value as Pulumi writes it; the CLI must not print it either. */
const CIPHERTEXT = "v1:Y2lwaGVydGV4dC1vZi10aGUtdG9rZW4tbm90LXByaW50ZWQ=";
const PLAINTEXT_TOKEN = "fake-oauth-PLAINTEXT-token-must-never-be-printed";
const CHECKS = ["pulumi-yaml", "stack-dev", "dockerfile-base", "claude-code-pin", "worker-exports", "bindings"];

/** Gives the dev stack what a deployment needs: the account and an encrypted credential. */
function completeDevStack(copy: string): void {
  appendFileSync(join(copy, "Pulumi.dev.yaml"), `  claude-sandbox:accountId: ${ACCOUNT}\n  claude-sandbox:claudeOauthToken:\n    secure: ${CIPHERTEXT}\n`);
}

function editYaml(copy: string, file: string, edit: (document: ReturnType<typeof parseDocument>) => void): void {
  editFile(copy, file, (text) => {
    const document = parseDocument(text);
    edit(document);
    return document.toString();
  });
}

function setStackValue(key: string, value: string) {
  return (copy: string) => editYaml(copy, "Pulumi.dev.yaml", (document) => document.setIn(["config", key], value));
}

interface Breakage {
  /** Breaks one thing in a copy whose dev stack is complete. */
  setup: (copy: string) => void;
  /** The checks that must fail; every other one must pass. */
  failing: string[];
  message: RegExp;
  hint?: RegExp;
}

const BREAKAGES: Record<string, Breakage> = {
  "the Dockerfile's base image tag differs from @cloudflare/sandbox": {
    setup: (copy) => replaceInFile(copy, "container/Dockerfile", `cloudflare/sandbox:${SANDBOX_VERSION}`, "cloudflare/sandbox:0.0.1"),
    failing: ["dockerfile-base"],
    message: new RegExp(`FROM docker\\.io/cloudflare/sandbox:0\\.0\\.1, but package\\.json has @cloudflare/sandbox ${SANDBOX_VERSION.replaceAll(".", "\\.")}`),
    hint: new RegExp(`FROM docker\\.io/cloudflare/sandbox:${SANDBOX_VERSION.replaceAll(".", "\\.")}`),
  },
  "Claude Code is installed @latest": {
    setup: (copy) => replaceInFile(copy, "container/Dockerfile", `@anthropic-ai/claude-code@${CLAUDE_VERSION}`, "@anthropic-ai/claude-code@latest"),
    failing: ["claude-code-pin"],
    message: /installs @anthropic-ai\/claude-code@latest, not one exact version/,
    hint: new RegExp(`@anthropic-ai/claude-code@${CLAUDE_VERSION.replaceAll(".", "\\.")}`),
  },
  "Claude Code is pinned to another version than the devDependency": {
    setup: (copy) => replaceInFile(copy, "container/Dockerfile", `@anthropic-ai/claude-code@${CLAUDE_VERSION}`, "@anthropic-ai/claude-code@1.0.0"),
    failing: ["claude-code-pin"],
    message: new RegExp(`installs @anthropic-ai/claude-code@1\\.0\\.0, but package\\.json's devDependency is ${CLAUDE_VERSION.replaceAll(".", "\\.")}`),
  },
  "the Worker no longer exports Sandbox": {
    setup: (copy) => replaceInFile(copy, "worker/src/index.ts", 'export { Sandbox } from "./sandbox/sandbox.js";\n', ""),
    failing: ["worker-exports"],
    message: /^worker\/src\/index\.ts does not export the Durable Object class Sandbox$/,
    hint: /export \{ Sandbox \} from/,
  },
  "the Worker no longer exports the Task class": {
    setup: (copy) => replaceInFile(copy, "worker/src/index.ts", 'export { Task } from "./tasks/task-object.js";\n', ""),
    failing: ["worker-exports"],
    message: /^worker\/src\/index\.ts does not export the Durable Object class Task$/,
    hint: /export \{ Task \} from/,
  },
  "the Worker no longer exports ContainerProxy or a default handler": {
    setup: (copy) =>
      editFile(copy, "worker/src/index.ts", (text) => text.replace('export { ContainerProxy } from "@cloudflare/sandbox";\n', "").replace("export default {", "const handler = {")),
    failing: ["worker-exports"],
    message: /^worker\/src\/index\.ts does not export ContainerProxy, .*; worker\/src\/index\.ts does not export a default export \(the fetch handler\)$/,
  },
  "wrangler.jsonc renames the Sandbox binding": {
    setup: (copy) => replaceInFile(copy, "worker/wrangler.jsonc", '{ "name": "Sandbox", "class_name": "Sandbox" }', '{ "name": "SANDBOX", "class_name": "Sandbox" }'),
    failing: ["bindings"],
    message: /^no Durable Object binding named Sandbox \(DURABLE_OBJECT_BINDINGS\); found: SANDBOX → Sandbox, TASKS → Task, TASK_INDEX → TaskIndex, BRANCH_QUEUES → BranchQueue; Durable Object bindings that worker\/src\/contract\.ts does not name: SANDBOX → Sandbox/,
  },
  "wrangler.jsonc binds another class to Sandbox": {
    setup: (copy) => replaceInFile(copy, "worker/wrangler.jsonc", '{ "name": "Sandbox", "class_name": "Sandbox" }', '{ "name": "Sandbox", "class_name": "SandboxV2" }'),
    failing: ["bindings"],
    message: /^the Durable Object binding Sandbox uses class SandboxV2, not Sandbox \(DURABLE_OBJECT_BINDINGS\)$/,
  },
  "wrangler.jsonc binds the task index's class to TASKS": {
    setup: (copy) => replaceInFile(copy, "worker/wrangler.jsonc", '{ "name": "TASKS", "class_name": "Task" }', '{ "name": "TASKS", "class_name": "TaskIndex" }'),
    failing: ["bindings"],
    message: /^the Durable Object binding TASKS uses class TaskIndex, not Task \(DURABLE_OBJECT_BINDINGS\)$/,
  },
  "wrangler.jsonc lacks the TASK_INDEX binding": {
    setup: (copy) => replaceInFile(copy, "worker/wrangler.jsonc", ',\n      { "name": "TASK_INDEX", "class_name": "TaskIndex" }', ""),
    failing: ["bindings"],
    message: /^no Durable Object binding named TASK_INDEX \(DURABLE_OBJECT_BINDINGS\); found: Sandbox → Sandbox, TASKS → Task, BRANCH_QUEUES → BranchQueue$/,
  },
  "wrangler.jsonc changes a released migration's tag": {
    setup: (copy) => replaceInFile(copy, "worker/wrangler.jsonc", '"tag": "v1"', '"tag": "v0"'),
    failing: ["bindings"],
    message: /^migrations are \[\{"tag":"v0","new_sqlite_classes":\["Sandbox"\]\},\{"tag":"v2",.*\], not \[\{"tag":"v1"/,
    hint: /a released migration is never edited or removed/,
  },
  "wrangler.jsonc lists the migrations out of order": {
    setup: (copy) =>
      editFile(copy, "worker/wrangler.jsonc", (text) => {
        const first = '{ "tag": "v1", "new_sqlite_classes": ["Sandbox"] }';
        const second = '{ "tag": "v2", "new_sqlite_classes": ["Task", "TaskIndex"] }';
        return text.replace(first, "FIRST").replace(second, first).replace("FIRST", second);
      }),
    failing: ["bindings"],
    message: /^migrations are \[\{"tag":"v2",.*\{"tag":"v1",.*\], not \[\{"tag":"v1",.*\{"tag":"v2",/,
  },
  "wrangler.jsonc adds the new classes to the released migration": {
    setup: (copy) =>
      editFile(copy, "worker/wrangler.jsonc", (text) =>
        text.replace(
          '{ "tag": "v1", "new_sqlite_classes": ["Sandbox"] },\n    { "tag": "v2", "new_sqlite_classes": ["Task", "TaskIndex"] },\n    { "tag": "v3", "new_sqlite_classes": ["BranchQueue"] }',
          '{ "tag": "v1", "new_sqlite_classes": ["Sandbox", "Task", "TaskIndex", "BranchQueue"] }',
        ),
      ),
    failing: ["bindings"],
    message: /^migrations are \[\{"tag":"v1","new_sqlite_classes":\["Sandbox","Task","TaskIndex","BranchQueue"\]\}\], not /,
  },
  "wrangler.jsonc renames the rate limit": {
    setup: (copy) => replaceInFile(copy, "worker/wrangler.jsonc", '"name": "TASK_RATE_LIMIT"', '"name": "RATE_LIMIT"'),
    failing: ["bindings"],
    message: /^no rate limit bound as TASK_RATE_LIMIT \(RATE_LIMIT_BINDING\); found: RATE_LIMIT$/,
  },
  "contract.ts changes the newest migration's tag": {
    setup: (copy) => replaceInFile(copy, "worker/src/contract.ts", '{ tag: "v3", newSqliteClasses', '{ tag: "v4", newSqliteClasses'),
    failing: ["bindings"],
    message: /^migrations are \[\{"tag":"v1",.*\{"tag":"v3",.*\], not \[\{"tag":"v1",.*\{"tag":"v4",/,
  },
  "contract.ts no longer exports the migrations": {
    setup: (copy) => editFile(copy, "worker/src/contract.ts", (text) => text.replaceAll("DURABLE_OBJECT_MIGRATIONS", "OBJECT_MIGRATIONS")),
    failing: ["bindings"],
    message: /^cannot compare worker\/wrangler\.jsonc: worker\/src\/contract\.ts does not export DURABLE_OBJECT_MIGRATIONS$/,
  },
  "Pulumi.yaml's main names no program": {
    setup: (copy) => editYaml(copy, "Pulumi.yaml", (document) => document.set("main", "infra/main.ts")),
    failing: ["pulumi-yaml"],
    message: /^main is "infra\/main\.ts", which is neither the program's entry file nor a directory with index\.ts$/,
    hint: /at the program \(infra\/index\.ts\)/,
  },
  "Pulumi.yaml declares a key without a description": {
    setup: (copy) => editYaml(copy, "Pulumi.yaml", (document) => document.deleteIn(["config", "resultRetentionDays", "description"])),
    failing: ["pulumi-yaml"],
    message: /^config key resultRetentionDays has no description$/,
  },
  "Pulumi.yaml misses a key the program reads": {
    setup: (copy) => editYaml(copy, "Pulumi.yaml", (document) => document.deleteIn(["config", "permissionMode"])),
    failing: ["pulumi-yaml"],
    message: /^config key permissionMode is read by infra\/config\.ts but not declared$/,
  },
  "Pulumi.yaml is missing": {
    setup: (copy) => removeFile(copy, "Pulumi.yaml"),
    failing: ["pulumi-yaml"],
    message: /^Pulumi\.yaml not found in /,
  },
  "a stack sets an unknown key": {
    setup: setStackValue("claude-sandbox:maxInstance", "3"),
    failing: ["stack-dev"],
    message: /^Invalid config claude-sandbox:maxInstance: is not a key of this program$/,
    hint: /pulumi config rm claude-sandbox:maxInstance --stack dev.*did you mean claude-sandbox:maxInstances\?/,
  },
  "a stack sets an invalid instanceType": {
    setup: setStackValue("claude-sandbox:instanceType", "huge"),
    failing: ["stack-dev"],
    message: /^Invalid config claude-sandbox:instanceType: "huge" is not one of lite, basic, standard-1, standard-2, standard-3, standard-4$/,
    hint: /pulumi config set instanceType <value> --stack dev/,
  },
};

const env = { PATH: "/nonexistent", HOME: tempDir("home") };
const processes = new Map<string, CliProcessRun>();

function processRun(name: string): CliProcessRun {
  const result = processes.get(name);
  if (!result) throw new Error(`${name} did not run`);
  return result;
}

interface Judged {
  ok: boolean;
  checks: Check[];
  failing: string[];
  secrets: (string | undefined)[];
}

/** Judges a copy of the repository, whose dev stack is complete, after `setup` broke it. */
async function judge(setup: (copy: string) => void): Promise<Judged> {
  const copy = copyRepo();
  completeDevStack(copy);
  setup(copy);
  const result = await validateConfig({ dir: copy });
  const checks = result.output.checks as unknown as Check[];
  return { ok: result.ok, checks, failing: checks.filter((check) => !check.ok).map((check) => check.name).sort(), secrets: result.secrets ?? [] };
}

const check = (checks: Check[], name: string): Check => checks.find((candidate) => candidate.name === name)!;

beforeAll(async () => {
  await Promise.all([
    (async () => void processes.set("repo", await runCliProcess(["validate-config"], { env })))(),
    (async () => void processes.set("missing dir", await runCliProcess(["validate-config", join(tempDir("gone"), "nothing-here")], { env })))(),
  ]);
});

afterAll(() => removeTempDirs());

describe("validate-config on this repository (the built CLI)", () => {
  it("passes every check of the checkout; the committed dev stack lacks only the account and the credential (exit 1)", () => {
    const result = processRun("repo");
    expect(result.json.dir).toBe(REPO_ROOT);
    const checks = result.json.checks as Check[];
    expect(checks.map((entry) => entry.name)).toEqual(CHECKS);
    // Pulumi.dev.yaml is committed without accountId and without a credential (each operator sets their own).
    expect(checks.filter((entry) => !entry.ok).map((entry) => entry.name)).toEqual(["stack-dev"]);
    const stack = check(checks, "stack-dev");
    expect(stack.message).toBe(
      "claude-sandbox:accountId is not set: the stack needs your Cloudflare account id (32 hex characters, shown in the Cloudflare dashboard); " +
        "Invalid config claude-sandbox:claudeOauthToken: a Claude credential is required: `pulumi config set --secret anthropicApiKey <API key>` for a team, or `pulumi config set --secret claudeOauthToken <token from npx claude setup-token>` for your own use",
    );
    expect(stack.hint).toContain("pulumi config set accountId <id> --stack dev");
    expect(stack.hint).toContain("pulumi config set --secret claudeOauthToken");
    expect(check(checks, "bindings").message).toBe(
      "worker/wrangler.jsonc binds Sandbox → Sandbox, TASKS → Task, TASK_INDEX → TaskIndex, BRANCH_QUEUES → BranchQueue (migrations v1, v2, v3; container attached to Sandbox), RESULTS and TASK_RATE_LIMIT, " +
        "compatibility 2026-11-03 [nodejs_compat], as worker/src/contract.ts says",
    );
    expect(check(checks, "worker-exports").message).toBe("worker/src/index.ts exports Sandbox, Task, TaskIndex, BranchQueue, ContainerProxy and a default handler");
    expect(result.code).toBe(1);
    expect(result.json).toMatchObject({ success: false, code: "config_invalid", error: "1 of 6 checks failed: stack-dev", hint: stack.hint });
    expect(result.stderr).toBe("");
  });

  it("refuses a directory that does not exist as a usage mistake (exit 2)", () => {
    const result = processRun("missing dir");
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({ success: false, error: expect.stringMatching(/^No directory at /) });
  });
});

describe("validateConfig on a copy", () => {
  it("passes everything once the dev stack has an account and an encrypted credential; the ciphertext is not in the output", async () => {
    const result = await judge(() => undefined);
    expect(result.ok).toBe(true);
    expect(result.checks.map((entry) => [entry.name, entry.ok, entry.hint])).toEqual(CHECKS.map((name) => [name, true, null]));
    expect(check(result.checks, "stack-dev").message).toMatch(/claudeOauthToken encrypted/);
    expect(JSON.stringify(result.checks)).not.toContain(CIPHERTEXT.slice(3));
  });

  it.each(Object.entries(BREAKAGES))("with one thing broken: %s", async (_name, breakage) => {
    const result = await judge(breakage.setup);
    expect(result.ok).toBe(false);
    expect(result.failing).toEqual([...breakage.failing].sort());
    for (const failing of breakage.failing) {
      const entry = check(result.checks, failing);
      expect(entry.message).toMatch(breakage.message);
      expect(entry.hint).toEqual(expect.any(String));
      if (breakage.hint) expect(entry.hint).toMatch(breakage.hint);
    }
    for (const entry of result.checks.filter((candidate) => !breakage.failing.includes(candidate.name))) {
      expect(entry.hint, entry.name).toBeNull();
    }
  });

  it("never puts a plaintext credential it found in its output, and hands it over to be redacted", async () => {
    const result = await judge(
      (copy) => void writeFileSync(join(copy, "Pulumi.prod.yaml"), `config:\n  claude-sandbox:accountId: ${ACCOUNT}\n  claude-sandbox:claudeOauthToken: ${PLAINTEXT_TOKEN}\n`),
    );
    expect(result.failing).toEqual(["stack-prod"]);
    expect(check(result.checks, "stack-prod").message).toMatch(/^Invalid config claude-sandbox:claudeOauthToken: is stored in plain text/);
    expect(check(result.checks, "stack-prod").hint).toMatch(/pulumi config set --secret claudeOauthToken <value> --stack prod/);
    expect(JSON.stringify(result.checks)).not.toContain(PLAINTEXT_TOKEN);
    expect(result.secrets).toContain(PLAINTEXT_TOKEN);
    expect(result.checks.map((entry) => entry.name)).toEqual([...CHECKS.slice(0, 2), "stack-prod", ...CHECKS.slice(2)]);
  });
  it("reads exports with esbuild: an export in a comment does not count", async () => {
    const result = await judge((copy) => replaceInFile(copy, "worker/src/index.ts", 'export { Sandbox } from "./sandbox/sandbox.js";', '// export { Sandbox } from "./sandbox/sandbox.js";'));
    expect(result.failing).toEqual(["worker-exports"]);
    expect(check(result.checks, "worker-exports").message).toBe("worker/src/index.ts does not export the Durable Object class Sandbox");
  });

  it("reports a Worker entry that does not compile", async () => {
    const result = await judge((copy) => editFile(copy, "worker/src/index.ts", (text) => `${text}\nexport const = ;\n`));
    expect(result.failing).toEqual(["worker-exports"]);
    expect(check(result.checks, "worker-exports").message).toMatch(/^worker\/src\/index\.ts does not compile: .+\(line \d+\)$/);
  });

  it("fails one check per missing file, with a message", async () => {
    const noWrangler = await judge((copy) => removeFile(copy, "worker/wrangler.jsonc"));
    expect(noWrangler.failing).toEqual(["bindings"]);
    expect(check(noWrangler.checks, "bindings")).toMatchObject({ message: "worker/wrangler.jsonc not found", hint: "Restore it: `git checkout -- worker/wrangler.jsonc`" });
    const noDockerfile = await judge((copy) => removeFile(copy, "container/Dockerfile"));
    expect(noDockerfile.failing).toEqual(["claude-code-pin", "dockerfile-base"]);
    const noEntry = await judge((copy) => removeFile(copy, "worker/src/index.ts"));
    expect(noEntry.failing).toEqual(["worker-exports"]);
    expect(check(noEntry.checks, "worker-exports").message).toBe("worker/src/index.ts not found");
  });

  it("reports wrangler.jsonc that is not JSONC", async () => {
    const result = await judge((copy) => editFile(copy, "worker/wrangler.jsonc", (text) => text.replace('"main":', '"main"')));
    expect(result.failing).toEqual(["bindings"]);
    expect(check(result.checks, "bindings").message).toMatch(/^worker\/wrangler\.jsonc is not valid JSONC: ColonExpected at offset \d+$/);
  });

  it("judges the config by the checkout's own infra/config.ts, and reports one that does not load", async () => {
    const result = await judge((copy) => editFile(copy, "infra/config.ts", (text) => `${text}\nexport const broken = ;\n`));
    expect(result.failing).toEqual(["pulumi-yaml", "stack-dev"]);
    expect(check(result.checks, "pulumi-yaml").message).toMatch(/cannot compare with the program: infra\/config\.ts could not be loaded/);
    expect(check(result.checks, "stack-dev").message).toMatch(/^Pulumi\.dev\.yaml cannot be judged: infra\/config\.ts could not be loaded/);
  });

  it("follows the checkout's own validation rules", async () => {
    // The checkout allows an extra instance type: a stack using it is valid there.
    const result = await judge((copy) => {
      replaceInFile(copy, "infra/providers/container-application.ts", '"standard-4"] as const', '"standard-4", "standard-8"] as const');
      setStackValue("claude-sandbox:instanceType", "standard-8")(copy);
    });
    expect(result.failing).toEqual([]);
  });

  it("reports a range instead of a pinned @cloudflare/sandbox", async () => {
    const result = await judge((copy) => replaceInFile(copy, "package.json", `"@cloudflare/sandbox": "${SANDBOX_VERSION}"`, `"@cloudflare/sandbox": "^${SANDBOX_VERSION}"`));
    expect(result.failing).toEqual(["dockerfile-base"]);
    expect(check(result.checks, "dockerfile-base").message).toMatch(/a range, not one version/);
  });

  it("accepts versions given through ARG defaults", async () => {
    const result = await judge((copy) =>
      editFile(copy, "container/Dockerfile", (text) =>
        `ARG SANDBOX_VERSION=${SANDBOX_VERSION}\nARG CLAUDE_CODE_VERSION=${CLAUDE_VERSION}\n${text}`
          .replace(`sandbox:${SANDBOX_VERSION}`, "sandbox:${SANDBOX_VERSION}")
          .replace(`claude-code@${CLAUDE_VERSION}`, "claude-code@$CLAUDE_CODE_VERSION"),
      ),
    );
    expect(result.failing).toEqual([]);
  });

  it("reports every mistake of a stack, not just the first", async () => {
    const result = await judge((copy) => {
      setStackValue("claude-sandbox:maxInstances", "0")(copy);
      setStackValue("claude-sandbox:permissionMode", "yolo")(copy);
      setStackValue("claude-sandbox:accountId", "not-an-account")(copy);
      setStackValue("aws:region", "us-east-1")(copy);
    });
    expect(result.failing).toEqual(["stack-dev"]);
    const { message, hint } = check(result.checks, "stack-dev");
    expect(message.split("; ")).toEqual([
      "aws:region is not a key of this project (claude-sandbox:*) or of the Cloudflare provider (cloudflare:*)",
      'Invalid config claude-sandbox:accountId: "not-an-account" is not a Cloudflare account id: it has 32 hex characters (the dashboard shows it on Workers & Pages)',
      'Invalid config claude-sandbox:maxInstances: "0" is not an integer from 1 to 1000',
      `Invalid config claude-sandbox:permissionMode: "yolo" is not one of ${PERMISSION_MODES.join(", ")}`,
    ]);
    expect(hint).toContain("pulumi config rm aws:region --stack dev");
    expect(hint).toContain("pulumi config set maxInstances <value> --stack dev");
  });

  it("refuses a plaintext anthropicApiKey or cloudflare:apiToken, and hands both values over to be redacted", async () => {
    const key = "fake-apikey-plaintext-key-value";
    const token = "cloudflare-plaintext-api-token-value";
    const result = await judge((copy) => {
      setStackValue("claude-sandbox:anthropicApiKey", key)(copy);
      setStackValue("cloudflare:apiToken", token)(copy);
    });
    expect(result.failing).toEqual(["stack-dev"]);
    const { message } = check(result.checks, "stack-dev");
    expect(message).toContain("cloudflare:apiToken is stored in plain text");
    expect(message).toContain("Invalid config claude-sandbox:anthropicApiKey: is stored in plain text");
    expect(JSON.stringify(result.checks)).not.toContain(key);
    expect(JSON.stringify(result.checks)).not.toContain(token);
    expect(result.secrets).toEqual(expect.arrayContaining([key, token]));
  });

  it("accepts encrypted provider keys and a stack whose account and credential come from an imported environment", async () => {
    const result = await judge((copy) => {
      writeFileSync(join(copy, "Pulumi.staging.yaml"), "environment:\n  - claude-sandbox/staging\nconfig:\n  cloudflare:apiToken:\n    secure: v1:abc\n  claude-sandbox:maxInstances: 3\n");
      writeFileSync(
        join(copy, "Pulumi.qa.yaml"),
        "config:\n  claude-sandbox:accountId:\n    secure: v1:aaa\n  claude-sandbox:workerName:\n    secure: v1:bbb\n  claude-sandbox:anthropicApiKey:\n    secure: v1:ccc\n",
      );
    });
    expect(result.failing).toEqual([]);
    expect(check(result.checks, "stack-staging").message).toBe(
      "Pulumi.staging.yaml: 2 keys set, all known and valid (accountId is not in Pulumi.staging.yaml; it may come from the imported environment; " +
        "the Claude credential is not in Pulumi.staging.yaml; it may come from the imported environment)",
    );
    expect(check(result.checks, "stack-qa").message).toBe(
      "Pulumi.qa.yaml: 3 keys set, all known and valid, accountId, anthropicApiKey, workerName encrypted (workerName is encrypted, so its value is not checked)",
    );
  });

  it("accepts a GitHub App whose key is encrypted, and refuses a GitHub token in plain text", async () => {
    const token = "fake-github-plaintext-token-value";
    const result = await judge((copy) => {
      writeFileSync(
        join(copy, "Pulumi.app.yaml"),
        `config:\n  claude-sandbox:accountId: ${ACCOUNT}\n  claude-sandbox:claudeOauthToken:\n    secure: v1:aaa\n  claude-sandbox:githubAppId: 12345\n  claude-sandbox:githubAppPrivateKey:\n    secure: v1:bbb\n`,
      );
      writeFileSync(
        join(copy, "Pulumi.leaky.yaml"),
        `config:\n  claude-sandbox:accountId: ${ACCOUNT}\n  claude-sandbox:claudeOauthToken:\n    secure: v1:aaa\n  claude-sandbox:githubToken: ${token}\n`,
      );
    });
    expect(result.failing).toEqual(["stack-leaky"]);
    expect(check(result.checks, "stack-app").message).toMatch(/all known and valid, claudeOauthToken, githubAppPrivateKey encrypted/);
    expect(check(result.checks, "stack-leaky").message).toMatch(/^Invalid config claude-sandbox:githubToken: is stored in plain text/);
    expect(JSON.stringify(result.checks)).not.toContain(token);
    expect(result.secrets).toContain(token);
  });

  it("throws a UsageError for a directory that does not exist", async () => {
    await expect(validateConfig({ dir: join(tempDir("gone"), "missing") })).rejects.toBeInstanceOf(UsageError);
  });
});
