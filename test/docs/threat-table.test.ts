/**
 * The threat table of docs/security.md names, for each threat, the tests that show it is stopped:
 * `` `W/file.test.ts` › block › … › test ``, references separated by `; `. Each named file must
 * exist and hold those titles: every title of a reference is the title of a describe block or a
 * test in the file (the last one may be a block: every test in it), in the order given. Titles of
 * `it.each` and `describe.each` are matched with their placeholders (`%s`, `$name`, …) filled, and
 * each value filled in must be written in the file or in a fixture it imports, so a renamed case
 * fails here as a renamed test does.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";

const SECURITY = "docs/security.md";
const SECTION = "## Threats and what stops them";
const TEST_COLUMN = "test that shows it";

interface Reference {
  /** The reference as written in the table. */
  text: string;
  /** The threat it belongs to (the row's first cell). */
  threat: string;
  /** The test file, from the repository root. */
  file: string;
  /** The titles, outermost block first. */
  titles: string[];
}

/** The threat table's section: from its heading to the next heading. */
function threatSection(markdown: string): string {
  const start = markdown.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`${SECURITY} has no section "${SECTION}"`);
  const rest = markdown.slice(start + SECTION.length + 2);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The cells of a table row, split on `|` that are not escaped, without markdown escapes. */
function cells(row: string): string[] {
  const parts = row.trim().replace(/^\|/, "").replace(/\|$/, "").split(/(?<!\\)\|/);
  return parts.map((cell) => cell.trim());
}

/** Undoes markdown's backslash escapes (`\_\_proto\_\_`, `\|`). */
function unescapeMarkdown(text: string): string {
  return text.replace(/\\([\\`*_{}[\]()#+\-.!|])/g, "$1");
}

/** Reads the legend (`` `W` is `test/worker/` ``) and every reference of the table. */
function readThreatTable(markdown: string): { rows: { threat: string; cell: string }[]; references: Reference[]; problems: string[] } {
  const section = threatSection(markdown);
  const prefixes = new Map<string, string>();
  for (const match of section.matchAll(/`(\w+)` is `(test\/[^`]+\/)`/g)) prefixes.set(match[1]!, match[2]!);
  const lines = section.split("\n").filter((line) => line.startsWith("|"));
  const header = cells(lines[0] ?? "");
  const column = header.indexOf(TEST_COLUMN);
  if (column < 0) throw new Error(`the threat table has no column "${TEST_COLUMN}"`);
  const rows: { threat: string; cell: string }[] = [];
  const references: Reference[] = [];
  const problems: string[] = [];
  for (const line of lines.slice(2)) {
    const row = cells(line);
    const threat = row[0] ?? "";
    const cell = row[column] ?? "";
    rows.push({ threat, cell });
    for (const text of cell.split(/;\s+/).filter((part) => part.length > 0)) {
      const match = /^`(\w+)\/([^`]+\.test\.ts)`((?: › [^›]+)+)$/.exec(text);
      const prefix = match ? prefixes.get(match[1]!) : undefined;
      if (!match || prefix === undefined) {
        problems.push(`"${text}" (${threat}) is not \`<prefix>/<file>.test.ts\` › title › …, with a prefix of the legend`);
        continue;
      }
      const titles = match[3]!
        .split(" › ")
        .slice(1)
        .map((title) => unescapeMarkdown(title.trim()));
      references.push({ text, threat, file: `${prefix}${match[2]}`, titles });
    }
  }
  return { rows, references, problems };
}

// ---------------------------------------------------------------------------
// The titles of a test file.

/** A title in a test file: where it is, and what it matches once its placeholders are filled. */
interface Title {
  at: number;
  text: string;
  pattern: RegExp;
  /** For each capture group: the placeholder it stands for. */
  placeholders: string[];
}

/** Reads the string literal that starts at `start` (a quote or a backtick); `${…}` parts are returned as null. */
function stringLiteral(source: string, start: number): { parts: (string | null)[]; end: number } | null {
  const quote = source[start];
  if (quote !== '"' && quote !== "'" && quote !== "`") return null;
  const parts: (string | null)[] = [];
  let text = "";
  let index = start + 1;
  while (index < source.length) {
    const char = source[index]!;
    if (char === quote) {
      parts.push(text);
      return { parts, end: index + 1 };
    }
    if (char === "\\") {
      const next = source[index + 1] ?? "";
      const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", "0": "\0" };
      if (next === "u" && source[index + 2] === "{") {
        const close = source.indexOf("}", index);
        text += String.fromCodePoint(Number.parseInt(source.slice(index + 3, close), 16));
        index = close + 1;
      } else if (next === "u") {
        text += String.fromCharCode(Number.parseInt(source.slice(index + 2, index + 6), 16));
        index += 6;
      } else if (next === "x") {
        text += String.fromCharCode(Number.parseInt(source.slice(index + 2, index + 4), 16));
        index += 4;
      } else {
        text += simple[next] ?? next;
        index += 2;
      }
      continue;
    }
    if (quote === "`" && char === "$" && source[index + 1] === "{") {
      parts.push(text, null);
      text = "";
      let depth = 1;
      index += 2;
      while (index < source.length && depth > 0) {
        if (source[index] === "{") depth++;
        else if (source[index] === "}") depth--;
        index++;
      }
      continue;
    }
    if (quote !== "`" && char === "\n") return null;
    text += char;
    index++;
  }
  return null;
}

/** vitest's title placeholders: printf-style tokens and `$name` of object rows. */
const PLACEHOLDER = /%[sdifjoOc#$%]|\$[A-Za-z_]\w*(?:\.\w+)*/g;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function titlePattern(parts: (string | null)[]): { pattern: RegExp; placeholders: string[] } {
  const placeholders: string[] = [];
  let source = "";
  for (const part of parts) {
    if (part === null) {
      placeholders.push("${}");
      source += "(.+?)";
      continue;
    }
    let last = 0;
    for (const match of part.matchAll(PLACEHOLDER)) {
      source += escapeRegExp(part.slice(last, match.index));
      if (match[0] === "%%") {
        source += "%";
      } else {
        placeholders.push(match[0]);
        source += "(.+?)";
      }
      last = match.index + match[0].length;
    }
    source += escapeRegExp(part.slice(last));
  }
  return { pattern: new RegExp(`^${source}$`, "s"), placeholders };
}

/** Every title of a describe block or test in `source`: `describe(…)`, `it(…)`, `test(…)` and their `.each(…)(…)`. */
function titlesOf(source: string): Title[] {
  const titles: Title[] = [];
  for (const call of source.matchAll(/\b(?:describe|it|test)((?:\.(?:only|skip|todo|concurrent|sequential|fails|skipIf\([^)]*\)|runIf\([^)]*\)))*)(\.each)?\b/g)) {
    let open: number;
    const after = call.index + call[0].length;
    if (call[2]) {
      // it.each(table)("title", …): the title is the first string after the table's closing `)(`.
      const rest = /\)\s*\(\s*(?=["'`])/.exec(source.slice(after));
      if (!rest) continue;
      open = after + rest.index + rest[0].length;
    } else {
      const rest = /^\s*\(\s*(?=["'`])/.exec(source.slice(after));
      if (!rest) continue;
      open = after + rest[0].length;
    }
    const literal = stringLiteral(source, open);
    if (!literal) continue;
    titles.push({ at: call.index, text: literal.parts.map((part) => part ?? "${…}").join(""), ...titlePattern(literal.parts) });
  }
  return titles;
}

/** The file's text and that of every file under test/ it imports with a relative path (its fixtures, its helpers). */
function corpusOf(file: string): string {
  const source = readFileSync(file, "utf8");
  const texts = [source];
  for (const match of source.matchAll(/from\s+"(\.{1,2}\/[^"]+)\.js"/g)) {
    const imported = normalize(join(dirname(file), `${match[1]}.ts`));
    if (imported.startsWith("test/") && existsSync(imported)) texts.push(readFileSync(imported, "utf8"));
  }
  return texts.join("\n");
}

/** The forms `value`, filled in for `placeholder`, may be written in (none for an index or a `${…}`: anything goes). */
function writtenForms(placeholder: string, value: string): string[] | null {
  if (placeholder === "%#" || placeholder === "%$" || placeholder === "${}") return null;
  const forms = [value, JSON.stringify(value).slice(1, -1)];
  if (placeholder === "%j") {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === "string") forms.push(parsed, JSON.stringify(parsed).slice(1, -1));
    } catch {
      // Not JSON: only the forms above.
    }
  }
  return forms.filter((form) => form.length > 0);
}

/**
 * Whether a title of the file is `cited`, with the values filled in written in the file or its
 * fixtures, all in one row of a table (the text from one line that starts with `[` or `{` to the next).
 */
function matches(title: Title, cited: string, corpus: string): boolean {
  const match = title.pattern.exec(cited);
  if (match === null) return false;
  const values = title.placeholders
    .map((placeholder, index) => writtenForms(placeholder, match[index + 1]!))
    .filter((forms): forms is string[] => forms !== null);
  if (values.length === 0) return true;
  const rows = corpus.split(/\n(?=\s*[[{])/);
  return rows.some((row) => values.every((forms) => forms.some((form) => row.includes(form))));
}

/** The titles of a reference that the file lacks, in order (empty when the file holds them all, in that order). */
function missingTitles(reference: Reference): string[] {
  const corpus = corpusOf(reference.file);
  const titles = titlesOf(readFileSync(reference.file, "utf8"));
  let after = -1;
  const missing: string[] = [];
  for (const cited of reference.titles) {
    const found = titles.find((title) => title.at > after && matches(title, cited, corpus));
    if (!found) {
      missing.push(cited);
      continue;
    }
    after = found.at;
  }
  return missing;
}

// ---------------------------------------------------------------------------

const table = readThreatTable(readFileSync(SECURITY, "utf8"));

describe("the threat table of docs/security.md", () => {
  it("names, for every threat, at least one test, each as `<prefix>/<file>` › title › …", () => {
    expect(table.rows.length).toBeGreaterThan(10);
    expect(table.problems).toEqual([]);
    for (const row of table.rows) expect(table.references.filter((reference) => reference.threat === row.threat).length, row.threat).toBeGreaterThan(0);
  });

  it.each(table.references.map((reference) => [reference.text, reference] as const))("%s is a test of that file", (_text, reference) => {
    expect(existsSync(reference.file), reference.file).toBe(true);
    expect(missingTitles(reference), `titles ${reference.file} lacks`).toEqual([]);
  });
});

describe("reading titles", () => {
  const source = [
    'describe("the door", () => {',
    "  it.each([",
    '    ["a batch", 7],',
    '    ["a file", 8],',
    '  ])("refuses %s with %i", () => {});',
    "  it(`keeps ${name} out`, () => {});",
    '  describe.each([{ kind: "oauth" }])("with $kind", () => {});',
    "});",
  ].join("\n");
  const titles = titlesOf(source);

  it("finds plain, each and template-literal titles, in order", () => {
    expect(titles.map((title) => title.text)).toEqual(["the door", "refuses %s with %i", "keeps ${…} out", "with $kind"]);
  });

  it("matches a title of an each only with values written in one row of its table", () => {
    expect(matches(titles[1]!, "refuses a batch with 7", source)).toBe(true);
    expect(matches(titles[1]!, "refuses a tag with 7", source)).toBe(false);
    expect(matches(titles[1]!, "refuses a file with 7", source)).toBe(false);
    expect(matches(titles[3]!, "with oauth", source)).toBe(true);
    expect(matches(titles[0]!, "the door opens", source)).toBe(false);
  });
});
