/**
 * The commands the docs tell people to type, read from the bash blocks of
 * README.md, SKILL.md, docs/api.md and docs/workflows/*.md, held to what
 * running them would do: they parse as bash; every `claude-sandbox` command
 * and option exists (as the built CLI's --help lists them); none runs
 * `npx claude-sandbox`, which outside the clone would fetch a stranger's
 * package; `curl -N` comes with `-s`; no `$1`…`$9` hides in double quotes;
 * `claude setup-token` goes through npx (the clone's copy); a list of running
 * tasks does not follow the wait or cancel that ended them. The prose holds
 * the token permissions `wrangler tail` needs and the CLI's start-time budget.
 * Each rule is first shown to catch the mistake it is for.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI_START_BUDGET } from "../../scripts/bench/cli-start.js";
import { CLI_BIN, REPO_ROOT } from "../cli/fixtures/run-cli-process.js";

const DOCS = ["README.md", "SKILL.md", "docs/api.md", ...readdirSync(join(REPO_ROOT, "docs/workflows")).map((name) => `docs/workflows/${name}`)];

interface Block {
  /** `file:line` of the block's first line. */
  where: string;
  text: string;
}

function bashBlocks(file: string): Block[] {
  const lines = readFileSync(join(REPO_ROOT, file), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    if (!/^\s*```(bash|sh)\s*$/.test(lines[index]!)) continue;
    const end = lines.findIndex((line, at) => at > index && /^\s*```\s*$/.test(line));
    blocks.push({ where: `${file}:${index + 2}`, text: lines.slice(index + 1, end).join("\n") });
    index = end;
  }
  return blocks;
}

const BLOCKS = DOCS.flatMap(bashBlocks);

/** The commands of a block: continuation lines joined, comments dropped. */
function commandLines(text: string): string[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => stripComment(line).trim())
    .filter((line) => line !== "");
}

/** A line without its `# comment` (a `#` that starts a word outside quotes). */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index]!;
    if (quote === null && char === "\\") index += 1;
    else if (quote === null && (char === "'" || char === '"')) quote = char;
    else if (quote === char) quote = null;
    else if (quote === '"' && char === "\\") index += 1;
    else if (quote === null && char === "#" && (index === 0 || /\s/.test(line[index - 1]!))) return line.slice(0, index);
  }
  return line;
}

/** What is between double quotes on a line, where bash expands `$…`. */
function doubleQuoted(line: string): string[] {
  const parts: string[] = [];
  let quote: string | null = null;
  let current = "";
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index]!;
    if (quote === null) {
      if (char === "\\") index += 1;
      else if (char === "'" || char === '"') quote = char;
    } else if (char === quote) {
      if (quote === '"') parts.push(current);
      quote = null;
      current = "";
    } else if (quote === '"' && char === "\\") {
      index += 1;
    } else if (quote === '"') {
      current += char;
    }
  }
  return parts;
}

/** The words of a line as bash splits them (quotes removed), with `|`, `;`, `&&`, `||`, `(`, `)` and `$(` as words of their own. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let current: string | null = null;
  let quote: string | null = null;
  const flush = () => {
    if (current !== null) words.push(current);
    current = null;
  };
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index]!;
    if (quote !== null) {
      if (char === quote) quote = null;
      else if (quote === '"' && char === "\\") current += line[++index] ?? "";
      else current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      current ??= "";
    } else if (char === "\\") {
      current = (current ?? "") + (line[++index] ?? "");
    } else if (/\s/.test(char)) {
      flush();
    } else if (char === "$" && line[index + 1] === "(") {
      flush();
      words.push("$(");
      index += 1;
    } else if ("|;&()".includes(char)) {
      flush();
      const pair = line.slice(index, index + 2);
      if (pair === "&&" || pair === "||") {
        words.push(pair);
        index += 1;
      } else {
        words.push(char);
      }
    } else {
      current = (current ?? "") + char;
    }
  }
  flush();
  return words;
}

const SEPARATORS = new Set(["|", ";", "&&", "||", "(", ")", "$(", "&"]);

/** Each command on a line (its words up to a separator) that starts with `program`. */
function invocations(line: string, program: string): string[][] {
  const words = shellWords(line);
  const found: string[][] = [];
  words.forEach((word, index) => {
    if (word !== program || (index > 0 && !SEPARATORS.has(words[index - 1]!))) return;
    const end = words.findIndex((other, at) => at > index && SEPARATORS.has(other));
    found.push(words.slice(index + 1, end < 0 ? undefined : end));
  });
  return found;
}

/** Whether a `curl` command's flags show the progress meter: `-N` (or `--no-buffer`) without `-s` (`--silent`). */
function curlShowsProgress(args: string[]): boolean {
  const short = args.filter((arg) => /^-[A-Za-z]+$/.test(arg)).join("");
  const unbuffered = short.includes("N") || args.includes("--no-buffer");
  const silent = short.includes("s") || args.includes("--silent");
  return unbuffered && !silent;
}

/** The problems of one block of commands, by the rules the header lists. */
function problems(text: string): string[] {
  const found: string[] = [];
  const lines = commandLines(text);
  let taskEnded = false;
  for (const line of lines) {
    for (const args of invocations(line, "npx")) if (args[0] === "claude-sandbox") found.push(`runs npx claude-sandbox: ${line}`);
    for (const args of invocations(line, "curl")) if (curlShowsProgress(args)) found.push(`curl -N without -s: ${line}`);
    for (const part of doubleQuoted(line)) if (/(?<!\\)\$\d/.test(part)) found.push(`$1…$9 inside double quotes: ${line}`);
    for (const args of invocations(line, "claude")) if (args[0] === "setup-token") found.push(`claude setup-token without npx: ${line}`);
    for (const args of invocations(line, "claude-sandbox")) {
      if (args[0] === "list" && args.includes("--status") && args[args.indexOf("--status") + 1] === "running" && taskEnded) {
        found.push(`lists running tasks after waiting for or cancelling the task: ${line}`);
      }
      if (args[0] === "wait" || args[0] === "cancel" || args[0] === "execute-task") taskEnded = true;
    }
  }
  return found;
}

describe("the rules", () => {
  it.each([
    ["npx claude-sandbox wait \"$TASK_ID\"", ["runs npx claude-sandbox"]],
    ["TASK_ID=$(npx claude-sandbox submit \"x\" | node -pe 1)", ["runs npx claude-sandbox"]],
    ['curl -N "$URL/tasks/$TASK_ID/events" -H "Accept: text/event-stream"', ["curl -N without -s"]],
    ['curl --no-buffer "$URL/events"', ["curl -N without -s"]],
    ['claude-sandbox submit --max-budget-usd 2 "Stop once it has cost $2"', ["$1…$9 inside double quotes"]],
    ["claude setup-token        # prints a token", ["claude setup-token without npx"]],
    ['claude-sandbox wait "$TASK_ID"\nclaude-sandbox list --status running', ["lists running tasks after waiting for or cancelling the task"]],
    ['curl -sN "$URL/tasks/$TASK_ID/events"', []],
    ['curl -s -N "$URL/events"', []],
    ["claude-sandbox submit --max-budget-usd 2 'Stop once it has cost $2'", []],
    ['claude-sandbox submit "costs \\$2"', []],
    ["npx claude setup-token", []],
    ["pulumi config set --secret claudeOauthToken <token from npx claude setup-token>", []],
    ["echo 'npx claude-sandbox is not run here' # npx claude-sandbox", []],
    ['claude-sandbox list --status running\nclaude-sandbox wait "$TASK_ID"', []],
  ])("%j: %j", (text, expected) => {
    expect(problems(text).map((problem) => problem.slice(0, problem.indexOf(":")))).toEqual(expected);
  });
});

describe.each(BLOCKS.map((block) => [block.where, block] as const))("the bash block at %s", (_where, block) => {
  it("follows the rules", () => {
    expect(problems(block.text)).toEqual([]);
  });

  it("parses as bash (placeholders such as <taskId> taken as words)", () => {
    const script = block.text.replace(/<[^<>\n]+>/g, "PLACEHOLDER");
    const result = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("claude-sandbox commands in the docs", () => {
  /** Each command's options, as its --help lists them. */
  const options = new Map<string, Set<string>>();
  const help = (args: string[]) => spawnSync(process.execPath, [CLI_BIN, ...args, "--help"], { encoding: "utf8" }).stderr;
  const commands = [...help([]).matchAll(/^ {2}([a-z-]+) /gm)].map((match) => match[1]!).filter((name) => name !== "help");
  for (const command of commands) options.set(command, new Set(help([command]).match(/--[a-z][a-z-]*/g) ?? []));

  const uses = BLOCKS.flatMap((block) => commandLines(block.text).flatMap((line) => invocations(line, "claude-sandbox").map((args) => ({ where: block.where, line, args }))));

  it("are many, and the CLI lists its commands", () => {
    expect(commands).toContain("submit");
    expect(uses.length).toBeGreaterThan(40);
  });

  it.each(uses.map((use) => [use.where, use.line, use] as const))("%s: %s names a command and its options", (_where, _line, use) => {
    const [command, ...rest] = use.args;
    expect(commands).toContain(command);
    const dashDash = rest.indexOf("--");
    const flags = (dashDash < 0 ? rest : rest.slice(0, dashDash)).filter((arg) => arg.startsWith("--"));
    for (const flag of flags) expect(options.get(command!), `${command} ${flag}`).toContain(flag);
  });
});

describe("the prose", () => {
  it.each(DOCS)("%s lists Workers Tail: Read wherever it lists the API token's permissions", (file) => {
    const text = readFileSync(join(REPO_ROOT, file), "utf8").replace(/\s+/g, " ");
    if (text.includes("*Workers Scripts: Edit*")) expect(text).toContain("*Workers Tail: Read*");
  });

  it.each(DOCS)("%s names npx claude-sandbox only to warn against it", (file) => {
    const paragraphs = readFileSync(join(REPO_ROOT, file), "utf8").split(/\n\s*\n/);
    for (const paragraph of paragraphs.filter((text) => text.includes("npx claude-sandbox"))) {
      expect(paragraph).toMatch(/\b(Never|Do not)\b/);
    }
  });

  it("the README promises the start time that npm run bench holds the CLI to", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
    const promise = /starts in less than (\d+(?:\.\d+)?)× Node's own start-up time/.exec(readme);
    expect(promise?.[1]).toBeDefined();
    expect(Number(promise![1])).toBe(CLI_START_BUDGET);
  });
});
