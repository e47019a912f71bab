/**
 * `shellQuote` makes any value one word of a real bash command line: bash
 * hands it back byte for byte, and nothing in it runs, expands or splits.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellQuote } from "../../worker/src/shell-quote.js";
import { runProcess } from "./fixtures/run-command.js";

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "shell-quote-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** What bash receives as arguments when `words` are quoted into one command line. */
async function argumentsOf(words: readonly string[]): Promise<string[]> {
  const command = `printf '%s\\0' ${words.map(shellQuote).join(" ")}`;
  const outcome = await runProcess("bash", ["-c", command], { env: { PATH: "/usr/bin:/bin", HOME: scratch }, cwd: scratch });
  expect(outcome.stderr).toBe("");
  expect(outcome.exitCode).toBe(0);
  return outcome.stdout.split("\0").slice(0, -1);
}

const HOSTILE: [string, string][] = [
  ["empty", ""],
  ["a single quote", "'"],
  ["quotes of both kinds, unbalanced", `it's "half' ''' "`],
  ["a command substitution", "$(touch pwned-substitution)"],
  ["backticks", "`touch pwned-backtick`"],
  ["a variable and an arithmetic expansion", "$HOME ${PATH} $((1+1))"],
  ["a command list", "a; touch pwned-list && touch pwned-and || true | cat"],
  ["globs and braces", "* ? [a-z] {a,b} ~"],
  ["whitespace and newlines", "  two  spaces\n\tand a tab\r\n"],
  ["an escaped quote attempt", "\\'; touch pwned-escape; echo '"],
  ["a redirection", "> pwned-redirect < /etc/passwd"],
  ["a leading dash", "--help"],
  ["history and comment characters", "!! #not a comment"],
  ["non-ASCII and control characters", "ünïcødé ✓ \u0007\u001b[31m"],
];

describe("shellQuote", () => {
  it.each(HOSTILE)("passes %s through bash as one argument, byte for byte", async (_name, value) => {
    expect(await argumentsOf([value])).toEqual([value]);
  });

  it("keeps every hostile value its own word when they share one command line, and runs nothing", async () => {
    const values = HOSTILE.map(([, value]) => value);
    expect(await argumentsOf(values)).toEqual(values);
    expect((await readdir(scratch)).filter((name) => name.startsWith("pwned"))).toEqual([]);
  });

  it.each([
    ["plain", "plain", "'plain'"],
    ["a quote", "it's", `'it'\\''s'`],
    ["only quotes", "''", `''\\'''\\'''`],
  ])("writes %s as a single-quoted word", (_name, value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });
});
