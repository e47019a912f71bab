/**
 * The Worker under test, with a scripted stand-in for the Sandbox Durable
 * Object (the container boundary is the only stand-in). Tests queue what the
 * next sandbox does and read back what happened; the stand-in runs in the same
 * isolate as the tests, so both see this module's state.
 */
import worker from "../../worker/src/index.js";
import { StubSandbox, type StubExecOptions, type StubExecResult } from "../../worker/dev/stub-sandbox.js";

export default worker;

/** What the next sandbox does when asked to exec. */
export type ExecBehavior =
  | { kind: "echo" }
  | { kind: "result"; exitCode: number; stdout: string; stderr?: string }
  | { kind: "throw"; message: string }
  | { kind: "hang" };

export const script = {
  exec: [] as ExecBehavior[],
  destroy: "ok" as "ok" | "throw",
};

export interface RecordedExec {
  sandboxId: string;
  command: string;
  options: StubExecOptions | undefined;
}

export const events = {
  execs: [] as RecordedExec[],
  /** Durable Object ids (hex) of destroyed sandboxes. */
  destroyed: [] as string[],
};

export function resetSandboxScript(): void {
  script.exec = [];
  script.destroy = "ok";
  events.execs = [];
  events.destroyed = [];
}

export class Sandbox extends StubSandbox {
  #release: ((error: Error) => void) | undefined;

  override async destroy(): Promise<void> {
    events.destroyed.push(this.ctx.id.toString());
    this.#release?.(new Error("Container was destroyed"));
    if (script.destroy === "throw") throw new Error("destroy failed: control plane unreachable");
  }

  protected override async run(command: string, options?: StubExecOptions): Promise<StubExecResult> {
    events.execs.push({ sandboxId: this.ctx.id.toString(), command, options });
    const behavior = script.exec.shift() ?? { kind: "echo" };
    switch (behavior.kind) {
      case "echo":
        return super.run(command, options);
      case "result":
        return {
          success: behavior.exitCode === 0,
          exitCode: behavior.exitCode,
          stdout: behavior.stdout,
          stderr: behavior.stderr ?? "",
          command,
          duration: 1,
          timestamp: new Date().toISOString(),
        };
      case "throw":
        throw new Error(behavior.message);
      case "hang":
        // Like a real container, the exec ends only when the sandbox is destroyed.
        return new Promise((_, reject) => {
          this.#release = reject;
        });
    }
  }
}
