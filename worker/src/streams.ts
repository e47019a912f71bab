/**
 * Reading a body that may be larger than anyone should buffer: the one place
 * the Worker reads a stream into memory up to a bound (request bodies of the
 * API and of the egress door, files read back from the container, the patch
 * an MCP tool returns).
 */

/** The first bytes of a stream, and whether it had more. */
export interface StreamPrefix {
  bytes: Uint8Array;
  truncated: boolean;
}

/**
 * Reads at most `limit` bytes of `stream`: all of it when it is no longer,
 * else its first `limit` bytes, `truncated`, and the stream cancelled without
 * reading the rest (no more than `limit` bytes plus one chunk are ever held).
 * A null stream is empty. A failing stream rejects, as it would for any reader.
 */
export async function readPrefix(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<StreamPrefix> {
  if (stream === null) return { bytes: new Uint8Array(0), truncated: false };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = limit - total;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      total = limit;
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    total += value.byteLength;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes, truncated };
}

/**
 * Reads `stream` to its end and returns its bytes, or null as soon as it has
 * sent more than `limit` bytes (the stream is then cancelled).
 */
export async function readAtMost(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | null> {
  const { bytes, truncated } = await readPrefix(stream, limit);
  return truncated ? null : bytes;
}

/**
 * Reads a request's body, at most `limit` bytes: null when its
 * `Content-Length` declares more or is not a number of bytes (refused before
 * any byte is read, the body cancelled), or when the body sends more than
 * `limit` whatever it declared.
 */
export async function readRequestAtMost(request: Request, limit: number): Promise<Uint8Array | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null && !(/^\d{1,16}$/.test(declared.trim()) && Number(declared) <= limit)) {
    await request.body?.cancel().catch(() => undefined);
    return null;
  }
  return readAtMost(request.body, limit);
}
