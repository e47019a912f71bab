/**
 * Which command-line values are secrets, for the messages the CLI prints about
 * its own arguments (usage mistakes, its own failures): the token, which
 * follows the URL, and values that look like credentials. Command names, task
 * ids and file names never do, so a message can name them.
 */

/** Prefixes of well-known credentials: Anthropic and OpenAI keys, GitHub tokens, webhook secrets, Slack, GitLab, AWS. */
const CREDENTIAL_PREFIX = /^(sk-|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|whsec_|xox[abeoprs]-|glpat-|AKIA)/;
const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A path (`./x`, `/x`, `~/x`) or a file name with an extension (`changes.patch`). */
const FILE_NAME = /^[.~/]|\.[A-Za-z][A-Za-z0-9]{0,5}$/;
/** A run of letters and digits as random generators make them (a hex or base64 token). */
const RANDOM_RUN = /[A-Za-z0-9+/=_]{10,}/g;

/** Whether a run holds at least two letters and two digits: random, not a word or a date. */
function mixesLettersAndDigits(run: string): boolean {
  return (run.match(/[A-Za-z]/g)?.length ?? 0) >= 2 && (run.match(/\d/g)?.length ?? 0) >= 2;
}

/**
 * Whether a value looks like a credential: a well-known prefix, or a run of ten
 * or more letters and digits mixed as random generators make them. Task ids,
 * paths, file names, words and values with spaces (task texts) do not.
 */
export function looksLikeCredential(value: string): boolean {
  if (value.length < 10 || /\s/.test(value) || TASK_ID.test(value)) return false;
  if (CREDENTIAL_PREFIX.test(value)) return true;
  if (FILE_NAME.test(value) || /^https?:\/\//i.test(value)) return false;
  return (value.match(RANDOM_RUN) ?? []).some(mixesLettersAndDigits);
}

/**
 * The command-line values a message about the arguments must not show: those
 * that look like credentials, and the value after the URL (the token's place)
 * when it is one word of eight characters or more, not an option, a command
 * name or a task id.
 */
export function secretArguments(argv: readonly string[], commandNames: readonly string[]): string[] {
  return argv.filter((value, index) => {
    if (commandNames.includes(value) || TASK_ID.test(value)) return false;
    // A short word there is more likely a task than a token, and replacing it would garble every message that has the word.
    const afterUrl = index > 0 && /^https?:\/\//i.test(argv[index - 1]!) && !value.startsWith("-") && value.length >= 8 && !/\s/.test(value);
    return afterUrl || looksLikeCredential(value);
  });
}
