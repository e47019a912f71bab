/**
 * Following Claude Code's output as it comes: the sandbox's process log
 * stream, split into frames (events/process-log.ts) and lines
 * (events/lines.ts), each stdout line parsed as stream-json and handed to the
 * task object; stdout and stderr are kept as bounded tails for the result.
 *
 * A stream opened again after the object was rebuilt replays the output from
 * the start. Its first stdout frame is that replay: its lines up to the last
 * one already turned into events (`resumeAfter`, the `uuid` of that
 * stream-json message) are skipped, so events resume without gaps or repeats.
 */
import { LineSplitter } from "../events/lines.js";
import { ProcessLogParser } from "../events/process-log.js";
import { type ParsedLine, parseStreamJsonLine } from "../events/stream-json.js";
import { OutputTail } from "./output-tail.js";

/** How a followed log stream ended. */
export type LogEnd =
  /** The process exited (with this code; null when it was stopped by a signal). */
  | { kind: "exited"; exitCode: number | null }
  /** The stream ended or broke before the process's exit: ask the sandbox what became of it. */
  | { kind: "interrupted" }
  /** The task no longer wanted the lines (it ended meanwhile). */
  | { kind: "stopped" };

/**
 * Takes the lines of one chunk of output (possibly none) and answers whether
 * to go on reading; false stops the follower.
 */
export type LineConsumer = (lines: ParsedLine[]) => boolean;

export class LogFollower {
  /** The last `maxOutputBytes` of stdout, rebuilt from the replay when the stream is reopened. */
  readonly stdout: OutputTail;
  /** The last `maxOutputBytes` of stderr. */
  readonly stderr: OutputTail;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;

  constructor(maxOutputBytes: number) {
    this.stdout = new OutputTail(maxOutputBytes);
    this.stderr = new OutputTail(maxOutputBytes);
  }

  /** The tails as the result keeps them. */
  streams(): { stdout: string; stderr: string; truncated: boolean } {
    const stdout = this.stdout.text();
    const stderr = this.stderr.text();
    return { stdout, stderr, truncated: this.stdout.truncated || this.stderr.truncated };
  }

  /** Reads `stream` to its end (or until `consume` says stop), handing each chunk's lines to `consume`. */
  async follow(stream: ReadableStream<Uint8Array>, resumeAfter: string | null, consume: LineConsumer): Promise<LogEnd> {
    const frames = new ProcessLogParser();
    const lines = new LineSplitter();
    // Only the first stdout frame replays earlier output; its lines up to the last one seen are skipped.
    let replayFrame = true;
    let skipUntil = resumeAfter;
    const parse = (text: string[]): ParsedLine[] => {
      const parsed: ParsedLine[] = [];
      for (const line of text) {
        const message = parseStreamJsonLine(line);
        if (skipUntil !== null) {
          if (message.uuid === skipUntil) skipUntil = null;
          continue;
        }
        parsed.push(message);
      }
      return parsed;
    };

    const reader = stream.getReader();
    this.#reader = reader;
    let exit: { exitCode: number | null } | null = null;
    try {
      while (exit === null) {
        const { done, value } = await reader.read();
        if (done) break;
        const chunk: ParsedLine[] = [];
        for (const frame of frames.push(value)) {
          switch (frame.type) {
            case "stdout":
              this.stdout.push(frame.data);
              chunk.push(...parse(lines.push(frame.data)));
              if (replayFrame) {
                // Lines after the replay are new even when the last one seen was not found in it.
                skipUntil = null;
                replayFrame = false;
              }
              break;
            case "stderr":
              this.stderr.push(frame.data);
              break;
            case "gap":
              lines.gap();
              this.stdout.truncated = true;
              replayFrame = false;
              skipUntil = null;
              break;
            case "exit":
              exit = { exitCode: frame.exitCode };
              break;
          }
        }
        if (!consume(chunk)) return { kind: "stopped" };
      }
    } catch {
      // The stream broke: the caller decides, as for a stream that ended early.
    } finally {
      this.#reader = null;
      reader.cancel().catch(() => undefined);
    }
    if (!consume(parse(lines.end()))) return { kind: "stopped" };
    return exit ? { kind: "exited", exitCode: exit.exitCode } : { kind: "interrupted" };
  }

  /** Stops reading (the container is being destroyed): `follow` then ends as interrupted or stopped. */
  cancel(): void {
    this.#reader?.cancel().catch(() => undefined);
  }
}
