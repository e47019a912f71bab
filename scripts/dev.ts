/**
 * `npm run dev`: the Worker with real sandbox containers under `wrangler dev`.
 * Containers are built and run by the local Docker engine; without one, this
 * says so and points to `npm run dev:stub`. Secrets come from worker/.dev.vars
 * (see worker/.dev.vars.example). The web console is built first and served
 * under /console/.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { buildConsole } from "../console/build.js";
import { wranglerCommand } from "./wrangler.js";

const docker = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8", timeout: 15_000 });
if (docker.error || docker.status !== 0) {
  const reason = docker.error ? "the docker command was not found" : "the Docker daemon is not running or not reachable";
  console.error(
    [
      `npm run dev needs Docker to build and run the sandbox container, but ${reason}.`,
      "Start Docker (or install it: https://docs.docker.com/get-docker/) and run `npm run dev` again,",
      "or run `npm run dev:stub` to try the API with a stand-in sandbox that needs no Docker.",
    ].join("\n"),
  );
  process.exit(1);
}

if (!existsSync("worker/.dev.vars")) {
  console.error(
    "worker/.dev.vars is missing: copy worker/.dev.vars.example to worker/.dev.vars and set SERVER_AUTH_TOKEN and a Claude credential.",
  );
  process.exit(1);
}

await buildConsole();
const child = spawn(...wranglerCommand(["dev", "--config", "worker/wrangler.jsonc", ...process.argv.slice(2)]), {
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
