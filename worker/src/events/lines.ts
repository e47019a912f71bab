/**
 * Splitting a stream of text into lines with bounded memory: a line longer
 * than `maxLineChars` is dropped (and counted), never buffered whole.
 */

/** Lines beyond this many characters are dropped (1 Mi characters). */
export const MAX_LINE_CHARS = 1024 * 1024;

export class LineSplitter {
  readonly #maxLineChars: number;
  #partial = "";
  #skipping = false;
  /** Lines dropped for their length or cut by a gap. */
  dropped = 0;

  constructor(maxLineChars: number = MAX_LINE_CHARS) {
    this.#maxLineChars = maxLineChars;
  }

  /** Feeds text; returns the complete lines it ends (without their newline). */
  push(text: string): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      if (newline === -1) break;
      if (this.#skipping) {
        this.#skipping = false;
      } else {
        const line = this.#partial + text.slice(start, newline);
        if (line.length <= this.#maxLineChars) lines.push(line);
        else this.dropped++;
      }
      this.#partial = "";
      start = newline + 1;
    }
    if (!this.#skipping) {
      const tail = this.#partial + text.slice(start);
      if (tail.length > this.#maxLineChars) {
        this.#skipping = true;
        this.#partial = "";
        this.dropped++;
      } else {
        this.#partial = tail;
      }
    }
    return lines;
  }

  /** Text was lost: the partial line and the rest of the line being received are dropped. */
  gap(): void {
    if (!this.#skipping) this.dropped++;
    this.#partial = "";
    this.#skipping = true;
  }

  /** The stream ended: returns the last line when it had no newline. */
  end(): string[] {
    const last = this.#skipping ? "" : this.#partial;
    this.#partial = "";
    this.#skipping = false;
    return last.length > 0 ? [last] : [];
  }
}
