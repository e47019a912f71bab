/**
 * Paths the program hands to its resources are relative to the project root
 * (where Pulumi.yaml is: the working directory of `pulumi up` and of the
 * providers it starts), so the same commit gives the same inputs from any
 * folder or clone.
 */
import { relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root of this checkout. */
export const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** `path` (absolute, inside this checkout) relative to the project root, with `/` separators. */
export function projectPath(path: string): string {
  return relative(PROJECT_ROOT, path).split(sep).join("/");
}
