/**
 * Child processes of the scripts and tests that run servers: a free port to
 * give one, and stopping one with everything it started. Side-effect free.
 */
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Stops a process started with `detached: true` (a process group of its own)
 * and whatever it started: SIGTERM to the group, then, once it exited or after
 * `graceMs`, SIGKILL to the group for anything left (wrangler's workerd). A
 * process that already ended is left alone.
 */
export async function stopProcessGroup(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolveExit) => child.once("exit", resolveExit));
  let timer: NodeJS.Timeout | undefined;
  try {
    process.kill(-child.pid, "SIGTERM");
    await Promise.race([exited, new Promise((resolveWait) => (timer = setTimeout(resolveWait, graceMs)))]);
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  } finally {
    clearTimeout(timer);
  }
}
