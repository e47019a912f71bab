/**
 * Quoting for the POSIX shell, as a pure function. It is security code: the
 * commands the Worker runs in the container are bash strings, and every value
 * that is not a fixed word of ours reaches them through `shellQuote` (or
 * through an environment variable), so no value can end a word, start a
 * substitution or run a command. Tests run the quoted words through a real bash.
 */

/** Quotes a value as one POSIX shell word: inside single quotes nothing is special but `'` itself, written `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
