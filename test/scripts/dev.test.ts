/** `npm run dev` without a Docker engine explains itself and names the stub. */
import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";

describe("npm run dev", () => {
  it.each([
    ["no docker command", null],
    ["a docker command whose daemon is down", "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n"],
  ])("with %s exits 1 naming npm run dev:stub", async (_name, dockerScript) => {
    const bin = await mkdtemp(join(tmpdir(), "no-docker-"));
    try {
      if (dockerScript) {
        await writeFile(join(bin, "docker"), dockerScript);
        await chmod(join(bin, "docker"), 0o755);
      }
      const result = spawnSync(process.execPath, ["node_modules/tsx/dist/cli.mjs", "scripts/dev.ts"], {
        encoding: "utf8",
        env: { PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: bin },
        timeout: 60_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("npm run dev:stub");
      expect(result.stderr).toMatch(dockerScript ? /daemon is not running/ : /docker command was not found/);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});
