/**
 * A finished task's final answer: Claude's last text as Markdown through
 * markdown-it with raw HTML off (markdown.ts), so the only HTML in it is what
 * Markdown itself makes. The renderer is loaded when the first answer is
 * shown, so the task list never waits for it. When there is no answer, what
 * Claude Code printed on stderr, as plain text.
 */
import { useEffect, useState } from "preact/hooks";
import type { TaskResult } from "../../../worker/src/contract.js";

export function FinalAnswer({ result }: { result: TaskResult }) {
  const [html, setHtml] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const answer = result.result.trim() === "" ? null : result.result;

  useEffect(() => {
    if (answer === null) return;
    let current = true;
    import("../markdown.js").then(
      ({ renderMarkdown }) => current && setHtml(renderMarkdown(answer)),
      () => current && setFailed(true),
    );
    return () => {
      current = false;
    };
  }, [answer]);

  return (
    <section aria-labelledby="answer-title">
      <h2 id="answer-title">Final answer</h2>
      {answer === null ? (
        result.output.trim() !== "" ? (
          <pre class="answer-output">{result.output}</pre>
        ) : (
          <p class="muted">No answer.</p>
        )
      ) : html !== null ? (
        // markdown-it escapes every HTML tag of the answer (html: false); see markdown.ts.
        <div class="answer" dangerouslySetInnerHTML={{ __html: html }} />
      ) : (
        // Until the renderer is there, or if it could not be loaded: the answer as plain text.
        <pre class="answer-output" aria-busy={!failed}>
          {answer}
        </pre>
      )}
    </section>
  );
}
