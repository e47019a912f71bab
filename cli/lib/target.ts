/**
 * Where a command sends requests and with which token: from the positional
 * arguments, else from CLAUDE_SANDBOX_URL and CLAUDE_SANDBOX_TOKEN.
 */
import { UsageError } from "./result.js";

export const URL_ENV = "CLAUDE_SANDBOX_URL";
export const TOKEN_ENV = "CLAUDE_SANDBOX_TOKEN";

/** Whether an argument is the deployment's URL rather than a token or a task. */
export function looksLikeUrl(value: string | undefined): boolean {
  return value !== undefined && /^https?:\/\//i.test(value);
}

/** Checks and normalises a base URL (no trailing slash). */
export function normaliseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`"${raw}" is not a URL`, "Give the deployment's base URL, e.g. https://claude-sandbox-dev.<subdomain>.workers.dev");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`"${raw}" is not an http(s) URL`);
  }
  return url.toString().replace(/\/+$/, "");
}

export interface Target {
  url: string;
  token: string | undefined;
  /** The remaining positional arguments, in order. */
  rest: string[];
}

/**
 * Splits positional arguments into URL, token and the rest. The URL is the
 * first argument when it looks like one, else CLAUDE_SANDBOX_URL. The token is
 * the next argument when `tokenArgument` says there is one, else
 * CLAUDE_SANDBOX_TOKEN.
 */
export function resolveTarget(
  args: string[],
  options: { restCount: number; tokenRequired: boolean; env?: NodeJS.ProcessEnv },
): Target {
  const env = options.env ?? process.env;
  const remaining = [...args];
  const url = looksLikeUrl(remaining[0]) ? remaining.shift()! : env[URL_ENV];
  if (!url) {
    throw new UsageError(`No URL: give it as the first argument or set ${URL_ENV}`);
  }
  const token = remaining.length > options.restCount ? remaining.shift() : env[TOKEN_ENV] || undefined;
  if (options.tokenRequired && !token) {
    throw new UsageError(
      `No token: give it after the URL or set ${TOKEN_ENV}`,
      "The token is `pulumi stack output serverAuthToken --show-secrets`, or the one npm run dev:stub printed on start.",
    );
  }
  if (remaining.length !== options.restCount) {
    throw new UsageError(`Expected ${options.restCount} more argument(s) after the URL and token, got ${remaining.length}`);
  }
  return { url: normaliseUrl(url), token, rest: remaining };
}
