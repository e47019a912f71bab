/**
 * The sandbox's process log stream (`streamProcessLogs`), read with bounded
 * memory. The container sends Server-Sent Events, one JSON object per frame:
 * `process_info`, then `stdout`/`stderr` chunks (the first ones replay what the
 * process printed before the stream was opened), then `exit` with the exit code.
 * A frame larger than `maxFrameChars` is dropped whole and reported as a `gap`,
 * so a huge replay after a reattach can never exhaust the Durable Object's memory.
 */

/** One frame of the process log stream, as the consumer sees it. */
export type ProcessLogFrame =
  | { type: "stdout" | "stderr"; data: string }
  | { type: "exit"; exitCode: number | null }
  /** Output was dropped here (an oversized frame): what follows is not contiguous with what came before. */
  | { type: "gap"; droppedChars: number };

/** Frames beyond this many characters are dropped (4 Mi characters). */
export const MAX_FRAME_CHARS = 4 * 1024 * 1024;

function frameOf(text: string): ProcessLogFrame | null {
  const data = text
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
    .join("\n");
  if (data.length === 0) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof payload !== "object" || payload === null) return null;
  const { type, data: chunk, exitCode } = payload as { type?: unknown; data?: unknown; exitCode?: unknown };
  if ((type === "stdout" || type === "stderr") && typeof chunk === "string") return { type, data: chunk };
  if (type === "exit" || type === "complete") {
    return { type: "exit", exitCode: typeof exitCode === "number" && Number.isInteger(exitCode) ? exitCode : null };
  }
  return null;
}

/** Splits the byte stream into frames, keeping at most one partial frame of `maxFrameChars`. */
export class ProcessLogParser {
  readonly #decoder = new TextDecoder();
  readonly #maxFrameChars: number;
  #buffer = "";
  #discarding = false;
  #dropped = 0;
  /** A `\r` that ended the last chunk: it may be the first half of a `\r\n`. */
  #pendingCarriageReturn = false;

  constructor(maxFrameChars: number = MAX_FRAME_CHARS) {
    this.#maxFrameChars = maxFrameChars;
  }

  /** Feeds bytes; returns the frames they complete. */
  push(bytes: Uint8Array): ProcessLogFrame[] {
    return this.#take(this.#decoder.decode(bytes, { stream: true }));
  }

  #take(chunk: string): ProcessLogFrame[] {
    const frames: ProcessLogFrame[] = [];
    let text = this.#pendingCarriageReturn ? `\r${chunk}` : chunk;
    this.#pendingCarriageReturn = text.endsWith("\r");
    if (this.#pendingCarriageReturn) text = text.slice(0, -1);
    // SSE lines end with \r\n, \n or \r.
    let rest = text.replace(/\r\n?/g, "\n");
    for (;;) {
      // A boundary may straddle the previous chunk: look one character back.
      const joined = this.#discarding ? rest : this.#buffer + rest;
      const searchFrom = this.#discarding ? 0 : Math.max(0, this.#buffer.length - 1);
      const boundary = joined.indexOf("\n\n", searchFrom);
      if (boundary === -1) {
        if (this.#discarding) {
          this.#dropped += rest.length;
        } else if (joined.length > this.#maxFrameChars) {
          this.#discarding = true;
          this.#dropped += joined.length;
          this.#buffer = "";
        } else {
          this.#buffer = joined;
        }
        return frames;
      }
      if (this.#discarding) {
        this.#dropped += boundary;
        frames.push({ type: "gap", droppedChars: this.#dropped });
        this.#discarding = false;
        this.#dropped = 0;
      } else if (boundary > this.#maxFrameChars) {
        frames.push({ type: "gap", droppedChars: boundary });
      } else {
        const frame = frameOf(joined.slice(0, boundary));
        if (frame) frames.push(frame);
      }
      this.#buffer = "";
      rest = joined.slice(boundary + 2);
    }
  }
}
