/**
 * The live transcript: a `log` region named Transcript. Claude's texts, each
 * tool call folded with its input and result, status changes, and the
 * outcome. Everything in it is the task's own text, shown as text.
 */
import type { Transcript, TranscriptItem } from "../transcript.js";
import { toolInputText, toolSummary } from "../transcript.js";
import type { StreamState } from "../event-stream.js";

const STREAM_STATES: Record<StreamState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Connection lost: reconnecting…",
  ended: "Complete",
};

function Item({ item }: { item: TranscriptItem }) {
  switch (item.kind) {
    case "status":
      return <p class="entry entry-status">Status: {item.status}</p>;
    case "init":
      return (
        <p class="entry entry-status">
          Claude Code started{item.model ? ` with ${item.model}` : ""}
          {item.tools.length > 0 ? `; tools: ${item.tools.join(", ")}` : ""}.
        </p>
      );
    case "text":
      return (
        <div class="entry entry-text">
          <p>{item.text}</p>
          {item.truncated && <p class="muted">(cut to 64 KiB)</p>}
        </div>
      );
    case "tool": {
      const summary = toolSummary(item.input);
      const state = item.result === null ? "running" : item.result.isError ? "error" : "done";
      return (
        <details class={`entry entry-tool tool-${state}`}>
          <summary>
            <span class="tool-name">{item.name}</span>
            {summary !== "" && <span class="tool-summary"> {summary}</span>}
            <span class="tool-state"> · {state === "running" ? "running" : state === "error" ? "failed" : "done"}</span>
          </summary>
          <h4>Input{item.inputTruncated ? " (cut to 4 KiB)" : ""}</h4>
          <pre>{toolInputText(item.input)}</pre>
          {item.result !== null && (
            <>
              <h4>
                {item.result.isError ? "Error" : "Result"}
                {item.result.truncated ? " (cut to 4 KiB)" : ""}
              </h4>
              <pre>{item.result.content}</pre>
            </>
          )}
        </details>
      );
    }
    case "outcome":
      return item.success ? (
        <p class="entry entry-status">Claude Code finished.</p>
      ) : (
        <p class="entry entry-error">
          Failed{item.error ? `: ${item.error.message} (${item.error.code})` : "."}
        </p>
      );
    case "end":
      return <p class="entry entry-status">Ended: {item.status}</p>;
  }
}

export function TranscriptView({ transcript, stream }: { transcript: Transcript; stream: StreamState }) {
  return (
    <section aria-labelledby="transcript-title">
      <div class="title-row">
        <h2 id="transcript-title">Transcript</h2>
        <span role="status" class={`stream stream-${stream}`}>
          {STREAM_STATES[stream]}
        </span>
      </div>
      <div class="transcript" role="log" aria-label="Transcript">
        {transcript.items.map((item) => (
          <Item key={item.seq} item={item} />
        ))}
        {transcript.items.length === 0 && <p class="muted">No events yet.</p>}
      </div>
    </section>
  );
}
