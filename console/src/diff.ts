/**
 * A repository task's patch (`git diff --binary` of its commit) as the
 * console shows it: per file, its name, what happened to it, and its lines
 * with their old and new numbers. Parsed with parse-diff; pure, and every
 * line stays text.
 */
import parseDiff from "parse-diff";

/** One line of a hunk. */
export interface DiffLine {
  kind: "add" | "del" | "normal" | "hunk" | "note";
  /** The line as in the patch, without its leading `+`, `-` or space (a hunk header or a note such as `\ No newline at end of file` whole). */
  text: string;
  oldNumber: number | null;
  newNumber: number | null;
}

/** One file of the patch. */
export interface DiffFile {
  /** The path shown: the new path, or the old one for a deleted file; `old → new` for a rename. */
  name: string;
  change: "added" | "deleted" | "renamed" | "modified";
  additions: number;
  deletions: number;
  /** Whether the patch holds the file as binary data, not lines. */
  binary: boolean;
  lines: DiffLine[];
}

const NO_FILE = "/dev/null";

/** The files of a unified diff; text that is no diff gives none. */
export function parsePatch(patch: string): DiffFile[] {
  const files = parseDiff(patch);
  // Each file's own part of a git patch, to tell its binary data apart (parse-diff reads none).
  const sections = patch.split(/^(?=diff --git )/m).filter((section) => section.startsWith("diff --git "));
  return files.map((file, index) => {
    const from = file.from && file.from !== NO_FILE ? file.from : null;
    const to = file.to && file.to !== NO_FILE ? file.to : null;
    const change = file.new || from === null ? "added" : file.deleted || to === null ? "deleted" : from !== to ? "renamed" : "modified";
    const name = change === "renamed" ? `${from} → ${to}` : (to ?? from ?? "(unnamed)");
    const lines: DiffLine[] = [];
    for (const chunk of file.chunks) {
      lines.push({ kind: "hunk", text: chunk.content, oldNumber: null, newNumber: null });
      for (const line of chunk.changes) {
        const text = line.content.slice(1);
        if (line.content.startsWith("\\")) lines.push({ kind: "note", text: line.content, oldNumber: null, newNumber: null });
        else if (line.type === "add") lines.push({ kind: "add", text, oldNumber: null, newNumber: line.ln });
        else if (line.type === "del") lines.push({ kind: "del", text, oldNumber: line.ln, newNumber: null });
        else lines.push({ kind: "normal", text, oldNumber: line.ln1, newNumber: line.ln2 });
      }
    }
    const section = sections.length === files.length ? sections[index]! : "";
    const binary = file.chunks.length === 0 && /^(GIT binary patch|Binary files )/m.test(section);
    return { name, change, additions: file.additions, deletions: file.deletions, binary, lines };
  });
}
