/**
 * Git's own rules for reference names (`git check-ref-format`, refs.c), as pure
 * functions, so a ref or branch the caller names is judged by the same rules
 * git applies before any of it reaches git. A Node test runs the real
 * `git check-ref-format` over the same table and expects the same answers.
 */

/** Characters git refuses anywhere in a ref name (besides ASCII control characters). */
const FORBIDDEN_CHARACTERS = new Set([" ", "~", "^", ":", "?", "*", "[", "\\"]);

const isControl = (code: number) => code < 0x20 || code === 0x7f;

/** Whether one slash-separated component is acceptable: not empty, no leading `.`, no `.lock` ending, no bad character. */
function isValidComponent(component: string): boolean {
  if (component.length === 0 || component.startsWith(".") || component.endsWith(".lock")) return false;
  let last = "";
  for (const character of component) {
    if (isControl(character.codePointAt(0)!) || FORBIDDEN_CHARACTERS.has(character)) return false;
    if (character === "." && last === ".") return false;
    if (character === "{" && last === "@") return false;
    last = character;
  }
  return true;
}

/**
 * Whether `name` is a valid ref name, as `git check-ref-format [--allow-onelevel] <name>`
 * judges it: no `..`, no ASCII control characters, no space ~ ^ : ? * [ \, no
 * empty component (so no leading, trailing or double `/`), no component
 * starting with `.` or ending with `.lock`, no trailing `.`, no `@{`, not `@`,
 * and at least two components unless `allowOneLevel`.
 */
export function isValidRefName(name: string, options: { allowOneLevel?: boolean } = {}): boolean {
  if (name === "@" || !name.isWellFormed()) return false;
  const components = name.split("/");
  if (!components.every(isValidComponent)) return false;
  if (name.endsWith(".")) return false;
  return components.length >= 2 || options.allowOneLevel === true;
}

/**
 * Whether `name` is a valid branch name, as `git check-ref-format --branch <name>`
 * judges it: `refs/heads/<name>` is a valid ref, and the name is neither
 * `HEAD` nor starts with `-`.
 */
export function isValidBranchName(name: string): boolean {
  return !name.startsWith("-") && name !== "HEAD" && isValidRefName(`refs/heads/${name}`);
}
