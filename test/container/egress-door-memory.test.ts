/**
 * The Anthropic door's work is bounded by the body's shape, not only its size:
 * run in a Node process whose heap is capped at 128 MB (a Worker isolate's
 * memory), the worst bodies within the size limit (16 MiB of tiny values,
 * nesting 10,000 deep) are refused with a JSON answer and their own code, and
 * bodies at the bounds are still forwarded.
 */
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runProcess } from "./fixtures/run-command.js";

const FIXTURE = resolve("test/container/fixtures/door-under-memory-cap.ts");

/** What the door answered for one named body, in a process with a 128 MB heap. */
async function doorUnderCap(body: string): Promise<{ exitCode: number | null; answer: Record<string, unknown> | null; stderr: string }> {
  const outcome = await runProcess(process.execPath, ["--max-old-space-size=128", "--import", "tsx", FIXTURE, body], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  const line = outcome.stdout.trim().split("\n").at(-1) ?? "";
  return { exitCode: outcome.exitCode, answer: line.startsWith("{") ? (JSON.parse(line) as Record<string, unknown>) : null, stderr: outcome.stderr.slice(-2_000) };
}

describe("the Anthropic door under a 128 MB heap", () => {
  it.each([
    ["tiny values", 413, "body_too_many_values"],
    ["10,000-deep nesting", 400, "body_too_deep"],
    ["values past the bound", 413, "body_too_many_values"],
    ["nesting past the bound", 400, "body_too_deep"],
  ])("refuses %s with a JSON answer, never running out of memory or throwing", async (body, status, code) => {
    const { exitCode, answer, stderr } = await doorUnderCap(body);
    expect({ exitCode, answer }, stderr).toEqual({ exitCode: 0, answer: { status, code, forwarded: false } });
  }, 60_000);

  it.each(["values at the bound", "nesting at the bound"])("forwards a body with %s", async (body) => {
    const { exitCode, answer, stderr } = await doorUnderCap(body);
    expect({ exitCode, answer }, stderr).toEqual({ exitCode: 0, answer: { status: 200, code: null, forwarded: true } });
  }, 60_000);
});
