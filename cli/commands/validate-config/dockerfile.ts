/**
 * The checks of container/Dockerfile against package.json:
 * `dockerfile-base` (the sandbox base image tag is the @cloudflare/sandbox
 * version) and `claude-code-pin` (the image installs the exact Claude Code
 * devDependency).
 */
import { type ConfigCheck, errorText, fail, finish, isRecord, type Problem, readText } from "./checkout.js";

export const DOCKERFILE = "container/Dockerfile";
const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** The Dockerfile's instructions: continuation lines joined, comments dropped, ARG defaults substituted. */
function dockerInstructions(text: string): string[] {
  const lines = text
    .split(/\r?\n/)
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\r?\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  const args: Record<string, string> = {};
  return lines.map((line) => {
    const substituted = line.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => args[braced ?? bare ?? ""] ?? whole);
    const arg = /^ARG\s+(\w+)=("?)([^"\s]*)\2\s*$/i.exec(substituted);
    if (arg?.[1] !== undefined && arg[3] !== undefined) args[arg[1]] = arg[3];
    return substituted;
  });
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  version?: string;
}

/** The checkout's package.json, or why it cannot be read. */
export function readPackageJson(dir: string): { pkg: PackageJson; error?: undefined } | { pkg?: undefined; error: string } {
  const text = readText(dir, "package.json");
  if (text === null) return { error: `package.json not found in ${dir}` };
  try {
    const pkg = JSON.parse(text) as unknown;
    return isRecord(pkg) ? { pkg: pkg as PackageJson } : { error: "package.json is not a JSON object" };
  } catch (error) {
    return { error: `package.json is not valid JSON: ${errorText(error)}` };
  }
}

/** The `dockerfile-base` check: the image is built FROM cloudflare/sandbox at the SDK's version. */
export function checkDockerfileBase(dockerfile: string | null, pkg: ReturnType<typeof readPackageJson>): ConfigCheck {
  const name = "dockerfile-base";
  if (dockerfile === null) return fail(name, `${DOCKERFILE} not found`, `Restore it: \`git checkout -- ${DOCKERFILE}\``);
  if (pkg.error !== undefined) return fail(name, pkg.error, "Restore package.json: `git checkout -- package.json`");
  const wanted = pkg.pkg.dependencies?.["@cloudflare/sandbox"];
  if (wanted === undefined) return fail(name, "package.json has no dependency @cloudflare/sandbox", "Restore it: `npm install --save-exact @cloudflare/sandbox@<version>`");
  const bases = dockerInstructions(dockerfile)
    .map((line) => /^FROM\s+(?:--\S+\s+)*(\S+)/i.exec(line)?.[1])
    .filter((image): image is string => image !== undefined);
  const base = bases.find((image) => /^(docker\.io\/)?cloudflare\/sandbox(:|@|$)/.test(image));
  if (base === undefined) {
    return fail(name, `${DOCKERFILE} is not built FROM docker.io/cloudflare/sandbox (found: ${bases.join(", ") || "no FROM"})`, `Start ${DOCKERFILE} with \`FROM docker.io/cloudflare/sandbox:${wanted}\``);
  }
  const tag = /^[^@]*?:([^:@/]+)(@|$)/.exec(base)?.[1];
  const problems: Problem[] = [];
  if (!EXACT_VERSION.test(wanted)) {
    problems.push({ message: `package.json asks for @cloudflare/sandbox "${wanted}", a range, not one version`, hint: `Pin it exactly: \`npm install --save-exact @cloudflare/sandbox@${tag ?? "<version>"}\`` });
  } else if (tag !== wanted && !tag?.startsWith(`${wanted}-`)) {
    problems.push({
      message: `${DOCKERFILE} is built FROM ${base}, but package.json has @cloudflare/sandbox ${wanted}: the runtime in the image and the SDK in the Worker must be the same version`,
      hint: `Use \`FROM docker.io/cloudflare/sandbox:${wanted}\` (or upgrade the package to the image's version; upgrade both together, see docs/operations.md)`,
    });
  }
  return finish(name, problems, `${DOCKERFILE} is built FROM ${base}, the @cloudflare/sandbox version in package.json`);
}

/** The `claude-code-pin` check: the image installs the exact Claude Code of the devDependency. */
export function checkClaudeCodePin(dockerfile: string | null, pkg: ReturnType<typeof readPackageJson>): ConfigCheck {
  const name = "claude-code-pin";
  if (dockerfile === null) return fail(name, `${DOCKERFILE} not found`, `Restore it: \`git checkout -- ${DOCKERFILE}\``);
  if (pkg.error !== undefined) return fail(name, pkg.error, "Restore package.json: `git checkout -- package.json`");
  const wanted = pkg.pkg.devDependencies?.["@anthropic-ai/claude-code"];
  const installs = dockerInstructions(dockerfile)
    .filter((line) => /^RUN\s/i.test(line))
    // A package spec is a word of its own; `--allow-scripts=@anthropic-ai/claude-code` names it in a flag value.
    .flatMap((line) => [...line.matchAll(/(?<![=\w/-])@anthropic-ai\/claude-code(?:@([^\s&|;'"]+))?/g)].map((match) => match[1] ?? null));
  if (installs.length === 0) {
    return fail(name, `${DOCKERFILE} does not install @anthropic-ai/claude-code`, `Install it pinned: \`RUN npm install --global @anthropic-ai/claude-code@${wanted ?? "<version>"}\``);
  }
  const problems: Problem[] = [];
  if (wanted === undefined) {
    problems.push({ message: "package.json has no devDependency @anthropic-ai/claude-code to pin the image's Claude Code to", hint: "Add it: `npm install --save-dev --save-exact @anthropic-ai/claude-code@<version>`" });
  } else if (!EXACT_VERSION.test(wanted)) {
    problems.push({ message: `package.json asks for @anthropic-ai/claude-code "${wanted}", a range, not one version`, hint: "Pin it exactly: `npm install --save-dev --save-exact @anthropic-ai/claude-code@<version>`" });
  }
  for (const version of new Set(installs)) {
    if (version === null || !EXACT_VERSION.test(version)) {
      problems.push({
        message: `${DOCKERFILE} installs @anthropic-ai/claude-code${version === null ? "" : `@${version}`}, not one exact version, so every build may get a different Claude Code`,
        hint: `Pin it: \`@anthropic-ai/claude-code@${wanted ?? "<x.y.z>"}\` in ${DOCKERFILE}`,
      });
    } else if (wanted !== undefined && EXACT_VERSION.test(wanted) && version !== wanted) {
      problems.push({
        message: `${DOCKERFILE} installs @anthropic-ai/claude-code@${version}, but package.json's devDependency is ${wanted}`,
        hint: `Use the same version in both: \`@anthropic-ai/claude-code@${wanted}\` in ${DOCKERFILE}, or \`npm install --save-dev --save-exact @anthropic-ai/claude-code@${version}\``,
      });
    }
  }
  return finish(name, problems, `${DOCKERFILE} installs @anthropic-ai/claude-code@${String(wanted)}, the devDependency in package.json`);
}
