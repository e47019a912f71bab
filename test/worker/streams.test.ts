/**
 * Reading a body up to a bound (worker/src/streams.ts), the one reader behind
 * the API's request bodies, the egress door's and the files a repository task
 * reads back: never more than the bound is kept, a stream past it is
 * cancelled, and a request's Content-Length that declares too much or is not
 * a number is refused before any byte is read, by every caller alike.
 */
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../worker/src/contract.js";
import { readBodyText } from "../../worker/src/http/validation.js";
import { readAtMost, readPrefix, readRequestAtMost } from "../../worker/src/streams.js";

const bytes = (text: string) => new TextEncoder().encode(text);

/** A stream of `chunks` that records how many were pulled and whether it was cancelled. */
function recordingStream(chunks: Uint8Array[]) {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[seen.pulled++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}

describe("readAtMost", () => {
  it("returns every byte of a stream within the limit, and exactly at it", async () => {
    expect(await readAtMost(recordingStream([bytes("ab"), bytes("cd")]).stream, 4)).toEqual(bytes("abcd"));
    expect(await readAtMost(recordingStream([bytes("abcd")]).stream, 10)).toEqual(bytes("abcd"));
  });

  it("reads no stream as empty", async () => {
    expect(await readAtMost(null, 0)).toEqual(new Uint8Array(0));
  });

  it("gives up one byte past the limit and cancels the stream without reading the rest", async () => {
    const { stream, seen } = recordingStream([bytes("ab"), bytes("cde"), bytes("f"), bytes("g")]);
    expect(await readAtMost(stream, 4)).toBeNull();
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBeLessThanOrEqual(3);
  });

  it("lets a failing stream's error through", async () => {
    const stream = new ReadableStream<Uint8Array>({ pull: (controller) => controller.error(new Error("container lost")) });
    await expect(readAtMost(stream, 10)).rejects.toThrow("container lost");
  });
});

describe("readPrefix", () => {
  it("returns a stream within the limit whole, exactly at it too, not truncated", async () => {
    expect(await readPrefix(recordingStream([bytes("ab"), bytes("cd")]).stream, 4)).toEqual({ bytes: bytes("abcd"), truncated: false });
    expect(await readPrefix(null, 4)).toEqual({ bytes: new Uint8Array(0), truncated: false });
  });

  it("keeps the first bytes of a longer stream, says it was truncated, and cancels it without reading the rest", async () => {
    const { stream, seen } = recordingStream([bytes("ab"), bytes("cde"), bytes("f"), bytes("g")]);
    expect(await readPrefix(stream, 4)).toEqual({ bytes: bytes("abcd"), truncated: true });
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBeLessThanOrEqual(3);
  });
});

/** A POST with `body` and, when given, a Content-Length header as written. */
const post = (body: string, contentLength?: string) =>
  new Request("https://example.org/", {
    method: "POST",
    body: new Response(body).body,
    ...(contentLength === undefined ? {} : { headers: { "content-length": contentLength } }),
    duplex: "half",
  } as RequestInit);

describe("readRequestAtMost", () => {
  it("reads a body that declares its true length, or none", async () => {
    expect(await readRequestAtMost(post("hello", "5"), 5)).toEqual(bytes("hello"));
    expect(await readRequestAtMost(post("hello"), 5)).toEqual(bytes("hello"));
  });

  it.each([
    ["more than the limit", "6"],
    ["a length that is not a number", "five"],
    ["a negative length", "-1"],
    ["a fractional length", "4.5"],
    ["an exponent", "5e0"],
    ["a hexadecimal length", "0x5"],
  ])("refuses a Content-Length of %s before reading the body", async (_name, declared) => {
    expect(await readRequestAtMost(post("hello", declared), 5)).toBeNull();
  });

  it("refuses a body longer than the limit even when its Content-Length says less", async () => {
    expect(await readRequestAtMost(post("hello, world", "3"), 5)).toBeNull();
  });
});

describe("the API's body reader refuses the same way", () => {
  it.each([
    ["declared larger than the API takes", String(LIMITS.maxBodyBytes + 1)],
    ["declared as no number", "lots"],
  ])("answers 413 body_too_large for a Content-Length %s", async (_name, declared) => {
    await expect(readBodyText(post("{}", declared))).rejects.toMatchObject({ code: "body_too_large", status: 413 });
  });

  it("reads a body within the limit as text", async () => {
    expect(await readBodyText(post('{"task":"t"}', "12"))).toBe('{"task":"t"}');
  });
});
