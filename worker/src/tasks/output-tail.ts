/**
 * The last `maxBytes` UTF-8 bytes of a stream of text: what a result keeps of
 * stdout and stderr. Memory stays within about `maxBytes` whatever is pushed.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The last at most `maxBytes` UTF-8 bytes of `text`, never starting inside a character. */
export function lastBytes(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return text;
  let start = bytes.byteLength - maxBytes;
  while (start < bytes.byteLength && (bytes[start]! & 0xc0) === 0x80) start++;
  return decoder.decode(bytes.subarray(start));
}

export class OutputTail {
  readonly #maxBytes: number;
  #chunks: { text: string; bytes: number }[] = [];
  #bytes = 0;
  /** Whether anything was dropped from the beginning. */
  truncated = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  push(text: string): void {
    if (text.length === 0) return;
    const kept = lastBytes(text, this.#maxBytes);
    if (kept.length < text.length) this.truncated = true;
    const bytes = encoder.encode(kept).byteLength;
    this.#chunks.push({ text: kept, bytes });
    this.#bytes += bytes;
    while (this.#bytes - this.#chunks[0]!.bytes >= this.#maxBytes) {
      this.#bytes -= this.#chunks.shift()!.bytes;
      this.truncated = true;
    }
  }

  /** The kept text: at most `maxBytes` bytes. */
  text(): string {
    const joined = this.#chunks.map((chunk) => chunk.text).join("");
    if (this.#bytes <= this.#maxBytes) return joined;
    this.truncated = true;
    return lastBytes(joined, this.#maxBytes);
  }
}
