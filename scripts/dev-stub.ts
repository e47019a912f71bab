/**
 * `npm run dev:stub [-- --port N] [--state dir] [--rate-limit N]`: the real Worker API on 127.0.0.1 with the
 * stand-in sandbox (worker/dev/stub-sandbox.ts) instead of containers: no
 * Docker, no Cloudflare account, no Claude credential. The bearer token is
 * SERVER_AUTH_TOKEN when set, else `dev-token`; the webhook signing secret is
 * WEBHOOK_SECRET when set, else a fixed development secret (said on start), and
 * `callbackUrl` may be plain http to localhost. The web console is built first
 * and served under /console/. Repository tasks may push and open pull requests:
 * against a stand-in GitHub on this machine (scripts/stub-github.ts). With
 * ACCESS_TEAM_DOMAIN and ACCESS_AUDIENCE set, the API lets in requests with a
 * valid Cloudflare Access assertion, as a deployment behind Access does.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildConsole } from "../console/build.js";
import { freePort } from "./processes.js";
import { stubWranglerConfig } from "./stub-config.js";
import { STUB_GITHUB_TOKEN, STUB_PULL_REQUEST_ORIGIN, startStubGitHub } from "./stub-github.js";
import { DEV_TOKEN, DEV_WEBHOOK_SECRET, stubVars, varArguments } from "./stub-vars.js";
import { wranglerCommand, wranglerNode } from "./wrangler.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    ip: { type: "string", default: "127.0.0.1" },
    // Where the local R2 and Durable Object data live; separate runs need separate directories.
    state: { type: "string", default: ".wrangler/state-stub" },
    // Tasks a token may create per minute (worker/wrangler.jsonc's, 60, when not given).
    "rate-limit": { type: "string" },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`dev:stub: --port must be an integer from 1 to 65535, got "${values.port}"`);
  process.exit(2);
}

const rateLimit = values["rate-limit"] === undefined ? undefined : Number(values["rate-limit"]);
if (rateLimit !== undefined && !(Number.isInteger(rateLimit) && rateLimit >= 1)) {
  console.error(`dev:stub: --rate-limit must be a positive integer, got "${values["rate-limit"]}"`);
  process.exit(2);
}
// With another rate limit, wrangler runs a copy of worker/wrangler.jsonc that has it.
let config = "worker/wrangler.jsonc";
if (rateLimit !== undefined) {
  mkdirSync(values.state, { recursive: true });
  config = resolve(values.state, "wrangler.json");
  writeFileSync(config, JSON.stringify(stubWranglerConfig(rateLimit), null, 2));
}

// A Node wrangler can run on, chosen (and fetched if need be) before anything starts.
try {
  wranglerNode();
} catch (error) {
  console.error(`dev:stub: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const fromEnvironment = Boolean(process.env.SERVER_AUTH_TOKEN);
const token = process.env.SERVER_AUTH_TOKEN || DEV_TOKEN;
const webhookSecret = process.env.WEBHOOK_SECRET || DEV_WEBHOOK_SECRET;

await buildConsole();
// Repository tasks push and open pull requests against a stand-in GitHub on this machine.
const github = await startStubGitHub();
// The token chosen through SERVER_AUTH_TOKEN is not printed, and the terminal the user tries it from may not have the variable: a placeholder says what to put.
const shownToken = fromEnvironment ? "<your SERVER_AUTH_TOKEN>" : token;
const base = `http://${values.ip}:${port}`;
console.error(
  [
    `claude-sandbox dev stub: ${base} (stand-in sandbox, no container, no Claude)`,
    `Web console: ${base}/console/`,
    `GitHub: a stand-in on this machine (${github.apiUrl}): --push and --pr work, and pull requests are opened at ${STUB_PULL_REQUEST_ORIGIN}/… (nothing reaches GitHub)`,
    fromEnvironment ? "Bearer token: the value of SERVER_AUTH_TOKEN" : `Bearer token: ${DEV_TOKEN} (set SERVER_AUTH_TOKEN to choose another)`,
    process.env.WEBHOOK_SECRET ? "Webhook secret: the value of WEBHOOK_SECRET" : `Webhook secret: ${DEV_WEBHOOK_SECRET} (set WEBHOOK_SECRET to choose another)`,
    `Try, in another terminal: curl -s -X POST ${base}/tasks -H "Authorization: Bearer ${shownToken}" -H "Content-Type: application/json" -d '{"task":"What is 2 + 2?"}'`,
    `then: curl -sN ${base}/tasks/<taskId>/events -H "Authorization: Bearer ${shownToken}" -H "Accept: text/event-stream"`,
    `or with the CLI: CLAUDE_SANDBOX_URL=${base} CLAUDE_SANDBOX_TOKEN=${shownToken} node cli/bin.mjs execute-task "What is 2 + 2?"`,
  ].join("\n"),
);

const child = spawn(
  ...wranglerCommand([
    "dev",
    "worker/dev/stub-entry.ts",
    "--config",
    config,
    "--enable-containers=false",
    "--ip",
    values.ip,
    "--port",
    String(port),
    "--persist-to",
    values.state,
    // A free port for the debugger inspector: wrangler's default 9229 clashes between stubs.
    "--inspector-port",
    String(await freePort()),
    "--show-interactive-dev-session=false",
    ...varArguments(stubVars(token, webhookSecret, process.env.STUB_DIAGNOSTICS_FAIL)),
    ...varArguments({ GITHUB_TOKEN: STUB_GITHUB_TOKEN, GITHUB_API_URL: github.apiUrl }),
    // Cloudflare Access in front of the stub, when both are set (a loopback http:// team origin serves the keys locally).
    ...varArguments(
      process.env.ACCESS_TEAM_DOMAIN && process.env.ACCESS_AUDIENCE
        ? { ACCESS_TEAM_DOMAIN: process.env.ACCESS_TEAM_DOMAIN, ACCESS_AUDIENCE: process.env.ACCESS_AUDIENCE }
        : {},
    ),
  ]),
  {
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  void github.close().finally(() => process.exit(code ?? (signal ? 1 : 0)));
});
