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
}


const integerVar = (min: number, max: number) =>
  z.optional(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d+$/)), z.transform(Number)),
      z.int().check(z.gte(min), z.lte(max)),
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
  };
}
