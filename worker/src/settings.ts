/**
 * The Worker's settings, read from its plain-text vars. A malformed value is a
 * deployment mistake, answered with a 500 `settings_invalid` that names the
 * variable (never its value), not silently replaced by a default.
 */
import * as z from "zod/mini";
import {
  ALLOWED_HOST_PATTERN,
  ANTHROPIC_API_HOST,
  CREDENTIAL_MODES,
  type CredentialMode,
  DEFAULT_ALLOWED_HOSTS,
  LIMITS,
  PERMISSION_MODES,
  type PermissionMode,
  SETTING_VARS,
} from "./contract.js";
import { ApiError } from "./http/errors.js";

export interface Settings {
  /** Hosts the container may reach; always includes the Anthropic API. */
  allowedHosts: string[];
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  permissionMode: PermissionMode;
  credentialMode: CredentialMode;
  deadlineGraceMs: number;
  /** Longest wait of a task for a container, in ms. */
  queueTimeoutMs: number;
  /** Most bytes of stdout and of stderr a result keeps. */
  maxOutputBytes: number;
  /** Largest `maxBudgetUsd` a task may ask for; null when the deployment sets no cap. */
  maxBudgetUsd: number | null;
  /** Whether `callbackUrl` may be plain http to localhost. */
  allowInsecureCallbacks: boolean;
  /** Days results, events and listing entries are kept. */
  resultRetentionDays: number;
  /** Whether the egress door lets Claude Code use Anthropic's server-side web search. */
  allowWebSearch: boolean;
}

const integerVar = (min: number, max: number) =>
  z.optional(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d+$/)), z.transform(Number)),
      z.int().check(z.gte(min), z.lte(max)),
    ),
  );

const booleanVar = z.optional(z.pipe(z.enum(["true", "false"]), z.transform((value) => value === "true")));

const usdVar = z.optional(
  z.pipe(
    z.pipe(z.string().check(z.regex(/^\d+(\.\d+)?$/)), z.transform(Number)),
    z.number().check(z.gte(0), z.lte(1_000_000)),
  ),
);

const hostList = z.optional(
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((value) =>
        value
          .split(",")
          .map((host) => host.trim().toLowerCase())
          .filter((host) => host.length > 0),
      ),
    ),
    z.array(z.string().check(z.regex(ALLOWED_HOST_PATTERN))),
  ),
);

const settingsSchema = z.object({
  [SETTING_VARS.allowedHosts]: hostList,
  [SETTING_VARS.defaultTimeoutMs]: integerVar(LIMITS.minTimeoutMs, LIMITS.ceilingTimeoutMs),
  [SETTING_VARS.maxTimeoutMs]: integerVar(LIMITS.minTimeoutMs, LIMITS.ceilingTimeoutMs),
  [SETTING_VARS.permissionMode]: z.optional(z.enum(PERMISSION_MODES)),
  [SETTING_VARS.credentialMode]: z.optional(z.enum(CREDENTIAL_MODES)),
  [SETTING_VARS.deadlineGraceMs]: integerVar(0, 600_000),
  [SETTING_VARS.queueTimeoutMs]: integerVar(0, 24 * 3_600_000),
  [SETTING_VARS.maxOutputBytes]: integerVar(1024, LIMITS.ceilingOutputBytes),
  [SETTING_VARS.maxBudgetUsd]: usdVar,
  [SETTING_VARS.allowInsecureCallbacks]: booleanVar,
  [SETTING_VARS.resultRetentionDays]: integerVar(1, 3650),
  [SETTING_VARS.allowWebSearch]: booleanVar,
});

type SettingsSource = Partial<Record<(typeof SETTING_VARS)[keyof typeof SETTING_VARS], unknown>>;

/** Reads and validates the settings; throws `ApiError("settings_invalid")` naming the bad variables. */
export function readSettings(env: SettingsSource): Settings {
  const source = Object.fromEntries(
    Object.values(SETTING_VARS).map((name) => {
      const value = env[name];
      return [name, value === "" ? undefined : value];
    }),
  );
  const parsed = settingsSchema.safeParse(source);
  if (!parsed.success) {
    const variables = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0])))];
    throw new ApiError("settings_invalid", { details: { variables } });
  }
  const vars = parsed.data;
  const maxTimeoutMs = vars[SETTING_VARS.maxTimeoutMs] ?? LIMITS.maxTimeoutMs;
  const defaultTimeoutMs = vars[SETTING_VARS.defaultTimeoutMs] ?? Math.min(LIMITS.defaultTimeoutMs, maxTimeoutMs);
  if (defaultTimeoutMs > maxTimeoutMs) {
    throw new ApiError("settings_invalid", {
      details: { variables: [SETTING_VARS.defaultTimeoutMs, SETTING_VARS.maxTimeoutMs] },
    });
  }
  const hosts = vars[SETTING_VARS.allowedHosts] ?? [...DEFAULT_ALLOWED_HOSTS];
  return {
    allowedHosts: hosts.includes(ANTHROPIC_API_HOST) ? hosts : [ANTHROPIC_API_HOST, ...hosts],
    defaultTimeoutMs,
    maxTimeoutMs,
    permissionMode: vars[SETTING_VARS.permissionMode] ?? "bypassPermissions",
    credentialMode: vars[SETTING_VARS.credentialMode] ?? "proxy",
    deadlineGraceMs: vars[SETTING_VARS.deadlineGraceMs] ?? LIMITS.deadlineGraceMs,
    queueTimeoutMs: vars[SETTING_VARS.queueTimeoutMs] ?? LIMITS.queueTimeoutMs,
    maxOutputBytes: vars[SETTING_VARS.maxOutputBytes] ?? LIMITS.maxOutputBytes,
    // 0 means no cap, as an unset value does.
    maxBudgetUsd: vars[SETTING_VARS.maxBudgetUsd] || null,
    allowInsecureCallbacks: vars[SETTING_VARS.allowInsecureCallbacks] ?? false,
    resultRetentionDays: vars[SETTING_VARS.resultRetentionDays] ?? LIMITS.resultRetentionDays,
    allowWebSearch: vars[SETTING_VARS.allowWebSearch] ?? true,
  };
}
