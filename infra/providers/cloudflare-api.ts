/**
 * Cloudflare API access for the dynamic providers, through the official
 * `cloudflare` client.
 *
 * Dynamic providers are serialized into the Pulumi state and run in a separate
 * process, so the client is loaded at call time (`loadPackage`) and the API
 * token is never an input: it comes from the stack config `cloudflare:apiToken`
 * (handed to the provider's `configure`) or from `CLOUDFLARE_API_TOKEN`. It is
 * never stored in state and never appears in an error message, nor does any
 * secret value a call sends.
 */
import type Cloudflare from "cloudflare";

/**
 * Loads a package from the project's node_modules at call time. Serialized
 * provider code cannot carry module bindings, and `require` is resolved from the
 * working directory (the Pulumi project), so this works both in the program and
 * in Pulumi's dynamic-provider host.
 */
export function loadPackage<T>(name: string): T {
  const { createRequire } = process.getBuiltinModule("node:module");
  return createRequire(`${process.cwd()}/`)(name) as T;
}

/** The part of a dynamic provider's `configure` request this module reads. */
export interface ProviderConfigSource {
  get(key: string): string | undefined;
}

/** The API token for provider calls: `cloudflare:apiToken`, else `CLOUDFLARE_API_TOKEN`. */
export function resolveApiToken(config: ProviderConfigSource | undefined): string {
  const token = config?.get("cloudflare:apiToken") || process.env.CLOUDFLARE_API_TOKEN;
  if (!token) {
    throw new Error(
      "No Cloudflare API token: set the secret stack config `cloudflare:apiToken` or the CLOUDFLARE_API_TOKEN environment variable.",
    );
  }
  return token;
}

/** A client together with the token it uses, so failures can be redacted. */
export interface CloudflareConnection {
  client: Cloudflare;
  apiToken: string;
}

/**
 * A client for the Cloudflare API; fails clearly when no token is configured.
 * The base URL is `cloudflare:baseUrl`, else `CLOUDFLARE_BASE_URL`, else the
 * public API (tests point it at a local server).
 */
export async function connectCloudflare(config: ProviderConfigSource | undefined): Promise<CloudflareConnection> {
  const apiToken = resolveApiToken(config);
  const { default: CloudflareClient } = loadPackage<typeof import("cloudflare")>("cloudflare");
  const baseURL = config?.get("cloudflare:baseUrl") || process.env.CLOUDFLARE_BASE_URL || undefined;
  const client = new CloudflareClient({ apiToken, maxRetries: 2, timeout: 120_000, ...(baseURL ? { baseURL } : {}) });
  return { client, apiToken };
}

interface ApiErrorShape {
  status?: number;
  errors?: { code?: number; message?: string }[];
  message?: string;
}

/** Longest part of an API failure's details kept in an error message (the rest is cut). */
const MAX_DETAILS_LENGTH = 2_000;

/**
 * Turns a failed API call into an Error that says what was being done, the
 * HTTP status and Cloudflare's error codes and messages. Every occurrence of
 * each value in `redact` (the API token, the secret values the call sent) is
 * removed first, since an API may echo a request back in its error; then
 * overly long details are cut.
 */
export function apiFailure(action: string, error: unknown, redact: readonly (string | undefined)[]): Error {
  const shaped = (typeof error === "object" && error !== null ? error : {}) as ApiErrorShape;
  let details =
    shaped.errors && shaped.errors.length > 0
      ? shaped.errors.map((item) => `${item.code ?? "?"}: ${item.message ?? "unknown error"}`).join("; ")
      : (shaped.message ?? String(error));
  // Each secret as sent and as it reads inside an echoed JSON string; longest first, so a
  // secret that contains another is removed whole.
  const secrets = redact
    .filter((value): value is string => typeof value === "string" && value !== "")
    .flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]);
  for (const secret of [...new Set(secrets)].sort((a, b) => b.length - a.length)) {
    details = details.replaceAll(secret, "[redacted]");
  }
  if (details.length > MAX_DETAILS_LENGTH) {
    details = `${details.slice(0, MAX_DETAILS_LENGTH)}… (${details.length - MAX_DETAILS_LENGTH} more characters)`;
  }
  const status = typeof shaped.status === "number" ? `HTTP ${shaped.status}: ` : "";
  return new Error(`Cloudflare API: could not ${action}: ${status}${details}`);
}

/** Whether a failed API call was a 404. */
export function isNotFound(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as ApiErrorShape).status === 404;
}
