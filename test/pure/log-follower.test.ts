/**
 * The log follower: the sandbox's process log stream in, Claude Code's
 * stream-json lines out, in order, with how the stream ended and the bounded
 * tails of stdout and stderr; a stream reopened after an eviction skips what
 * was already turned into events.
 */
import { describe, expect, it } from "vitest";
import type { ParsedLine } from "../../worker/src/events/stream-json.js";
import { type LogEnd, LogFollower } from "../../worker/src/tasks/log-follower.js";

/** One frame of the process log stream, as the sandbox sends it (Server-Sent Events). */
const frame = (payload: Record<string, unknown>) => `data: ${JSON.stringify(payload)}\n\n`;
const stdout = (data: string) => frame({ type: "stdout", data });
const stderr = (data: string) => frame({ type: "stderr", data });
const exit = (exitCode: number | null) => frame({ type: "exit", exitCode });

/** A stream-json assistant text with a uuid. */
const text = (uuid: string, words: string) =>
  `${JSON.stringify({ type: "assistant", uuid, message: { content: [{ type: "text", text: words }] } })}\n`;

/** A stream of `chunks` (each one read), ending cleanly or with an error. */
function streamOf(chunks: string[], ending: "end" | "error" = "end"): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index < chunks.length) controller.enqueue(encoder.encode(chunks[index++]!));
      else if (ending === "error") controller.error(new Error("Network connection lost."));
      else controller.close();
    },
  });
}

/** Follows `chunks` and returns how it ended and the texts handed over, in order. */
async function follow(chunks: string[], options: { resumeAfter?: string | null; ending?: "end" | "error"; stopAfter?: number; maxBytes?: number } = {}) {
  const follower = new LogFollower(options.maxBytes ?? 1024);
  const texts: string[] = [];
  let calls = 0;
  const end: LogEnd = await follower.follow(streamOf(chunks, options.ending), options.resumeAfter ?? null, (lines: ParsedLine[]) => {
    calls++;
    for (const line of lines) for (const event of line.events) if (event.type === "text") texts.push(event.data.text);
    return options.stopAfter === undefined || calls < options.stopAfter;
  });
  return { end, texts, follower };
}

describe("LogFollower", () => {
  it.each([
    ["the process's exit", [stdout(text("a", "one")), exit(0)], "end", { kind: "exited", exitCode: 0 }],
    ["an exit by a signal", [stdout(text("a", "one")), exit(null)], "end", { kind: "exited", exitCode: null }],
    ["a stream that ends before the exit", [stdout(text("a", "one"))], "end", { kind: "interrupted" }],
    ["a stream that breaks", [stdout(text("a", "one"))], "error", { kind: "interrupted" }],
  ] as const)("ends with %s", async (_name, chunks, ending, expected) => {
    const { end, texts } = await follow([...chunks], { ending });
    expect(end).toEqual(expected);
    expect(texts).toEqual(["one"]);
  });

  it("hands over lines split across frames and chunks, in order, and the last line without its newline", async () => {
    const first = text("a", "one");
    const second = text("b", "two");
    const third = text("c", "three").trimEnd();
    const { texts, end } = await follow([stdout(first.slice(0, 10)), stdout(first.slice(10) + second.slice(0, 5)), stdout(second.slice(5)) + stdout(third)]);
    expect(texts).toEqual(["one", "two", "three"]);
    expect(end).toEqual({ kind: "interrupted" });
  });

  it("stops when the consumer says so, without reading further", async () => {
    const { end, texts } = await follow([stdout(text("a", "one")), stdout(text("b", "two")), stdout(text("c", "three")), exit(0)], { stopAfter: 2 });
    expect(end).toEqual({ kind: "stopped" });
    expect(texts).toEqual(["one", "two"]);
  });

  it.each([
    ["skips the replayed lines up to the last one seen", "b", ["three", "four"]],
    ["skips nothing when the last one seen is the replay's last", "c", ["four"]],
    ["keeps the lines after the replay when the last one seen is not in it", "zzz", ["four"]],
    ["skips nothing on a first attach", null, ["one", "two", "three", "four"]],
  ] as const)("on a reopened stream, %s", async (_name, resumeAfter, expected) => {
    const replay = stdout(text("a", "one") + text("b", "two") + text("c", "three"));
    const { texts } = await follow([replay, stdout(text("d", "four")), exit(0)], { resumeAfter });
    expect(texts).toEqual(expected);
  });

  it("keeps the last bytes of stdout and stderr, marked truncated when they lost their beginning", async () => {
    const { follower } = await follow([stdout("x".repeat(300)), stderr("e".repeat(50)), stdout("y".repeat(300)), exit(1)], { maxBytes: 400 });
    const streams = follower.streams();
    expect(streams.stdout).toBe("x".repeat(100) + "y".repeat(300));
    expect(streams.stderr).toBe("e".repeat(50));
    expect(streams.truncated).toBe(true);
  });

  it("reports output it kept whole as not truncated", async () => {
    const { follower } = await follow([stdout("small\n"), stderr("note\n"), exit(0)]);
    expect(follower.streams()).toEqual({ stdout: "small\n", stderr: "note\n", truncated: false });
  });
});
