/**
 * Our ref-name rules (worker/src/repositories/ref-format.ts) give the same
 * answers as the real `git check-ref-format`, for every name built from the
 * characters and pieces its rules are about, in each of its three modes.
 */
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { isValidBranchName, isValidRefName } from "../../worker/src/repositories/ref-format.js";
import { GIT_ENV } from "./fixtures/git-repos.js";

const PIECES = ["a", ".", "/", "@", "{", "}", ".lock", " ", "~", "^", ":", "?", "*", "[", "\\", "\t", "\u007f", "\u0001", "é", "-", "HEAD"];

/**
 * Every name of two pieces, and every piece alone, under `refs/heads/` and
 * before `/x`; git reads a leading `-` as an option, so those are left out.
 */
const NAMES = [
  ...new Set([
    ...PIECES.flatMap((first) => PIECES.map((second) => first + second)),
    ...PIECES.flatMap((piece) => [piece, `refs/heads/${piece}`, `${piece}/x`]),
  ]),
].filter((name) => !name.startsWith("-"));

/** Runs `git check-ref-format <flags> <name>` for each name in one bash; true where git accepts it. */
function gitAccepts(flags: string[], names: string[]): Promise<boolean[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "bash",
      ["-c", `while IFS= read -r -d '' name; do if git check-ref-format "$@" "$name" >/dev/null 2>&1; then echo 1; else echo 0; fi; done`, "bash", ...flags],
      { cwd: tmpdir(), env: GIT_ENV, stdio: ["pipe", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.on("error", reject);
    child.on("close", () => resolve(out.split("\n").filter(Boolean).map((line) => line === "1")));
    child.stdin.end(names.map((name) => `${name}\0`).join(""));
  });
}

const MODES: [string, string[], (name: string) => boolean][] = [
  ["a full ref name", [], (name) => isValidRefName(name)],
  ["--allow-onelevel", ["--allow-onelevel"], (name) => isValidRefName(name, { allowOneLevel: true })],
  ["--branch", ["--branch"], (name) => isValidBranchName(name)],
];

describe("ref-format agrees with git check-ref-format", () => {
  it(`in each mode, for ${NAMES.length} names`, async () => {
    const answers = await Promise.all(MODES.map(([, flags]) => gitAccepts(flags, NAMES)));
    for (const [index, [mode, , ours]] of MODES.entries()) {
      const theirs = answers[index]!;
      expect(theirs).toHaveLength(NAMES.length);
      const disagreements = NAMES.filter((name, at) => ours(name) !== theirs[at]).map((name) => JSON.stringify(name));
      expect({ mode, disagreements }).toEqual({ mode, disagreements: [] });
      // The table is not trivially all one answer.
      expect(theirs.filter(Boolean).length).toBeGreaterThan(10);
      expect(theirs.filter((accepted) => !accepted).length).toBeGreaterThan(20);
    }
  }, 180_000);
});
