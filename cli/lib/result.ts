/**
 * What every command returns and how the entry point reports it: JSON alone on
 * stdout, exit 0 when it succeeded, 1 when a check or task failed, 2 for a
 * usage mistake. Commands never print; they return a CommandResult (or, for a
 * command whose output is a stream, hand each item to a sink the entry point
 * gives them; for an artifact, its bytes) or throw a UsageError.
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

/** A mistake in how the command was called (missing argument, bad option value). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
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
