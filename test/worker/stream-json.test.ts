/**
 * Reading Claude Code's output, with bounded memory: stream-json lines of the
 * real pinned Claude Code (recorded against the local fake API by
 * test/container, kept in test/fixtures/claude-stream-json) into events; the
 * container's log stream into frames; text into lines; and the tail kept of
 * unbounded output.
 */
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../worker/src/contract.js";
import { LineSplitter } from "../../worker/src/events/lines.js";
import { type ProcessLogFrame, ProcessLogParser } from "../../worker/src/events/process-log.js";
import { cutText, MAX_INIT_TOOLS, MAX_USAGE_MODELS, parseStreamJsonLine } from "../../worker/src/events/stream-json.js";
import { lastBytes, OutputTail } from "../../worker/src/tasks/output-tail.js";
import budgetRun from "../fixtures/claude-stream-json/budget.jsonl?raw";
import textRun from "../fixtures/claude-stream-json/text.jsonl?raw";
import toolRun from "../fixtures/claude-stream-json/tool.jsonl?raw";

const parseAll = (run: string) => run.split("\n").filter(Boolean).map(parseStreamJsonLine);
const bytes = (text: string) => new TextEncoder().encode(text).byteLength;

describe("parseStreamJsonLine on Claude Code 2.1.332's own output", () => {
  it("reads a text run: init, the text, and the final result with usage", () => {
    const parsed = parseAll(textRun);
    expect(parsed.flatMap((line) => line.events.map((event) => event.type))).toEqual(["init", "text"]);
    const [init] = parsed[0]!.events;
    expect(init!.data).toMatchObject({ sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/), model: expect.any(String), tools: expect.arrayContaining(["Bash"]) });
    const final = parsed.at(-1)!.final!;
    expect(final).toMatchObject({ subtype: "success", isError: false, result: "Four.", errors: [] });
    expect(final.usage).toMatchObject({ inputTokens: 12, outputTokens: 3, cacheReadInputTokens: 0, numTurns: 1, costUsd: expect.any(Number) });
    expect(Object.values(final.usage.models!)[0]).toEqual({ inputTokens: 12, outputTokens: 3, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, costUsd: expect.any(Number) });
    // Every message after init carries the uuid a reattached reader resumes from.
    expect(parsed.slice(1).every((line) => line.uuid !== null)).toBe(true);
  });

  it("reads tool calls and their results", () => {
    const events = parseAll(toolRun).flatMap((line) => line.events);
    expect(events.map((event) => event.type)).toEqual(["init", "tool_use", "tool_result", "tool_use", "tool_result"]);
    expect(events[1]!.data).toEqual({ id: "toolu_1", name: "Bash", input: { command: "true", description: "Do nothing" } });
    expect(events[2]!.data).toEqual({ toolUseId: "toolu_1", isError: false, content: "(Bash completed with no output)" });
    expect(parseAll(toolRun).at(-1)!.final).toMatchObject({ subtype: "error_max_turns", isError: true });
  });

  it("reads a budget stop with Claude Code's error text", () => {
    expect(parseAll(budgetRun).at(-1)!.final).toMatchObject({ subtype: "error_max_budget_usd", isError: true, errors: ["Reached maximum budget ($0.0001)"] });
  });

  it("bounds the usage of a result line: a few dozen models with short names, and an id-like session", () => {
    const models = Object.fromEntries(Array.from({ length: 100_000 }, (_, index) => [`m${index}`, { inputTokens: 1, costUSD: 0.5 }]));
    const line = JSON.stringify({ type: "result", subtype: "success", result: "x", session_id: "4c2e7a61-0b8e-4f0c-9d57-1c1e2b3a4d5e", modelUsage: models });
    const { usage } = parseStreamJsonLine(line).final!;
    expect(Object.keys(usage.models!)).toHaveLength(MAX_USAGE_MODELS);
    expect(Object.keys(usage.models!)).toEqual(Array.from({ length: MAX_USAGE_MODELS }, (_, index) => `m${index}`));
    expect(usage.sessionId).toBe("4c2e7a61-0b8e-4f0c-9d57-1c1e2b3a4d5e");
    expect(bytes(JSON.stringify(usage))).toBeLessThan(8 * 1024);
  });

  it.each([
    ["a long model name", { modelUsage: { [`claude-${"x".repeat(200)}`]: { inputTokens: 1 } } }, { models: null }],
    ["a model name with markup", { modelUsage: { "<img src=x onerror=alert(1)>": { inputTokens: 1 } } }, { models: null }],
    ["a model name that is empty", { modelUsage: { "": { inputTokens: 1 } } }, { models: null }],
    ["a model's usage that is not an object", { modelUsage: { "claude-x": 5 } }, { models: null }],
    ["a long session id", { session_id: "s".repeat(500) }, { sessionId: null }],
    ["a session id with spaces", { session_id: "not an id at all" }, { sessionId: null }],
    ["a session id that is not a string", { session_id: { id: 1 } }, { sessionId: null }],
  ])("keeps nothing of %s", (_name, fields, expected) => {
    const { usage } = parseStreamJsonLine(JSON.stringify({ type: "result", subtype: "success", result: "x", ...fields })).final!;
    expect(usage).toMatchObject(expected);
  });

  it("keeps at most 16 error texts of a result line, each at most 1 KiB", () => {
    const errors = Array.from({ length: 50_000 }, (_, index) => `error ${index} ${"x".repeat(index === 0 ? 5_000 : 4)}`);
    const { final } = parseStreamJsonLine(JSON.stringify({ type: "result", subtype: "error_during_execution", is_error: true, errors }));
    expect(final!.errors).toHaveLength(16);
    expect(final!.errors[0]).toMatch(/^error 0 x+$/);
    expect(bytes(final!.errors[0]!)).toBe(1024);
    expect(final!.errors[15]).toBe("error 15 xxxx");
  });

  it("bounds an init event: its session id, model and a few hundred short tool names", () => {
    const tools = [...Array.from({ length: 100_000 }, (_, index) => `Tool${index}`), "x".repeat(10_000)];
    const line = JSON.stringify({ type: "system", subtype: "init", session_id: "s".repeat(5_000), model: "m".repeat(5_000), tools });
    const [init] = parseStreamJsonLine(line).events;
    const data = init!.data as { sessionId: string | null; model: string | null; tools: string[] };
    expect(data.tools).toHaveLength(MAX_INIT_TOOLS);
    expect(data.tools.every((tool) => tool.length <= 128)).toBe(true);
    expect(data.sessionId).toBeNull();
    expect(data.model).toBeNull();
    expect(bytes(JSON.stringify(data))).toBeLessThan(16 * 1024);
  });

  it.each([
    ["an empty line", ""],
    ["plain text", "npm WARN something"],
    ["broken JSON", '{"type":"assistant",'],
    ["a JSON array", "[1,2]"],
    ["an unknown message type", '{"type":"stream_event","uuid":"u1"}'],
    ["a system message that is not init", '{"type":"system","subtype":"hook_started","uuid":"u2"}'],
    ["an assistant message without content", '{"type":"assistant","message":{},"uuid":"u3"}'],
  ])("finds no event in %s", (_name, line) => {
    expect(parseStreamJsonLine(line).events).toEqual([]);
    expect(parseStreamJsonLine(line).final).toBeNull();
  });

  it("skips blank texts and joins the text blocks of a tool result", () => {
    const assistant = parseStreamJsonLine(JSON.stringify({ type: "assistant", message: { content: [{ type: "text", text: "  \n" }, { type: "thinking", thinking: "hm" }] } }));
    expect(assistant.events).toEqual([]);
    const user = parseStreamJsonLine(
      JSON.stringify({ type: "user", message: { content: [{ type: "tool_result", tool_use_id: "t", is_error: true, content: [{ type: "text", text: "a" }, { type: "image" }, { type: "text", text: "b" }] }] } }),
    );
    expect(user.events).toEqual([{ type: "tool_result", data: { toolUseId: "t", isError: true, content: "a\n[image]\nb" } }]);
  });

  it("cuts long assistant texts to the event bound", () => {
    const text = "x".repeat(LIMITS.eventTextBytes + 10);
    const [event] = parseStreamJsonLine(JSON.stringify({ type: "assistant", message: { content: [{ type: "text", text }] } })).events;
    expect(event!.data).toMatchObject({ truncated: true });
    expect(bytes((event!.data as { text: string }).text)).toBe(LIMITS.eventTextBytes);
  });
});

describe("cutText", () => {
  it.each([
    ["short text is kept", "abc", 10, "abc", false],
    ["ASCII is cut at the byte bound", "abcdef", 4, "abcd", true],
    ["a two-byte character is never split", "ééé", 5, "éé", true],
    ["a four-byte character is never split", "🦀🦀", 6, "🦀", true],
    ["an exact fit is kept", "éé", 4, "éé", false],
  ])("%s", (_name, text, max, wanted, truncated) => {
    expect(cutText(text, max)).toEqual({ text: wanted, truncated });
  });
});

describe("ProcessLogParser", () => {
  const frame = (payload: object) => `data: ${JSON.stringify(payload)}\n\n`;
  const feed = (parser: ProcessLogParser, text: string, chunkSize: number): ProcessLogFrame[] => {
    const encoded = new TextEncoder().encode(text);
    const frames: ProcessLogFrame[] = [];
    for (let offset = 0; offset < encoded.byteLength; offset += chunkSize) frames.push(...parser.push(encoded.subarray(offset, offset + chunkSize)));
    return frames;
  };
  const stream = [
    frame({ type: "process_info", processId: "p", status: "running" }),
    frame({ type: "stdout", data: "line one\nline two é\n" }),
    frame({ type: "stderr", data: "warning\n" }),
    frame({ type: "exit", exitCode: 3, data: "Process completed with exit code 3" }),
  ].join("");
  const wanted = [
    { type: "stdout", data: "line one\nline two é\n" },
    { type: "stderr", data: "warning\n" },
    { type: "exit", exitCode: 3 },
  ];

  it.each([1, 2, 3, 7, 64, 100_000])("reads the same frames whatever the chunk size (%i bytes)", (chunkSize) => {
    expect(feed(new ProcessLogParser(), stream, chunkSize)).toEqual(wanted);
  });

  it("reads CRLF frame boundaries", () => {
    expect(feed(new ProcessLogParser(), stream.replaceAll("\n\n", "\r\n\r\n"), 5)).toEqual(wanted);
  });

  it("drops a frame over the bound whole and reports the gap, then goes on", () => {
    const big = frame({ type: "stdout", data: "y".repeat(5000) });
    const frames = feed(new ProcessLogParser(1000), big + frame({ type: "stdout", data: "after\n" }), 333);
    expect(frames[0]).toMatchObject({ type: "gap" });
    expect((frames[0] as { droppedChars: number }).droppedChars).toBeGreaterThanOrEqual(5000);
    expect(frames.slice(1)).toEqual([{ type: "stdout", data: "after\n" }]);
  });

  it("reads an exit without a code as null", () => {
    expect(feed(new ProcessLogParser(), frame({ type: "exit", exitCode: null }), 10)).toEqual([{ type: "exit", exitCode: null }]);
  });
});

describe("LineSplitter", () => {
  it("splits across chunks and keeps a last line without newline for the end", () => {
    const lines = new LineSplitter();
    expect(lines.push("a\nb")).toEqual(["a"]);
    expect(lines.push("c\n\nd")).toEqual(["bc", ""]);
    expect(lines.end()).toEqual(["d"]);
  });

  it("drops a line over the bound without buffering it, and the lines after it are whole", () => {
    const lines = new LineSplitter(10);
    expect(lines.push("x".repeat(8))).toEqual([]);
    expect(lines.push("x".repeat(8))).toEqual([]);
    expect(lines.push("xxxx\nok\n")).toEqual(["ok"]);
    expect(lines.dropped).toBe(1);
  });

  it("after a gap, drops the broken line and resumes at the next one", () => {
    const lines = new LineSplitter();
    lines.push('{"half":');
    lines.gap();
    expect(lines.push('rest of a line we never saw the start of"}\n{"whole":true}\n')).toEqual(['{"whole":true}']);
  });
});

describe("OutputTail", () => {
  it("keeps everything under the bound", () => {
    const tail = new OutputTail(100);
    tail.push("hello ");
    tail.push("world");
    expect(tail.text()).toBe("hello world");
    expect(tail.truncated).toBe(false);
  });

  it("keeps the last bytes of tens of MB, marked truncated, whatever the chunking", () => {
    const tail = new OutputTail(1000);
    for (let index = 0; index < 20_000; index++) tail.push(`${String(index).padStart(6, "0")}-${"z".repeat(1017)}\n`);
    const text = tail.text();
    expect(bytes(text)).toBeLessThanOrEqual(1000);
    expect(text.endsWith(`019999-${"z".repeat(1017)}\n`.slice(-1000))).toBe(true);
    expect(tail.truncated).toBe(true);
  });

  it("never starts inside a character", () => {
    expect(lastBytes("aé", 2)).toBe("é");
    expect(lastBytes("🦀🦀", 5)).toBe("🦀");
  });
});
