/** The waiting line: on stderr with the elapsed time when it is a terminal, nothing otherwise. */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProgress } from "../../cli/lib/progress.js";
import { type RunningStub, startDevStub } from "../fixtures/dev-stub.js";

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe("startProgress", () => {
  it("draws the elapsed time each second on a terminal and clears the line when done", async () => {
    const { stream, written } = fakeStream(true);
    const stop = startProgress("waiting", stream);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    stop();
    expect(written[0]).toBe("\rwaiting 0m00s");
    expect(written).toContain("\rwaiting 0m01s");
    expect(written.at(-1)).toBe("\r\x1b[2K");
  });

  it("writes nothing when stderr is not a terminal", async () => {
    const { stream, written } = fakeStream(false);
    const stop = startProgress("waiting", stream);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    stop();
    expect(written).toEqual([]);
  });
});

const hasScript = spawnSync("script", ["--version"]).status === 0;

describe.skipIf(!hasScript)("execute-task in a real terminal", () => {
  let stub: RunningStub;
  beforeAll(async () => {
    stub = await startDevStub();
  }, 120_000);
  afterAll(async () => {
    await stub?.stop();
  });

  it("shows the waiting line on the terminal", () => {
    const command = `${process.execPath} cli/bin.mjs execute-task ${stub.url} dev-token 'hello'`;
    const run = spawnSync("script", ["-qefc", command, "/dev/null"], { encoding: "utf8", timeout: 60_000 });
    expect(run.stdout).toContain("waiting for the task to finish 0m00s");
    expect(run.stdout).toContain('"success": true');
  });
});
