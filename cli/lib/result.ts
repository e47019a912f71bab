/**
 * What every command returns and how the entry point reports it: JSON alone on
 * stdout, exit 0 when it succeeded, 1 when a check or task failed, 2 for a
 * usage mistake (the CLI's own, or a request the deployment refused as sent).
 * Commands never print; they return a CommandResult (or, for a command whose
 * output is a stream, hand each item to a sink the entry point gives them; for
 * an artifact, its bytes) or throw a UsageError. Every failure has the shape
 * `{success: false, error, code, http_code?, hint}`.
 */

/** A JSON value a command prints. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

/** A JSON object a command prints. */
export type JsonObject = { [key: string]: Json | undefined };

/** A command's outcome: the JSON to print, and whether it succeeded. */
export interface CommandResult {
  output: JsonObject;
  ok: boolean;
  /** Values the output must never show (the token the command was given). */
  secrets?: (string | undefined)[];
}

/**
 * The outcome of a command that streamed its output item by item: nothing more
 * to print when reading worked (`failure` null), else the failure to print.
 */
export interface StreamedResult {
  /** Exit 0 or 1. */
  ok: boolean;
  failure: JsonObject | null;
  secrets?: (string | undefined)[];
}

/** The outcome of a command whose output is bytes as they are (an artifact); its failures are CommandResults. */
export interface RawResult {
  raw: Uint8Array;
  ok: true;
  /** Values the output must never show. */
  secrets?: (string | undefined)[];
}

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** One of the CLI's exit codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake in how the command was called (missing argument, bad option value), with a stable code. */
export class UsageError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A failure as the CLI prints it: what happened (`error`), a stable `code`,
 * the HTTP status when a server answered (null when none did), and what to do
 * (`hint`); then whatever else applies.
 */
export function failure(fields: { code: string; error: string; hint: string; httpCode?: number | null }, extra: JsonObject = {}): JsonObject {
  const { code, error, hint, httpCode } = fields;
  return { success: false, error, code, ...(httpCode === undefined ? {} : { http_code: httpCode }), hint, ...extra };
}

/** The failure printed for a UsageError. */
export function usageFailure(error: UsageError): JsonObject {
  return failure({ code: error.code, error: error.message, hint: error.hint });
}

/**
 * HTTP statuses of a request the deployment refused as it was sent (its
 * validation, its size limit): the caller's mistake, so a usage error too.
 */
const REFUSED_AS_SENT: readonly unknown[] = [400, 413];

/** The exit code of a command's outcome: 0 ok, 2 when the deployment refused the request as sent, else 1. */
export function exitCodeOf(ok: boolean, output: JsonObject | null): ExitCode {
  if (ok) return EXIT.ok;
  return output !== null && REFUSED_AS_SENT.includes(output.http_code) ? EXIT.usage : EXIT.failed;
}

const REDACTED = Buffer.from("[redacted]");

/** Replaces every given secret in a text. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) result = result.replaceAll(secret, "[redacted]");
  }
  return result;
}

/**
 * Bytes with every given secret replaced, compared byte for byte; bytes that
 * hold no secret come back unchanged (a patch stays one that applies).
 */
export function redactBytes(bytes: Uint8Array, secrets: readonly (string | undefined)[]): Uint8Array {
  let result = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    const needle = Buffer.from(secret);
    const parts: Buffer[] = [];
    let from = 0;
    for (let at = result.indexOf(needle); at !== -1; at = result.indexOf(needle, from)) {
      parts.push(result.subarray(from, at), REDACTED);
      from = at + needle.length;
    }
    if (parts.length > 0) result = Buffer.concat([...parts, result.subarray(from)]);
  }
  return result;
}

/**
 * A value as the CLI prints it: JSON, indented (or on one line, for JSON
 * lines), with every secret replaced, and a final newline.
 */
export function renderJson(value: unknown, secrets: readonly (string | undefined)[], options: { compact?: boolean } = {}): string {
  return `${redact(options.compact ? JSON.stringify(value) : JSON.stringify(value, null, 2), secrets)}\n`;
}
