/**
 * A configuration the Pulumi program accepts never breaks the Worker: values at
 * the edges of what infra/config.ts allows go through `parseConfig`, the
 * program's setting bindings (`settingBindings`) and the Worker's
 * `readSettings`, and arrive as the same values; a value the Worker would
 * refuse (500 `settings_invalid` on every request) is refused by the program
 * first, with an error that names the key.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { settingBindings } from "../../infra/components/sandbox-worker.js";
import { type ConfigSource, parseConfig } from "../../infra/config.js";
import { LIMITS, SETTING_VARS } from "../../worker/src/contract.js";
import { readSettings } from "../../worker/src/settings.js";
import { installMocks } from "./fixtures/pulumi-mocks.js";

const BASE = { accountId: "0123456789abcdef0123456789abcdef", claudeOauthToken: "fake-oauth-agreement-test" };

beforeAll(async () => {
  // pulumi.secret() needs a (mocked) engine.
  await installMocks({ config: {} });
});

function source(values: Record<string, string>): ConfigSource {
  return { get: (key) => ({ ...BASE, ...values })[key as keyof typeof BASE], isSecret: () => true };
}

/** The stack config, the vars the program binds for it, and the Worker's reading of those vars. */
function deploy(values: Record<string, string>) {
  const config = parseConfig(source(values), "dev");
  const vars = Object.fromEntries(settingBindings(config).map((binding) => [binding.name, binding.type === "plain_text" ? binding.text : ""]));
  return { config, vars, settings: readSettings(vars) };
}

/** Whether the Worker reads `vars` without `settings_invalid`. */
function workerAccepts(vars: Record<string, string>): boolean {
  try {
    readSettings(vars);
    return true;
  } catch {
    return false;
  }
}

describe("resultRetentionDays", () => {
  it.each(["1", "30", String(LIMITS.ceilingResultRetentionDays)])("%s days reach the Worker as the program read them", (days) => {
    const { config, vars, settings } = deploy({ resultRetentionDays: days });
    expect(config.resultRetentionDays).toBe(Number(days));
    expect(vars[SETTING_VARS.resultRetentionDays]).toBe(days);
    expect(settings.resultRetentionDays).toBe(Number(days));
  });

  it("refuses one day more than the Worker keeps, as the Worker would", () => {
    const days = String(LIMITS.ceilingResultRetentionDays + 1);
    expect(() => deploy({ resultRetentionDays: days })).toThrow(`Invalid config claude-sandbox:resultRetentionDays: "${days}"`);
    expect(workerAccepts({ [SETTING_VARS.resultRetentionDays]: days })).toBe(false);
  });
});

describe("maxBudgetUsd", () => {
  it.each([
    ["0.000001", "0.000001", 0.000001],
    ["0.1", "0.1", 0.1],
    ["2.50", "2.5", 2.5],
    ["0.100000", "0.1", 0.1],
    ["0001.5", "1.5", 1.5],
    ["123456.654321", "123456.654321", 123456.654321],
    ["999999.999999", "999999.999999", 999999.999999],
    ["1000000", "1000000", 1_000_000],
  ])("%s is bound as %s and read back by the Worker as the program read it", (raw, bound, amount) => {
    const { config, vars, settings } = deploy({ maxBudgetUsd: raw });
    expect(config.maxBudgetUsd).toBe(amount);
    expect(vars[SETTING_VARS.maxBudgetUsd]).toBe(bound);
    expect(settings.maxBudgetUsd).toBe(amount);
  });

  it("binds no cap for 0, which the Worker reads as no cap", () => {
    const { vars, settings } = deploy({ maxBudgetUsd: "0.000000" });
    expect(vars).not.toHaveProperty(SETTING_VARS.maxBudgetUsd);
    expect(settings.maxBudgetUsd).toBeNull();
  });

  it.each(["0.0000001", "1.1234567", "5.0000000"])("refuses %s (more decimals than the Worker reads) with a clear error", (raw) => {
    expect(() => deploy({ maxBudgetUsd: raw })).toThrow(/^Invalid config claude-sandbox:maxBudgetUsd: ".*" has \d+ decimals; at most 6 are kept/);
    expect(workerAccepts({ [SETTING_VARS.maxBudgetUsd]: raw })).toBe(false);
  });

  it("would have broken the Worker had the amount been bound as JavaScript prints it", () => {
    // What `String(n)` binds for the smallest amounts; the canonical text avoids it.
    expect(String(0.0000001)).toBe("1e-7");
    expect(workerAccepts({ [SETTING_VARS.maxBudgetUsd]: "1e-7" })).toBe(false);
    expect(() => deploy({ maxBudgetUsd: "1e-7" })).toThrow("maxBudgetUsd");
  });

  it.each(["1000000.000001", "10000000", "-1", "1e3", ".5", "5.", " 5 5"])("refuses %j, as the Worker would", (raw) => {
    expect(() => deploy({ maxBudgetUsd: raw })).toThrow("Invalid config claude-sandbox:maxBudgetUsd");
    expect(workerAccepts({ [SETTING_VARS.maxBudgetUsd]: raw.trim() })).toBe(false);
  });
});

describe("githubRepos", () => {
  it("reaches the Worker as the program read it, at the edges of GitHub's names", () => {
    const repos = [`${"a".repeat(39)}/x`, "A-b-C/.github", "o/_private", "o/..x", `o/${"r".repeat(100)}`];
    const { config, settings } = deploy({ githubRepos: JSON.stringify(repos) });
    expect(settings.githubRepos).toEqual(config.githubRepos);
    expect(settings.githubRepos).toEqual(repos.map((repo) => repo.toLowerCase()));
  });

  it.each(["acme/.", "acme/..", `${"a".repeat(40)}/x`, "-acme/x", `o/${"r".repeat(101)}`])("refuses %s, as the Worker would", (repo) => {
    expect(() => deploy({ githubRepos: JSON.stringify([repo]) })).toThrow("Invalid config claude-sandbox:githubRepos");
    expect(workerAccepts({ [SETTING_VARS.githubRepos]: repo })).toBe(false);
  });
});

describe("accessTeamDomain and accessAudience", () => {
  const AUDIENCE = "0123456789abcdef".repeat(4);

  it("reach the Worker as the program read them: the team's issuer and the audience", () => {
    const { config, vars, settings } = deploy({ accessTeamDomain: "Acme.cloudflareaccess.com", accessAudience: AUDIENCE.toUpperCase() });
    expect(config.access).toEqual({ teamDomain: "acme.cloudflareaccess.com", audience: AUDIENCE });
    expect(vars[SETTING_VARS.accessTeamDomain]).toBe("acme.cloudflareaccess.com");
    expect(settings.access).toEqual({ issuer: "https://acme.cloudflareaccess.com", audience: AUDIENCE });
  });

  it("leave Access off when neither is set", () => {
    expect(deploy({}).settings.access).toBeNull();
  });

  it.each([
    ["a team without an audience", { accessTeamDomain: "acme.cloudflareaccess.com" }],
    ["an audience without a team", { accessAudience: AUDIENCE }],
    ["another domain", { accessTeamDomain: "login.example.com", accessAudience: AUDIENCE }],
    ["a short audience", { accessTeamDomain: "acme.cloudflareaccess.com", accessAudience: "abc123" }],
  ])("refuse %s, as the Worker would", (_name, values) => {
    expect(() => deploy(values)).toThrow(/Invalid config claude-sandbox:access(TeamDomain|Audience)/);
    const vars: Record<string, string> = {};
    if ("accessTeamDomain" in values) vars[SETTING_VARS.accessTeamDomain] = values.accessTeamDomain;
    if ("accessAudience" in values) vars[SETTING_VARS.accessAudience] = values.accessAudience;
    expect(workerAccepts(vars)).toBe(false);
  });
});
