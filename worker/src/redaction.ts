/**
 * Removing secrets from text the Worker returns or stores (task output, error
 * messages). Best effort, by design: it replaces each configured secret (8
 * characters or longer) where it appears
 * - verbatim, in any letter case;
 * - percent-encoded, wholly or in part, with upper- or lower-case hex (what
 *   `encodeURIComponent`, `encodeURI` and form encoders produce), in any letter case;
 * - in standard and URL-safe base64, with or without padding, also inside a
 *   longer base64 text (such as `Basic` credentials) at any byte alignment: the
 *   characters that depend on the secret alone are replaced, leaving at most two
 *   characters at each end that mix a few of its bits with their neighbours'.
 * It cannot find a secret transformed any other way (hex, compression,
 * encryption, split across lines, re-encoded twice), nor one shorter than 8
 * characters; a secret the container never had cannot appear at all.
 */

/** What replaces a secret. */
export const REDACTED = "[redacted]";

/** Secrets shorter than this are left alone: replacing them would garble ordinary text. */
const MIN_SECRET_LENGTH = 8;

const utf8 = new TextEncoder();

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function toUrlSafe(encoded: string): string {
  return encoded.replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * The base64 texts that betray `secret`: its whole encoding (padded and not),
 * and for each of the three byte alignments inside a longer text, the run of
 * characters made only of the secret's bits. Longest first, standard then URL-safe.
 */
function base64Forms(secret: string): string[] {
  const bytes = utf8.encode(secret);
  const whole = base64(bytes);
  const forms = [whole, whole.replace(/=+$/, "")];
  for (let lead = 0; lead < 3; lead++) {
    const shifted = new Uint8Array(lead + bytes.length);
    shifted.set(bytes, lead);
    // Character i of base64 holds bits [6i, 6i + 6); keep those inside the secret's bytes.
    const first = Math.ceil((lead * 8) / 6);
    const end = Math.floor(((lead + bytes.length) * 8) / 6);
    forms.push(base64(shifted).slice(first, end));
  }
  const unique = [...new Set([...forms, ...forms.map(toUrlSafe)])];
  return unique.sort((a, b) => b.length - a.length);
}

const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");

/**
 * Matches `secret` in any letter case, with any of its characters
 * percent-encoded (as the UTF-8 bytes of that character, in either hex case)
 * or left as they are, and a space also as `+`.
 */
function percentEncodedPattern(secret: string): RegExp {
  const characters = [...secret].map((character) => {
    const encoded = [...utf8.encode(character)].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("");
    const literal = character === " " ? "(?: |\\+)" : escapeRegExp(character);
    return `(?:${literal}|${encoded})`;
  });
  return new RegExp(characters.join(""), "gi");
}

/** Replaces secrets in a text. */
export type Redactor = (text: string) => string;

/** Redactors by list of secrets (the deployment has one or two lists): their patterns are built once. */
const REDACTORS = new Map<string, Redactor>();
const MAX_REDACTORS = 16;

/** The redactor of a list of secrets (8 characters or longer; shorter ones are left alone), built once per list. */
export function redactorFor(secrets: readonly string[]): Redactor {
  const key = JSON.stringify(secrets);
  const known = REDACTORS.get(key);
  if (known) return known;
  const patterns = secrets
    .filter((secret) => secret.length >= MIN_SECRET_LENGTH)
    .map((secret) => ({ percentEncoded: percentEncodedPattern(secret), base64: base64Forms(secret) }));
  const redactor: Redactor = (text) => {
    let redacted = text;
    for (const pattern of patterns) {
      redacted = redacted.replace(pattern.percentEncoded, REDACTED);
      for (const form of pattern.base64) redacted = redacted.replaceAll(form, REDACTED);
    }
    return redacted;
  };
  if (REDACTORS.size >= MAX_REDACTORS) REDACTORS.delete(REDACTORS.keys().next().value!);
  REDACTORS.set(key, redactor);
  return redactor;
}

/** Replaces every configured secret (8 characters or longer) in `text`, in the forms listed above. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return redactorFor(secrets)(text);
}
