/**
 * Where a command sends requests and with which token: from the positional
 * arguments, else from CLAUDE_SANDBOX_URL and CLAUDE_SANDBOX_TOKEN. A mistake
 * in them is a UsageError that names what is missing or extra and shows the
 * command's usage, without echoing a value that may be the token.
 */
import { UsageError } from "./result.js";

export const URL_ENV = "CLAUDE_SANDBOX_URL";
export const TOKEN_ENV = "CLAUDE_SANDBOX_TOKEN";

/** Where the URL and the token come from, for hints. */
const WHERE_URL = "The URL is `pulumi stack output url`, or http://127.0.0.1:8787 for npm run dev:stub.";
const WHERE_TOKEN = "The token is `pulumi stack output serverAuthToken --show-secrets`, or the one npm run dev:stub printed on start.";

/** Whether an argument is the deployment's URL rather than a token or a task. */
export function looksLikeUrl(value: string | undefined): boolean {
  return value !== undefined && /^https?:\/\//i.test(value);
}

/** A host given without http:// or https://: localhost or an IPv4 address, or any host with a port, or a workers.dev host. */
const HOST_WITHOUT_SCHEME = /^((localhost|\d{1,3}(\.\d{1,3}){3})(:\d{1,5})?|[\w-]+(\.[\w-]+)*:\d{1,5}|[\w-]+(\.[\w-]+)*\.workers\.dev)(\/\S*)?$/i;

/** Checks and normalises a base URL (no trailing slash). */
export function normaliseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError("invalid_url", `"${raw}" is not a URL`, `Give the deployment's base URL, e.g. https://claude-sandbox-dev.<subdomain>.workers.dev. ${WHERE_URL}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError("invalid_url", `"${raw}" is not an http(s) URL`, `Give the deployment's base URL with http:// or https://. ${WHERE_URL}`);
  }
  return url.toString().replace(/\/+$/, "");
}

/** What a command takes after the URL and the token, for its messages. */
export interface Positionals {
  /** The command's name. */
  command: string;
  /** The names of the arguments after the URL and the token, in order (`taskId`, `task`). */
  rest: readonly string[];
}

/** The command's usage line: `claude-sandbox status [url] [token] <taskId>`. */
export function usageLine(positionals: Positionals): string {
  return ["claude-sandbox", positionals.command, "[url]", "[token]", ...positionals.rest.map((name) => `<${name}>`)].join(" ");
}

/** The hint of a mistake in the positional arguments: the usage, and for a task how to quote it. */
function usageHint(positionals: Positionals, more = ""): string {
  const quoting = positionals.rest.includes("task") ? ' Quote a task of several words ("fix the bug"), and put -- before one that starts with a dash.' : "";
  return `Usage: ${usageLine(positionals)}; URL and token may come from ${URL_ENV} and ${TOKEN_ENV} instead.${quoting}${more ? ` ${more}` : ""}`;
}

export interface Target {
  url: string;
  token: string | undefined;
  /** The remaining positional arguments, in order. */
  rest: string[];
}

/** The URL: the first argument when it is one, else CLAUDE_SANDBOX_URL; a URL out of place or without its scheme is named. */
function takeUrl(remaining: string[], positionals: Positionals, env: NodeJS.ProcessEnv): string {
  const first = remaining[0];
  if (looksLikeUrl(first)) return remaining.shift()!;
  if (first !== undefined && HOST_WITHOUT_SCHEME.test(first)) {
    throw new UsageError("invalid_url", `"${first}" is not a URL: it needs http:// or https:// in front`, `Give http://${first} (or https://${first}). ${usageHint(positionals)}`);
  }
  const url = env[URL_ENV];
  if (url) return url;
  const position = remaining.findIndex((value) => looksLikeUrl(value) && !/\s/.test(value));
  if (position > 0) {
    throw new UsageError("url_not_first", `The URL is argument ${position + 1}, but it must come first, before the token`, usageHint(positionals));
  }
  throw new UsageError("url_required", `No URL: \`${positionals.command}\` needs the deployment's URL as its first argument, or ${URL_ENV} set`, usageHint(positionals, WHERE_URL));
}

/**
 * Splits positional arguments into URL, token and the rest. The URL is the
 * first argument when it looks like one, else CLAUDE_SANDBOX_URL. The token is
 * the next argument when there are more than the command's own, else
 * CLAUDE_SANDBOX_TOKEN.
 */
export function resolveTarget(args: string[], options: { positionals: Positionals; tokenRequired: boolean; env?: NodeJS.ProcessEnv }): Target {
  const env = options.env ?? process.env;
  const { positionals } = options;
  const restCount = positionals.rest.length;
  const remaining = [...args];
  const url = takeUrl(remaining, positionals, env);
  const token = remaining.length > restCount ? remaining.shift() : env[TOKEN_ENV] || undefined;
  if (options.tokenRequired && !token) {
    // `status <url> <token>` without the task id reads the same as `status <url> <taskId>` without the token.
    const orMissing = restCount > 0 && remaining.length === restCount ? ` (if you gave it, ${positionals.rest.map((name) => `<${name}>`).join(" ")} is missing)` : "";
    throw new UsageError("token_required", `No token: give it after the URL, or set ${TOKEN_ENV}${orMissing}`, usageHint(positionals, WHERE_TOKEN));
  }
  if (remaining.length < restCount) {
    const missing = positionals.rest.slice(remaining.length).map((name) => `<${name}>`);
    throw new UsageError("missing_argument", `\`${positionals.command}\` needs ${missing.join(" and ")}`, usageHint(positionals));
  }
  if (remaining.length > restCount) {
    const extra = remaining.length - restCount;
    throw new UsageError("too_many_arguments", `\`${positionals.command}\` got ${extra} argument${extra === 1 ? "" : "s"} more than it takes`, usageHint(positionals));
  }
  return { url: normaliseUrl(url), token, rest: remaining };
}
