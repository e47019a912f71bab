/**
 * Writing Server-Sent Events: a `text/event-stream` answer fed by a producer
 * that sends events (stored as JSON text, passed through as they are) and
 * comments (keep-alives).
 */

/** Writes Server-Sent Events: `send` for an event stored as JSON text, `comment` for a keep-alive. */
export interface SseWriter {
  send(seq: number, type: string, json: string): Promise<void>;
  comment(text: string): Promise<void>;
}

/** A `text/event-stream` answer fed by `produce`; it ends when `produce` returns or the client goes away. */
export function eventStream(produce: (writer: SseWriter) => Promise<void>): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const write = (text: string) => writer.write(encoder.encode(text));
  void (async () => {
    try {
      // The stored JSON has no raw newline, so one `data:` line carries it.
      await produce({ send: (seq, type, data) => write(`id: ${seq}\nevent: ${type}\ndata: ${data}\n\n`), comment: (text) => write(`: ${text}\n\n`) });
      await writer.close();
    } catch {
      // The client went away (a write failed) or the task object did: the stream just ends.
      await writer.abort().catch(() => undefined);
    }
  })();
  return new Response(readable, { headers: { "Content-Type": "text/event-stream" } });
}
