/**
 * What every command returns and how the entry point reports it: JSON alone on
 * stdout, exit 0 when it succeeded, 1 when a check or task failed, 2 for a
 * usage mistake. Commands never print; they return a CommandResult or throw a
 * UsageError.
 */

/** A JSON value a command prints. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

/** A command's outcome: the JSON to print, and whether it succeeded. */
export interface CommandResult {
  output: { [key: string]: Json | undefined };
  ok: boolean;
  /** Values the output must never show (the token the command was given). */
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

/** Replaces every given secret in a text. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) result = result.replaceAll(secret, "[redacted]");
  }
  return result;
}
