/** A patch as a readable diff: per file, its lines with their numbers, added and removed lines marked. */
import { useMemo } from "preact/hooks";
import { parsePatch } from "../diff.js";

const MARK = { add: "+", del: "-", normal: " ", hunk: "", note: "" } as const;

export function DiffView({ patch }: { patch: string }) {
  const files = useMemo(() => parsePatch(patch), [patch]);
  if (files.length === 0) return <p class="muted">The patch holds no file changes.</p>;
  return (
    <div class="diff">
      {files.map((file) => (
        <section class="diff-file" aria-label={`Changes to ${file.name}`}>
          <h4>
            <span class="diff-name">{file.name}</span>{" "}
            <span class="muted">
              {file.change} · <span class="added">+{file.additions}</span> <span class="removed">−{file.deletions}</span>
            </span>
          </h4>
          {file.binary ? (
            <p class="muted">Binary file: download the patch to see it.</p>
          ) : (
            <div class="diff-scroll" tabIndex={0} role="region" aria-label={`Lines of ${file.name}`}>
              <table class="diff-lines">
                <tbody>
                  {file.lines.map((line) => (
                    <tr class={`line-${line.kind}`}>
                      <td class="number">{line.oldNumber ?? ""}</td>
                      <td class="number">{line.newNumber ?? ""}</td>
                      <td class="code">
                        <span class="mark" aria-hidden="true">
                          {MARK[line.kind]}
                        </span>
                        {line.kind === "add" && <span class="sr-only">added: </span>}
                        {line.kind === "del" && <span class="sr-only">removed: </span>}
                        {line.text}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ))}
    </div>
  );
}
