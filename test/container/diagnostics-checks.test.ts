/**
 * The first-deploy check's commands run through a real bash with a stand-in
 * `curl`, and what they print is judged: each check passes on what a healthy
 * container shows and fails, saying what it saw, on each problem.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blockedHost,
  DOOR_PROBE_URL,
  hostAllowed,
  judgeAllowedHost,
  judgeAnthropicDoor,
  judgeBlockedHost,
  judgeEnvironment,
  probeCommand,
  reachableHost,
  readProbe,
} from "../../worker/src/diagnostics/checks.js";
import { checkRoute } from "../../worker/src/egress/anthropic-rules.js";
import { runProcess } from "./fixtures/run-command.js";

let binDir: string;

beforeAll(async () => {
  binDir = await mkdtemp(join(tmpdir(), "diagnostics-curl-"));
  // A stand-in curl: writes CURL_BODY to the -o file and prints CURL_STATUS (or fails like curl with no answer).
  await writeFile(
    join(binDir, "curl"),
    `#!/bin/bash\nout=""; while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift;; esac; shift; done\nprintf '%s' "$CURL_BODY" > "$out"\nif [ -z "$CURL_STATUS" ]; then printf '000'; exit 28; fi\nprintf '%s' "$CURL_STATUS"\n`,
  );
  await chmod(join(binDir, "curl"), 0o755);
});

afterAll(async () => {
  await rm(binDir, { recursive: true, force: true });
});

async function probe(command: string, answer: { status?: string; body?: string }) {
  const outcome = await runProcess("bash", ["-c", command], { env: { PATH: `${binDir}:/usr/bin:/bin`, CURL_STATUS: answer.status ?? "", CURL_BODY: answer.body ?? "" } });
  expect(outcome.exitCode).toBe(0);
  return readProbe(outcome.stdout);
}

describe("a probe through bash", () => {
  it.each([
    ["an answer", { status: "200", body: "" }, { status: 200, body: "" }],
    ["an answer with a JSON body", { status: "403", body: '{"error":"x","code":"route_not_allowed"}' }, { status: 403, body: '{"error":"x","code":"route_not_allowed"}' }],
    ["no answer", {}, { status: null, body: "" }],
  ])("reads %s", async (_name, answer, expected) => {
    expect(await probe(probeCommand("allowed_host", "HEAD", "https://registry.npmjs.org/"), answer)).toEqual(expected);
  });
});

describe("the hosts the checks use", () => {
  it.each([
    [["api.anthropic.com", "github.com", "registry.npmjs.org"], "github.com", "example.com"],
    [["api.anthropic.com", "*.example.com", "example.com", "pypi.org"], "example.com", "example.net"],
    [["api.anthropic.com", "*.npmjs.org"], null, "example.com"],
  ] as const)("from %j: reaches %s, expects %s refused", (allowed, reachable, blocked) => {
    expect(reachableHost(allowed)).toBe(reachable);
    expect(blockedHost(allowed)).toBe(blocked);
  });

  it("matches wildcards as the egress filter does", () => {
    expect(hostAllowed("a.example.com", ["*.example.com"])).toBe(true);
    expect(hostAllowed("example.com", ["*.example.com"])).toBe(false);
    expect(hostAllowed("badexample.com", ["*.example.com"])).toBe(false);
  });
});

describe("judging what the container saw", () => {
  it.each([
    ["an allowed host that answered", judgeAllowedHost("github.com", { status: 301 }), true, /answered HTTP 301/],
    ["an allowed host that did not", judgeAllowedHost("github.com", { status: null }), false, /did not answer/],
    ["a blocked host with no answer", judgeBlockedHost("example.com", { status: null }), true, /refused/],
    ["a blocked host refused with 403", judgeBlockedHost("example.com", { status: 403 }), true, /refused with HTTP 403/],
    ["a blocked host that answered", judgeBlockedHost("example.com", { status: 200 }), false, /was reached/],
    ["the door's refusal", judgeAnthropicDoor({ status: 403, body: '{"error":"…","code":"route_not_allowed"}' }), true, /route_not_allowed/],
    ["the API's own 401 (interception not firing)", judgeAnthropicDoor({ status: 401, body: '{"type":"error"}' }), false, /past the door/],
    ["a 403 without the door's code", judgeAnthropicDoor({ status: 403, body: "forbidden" }), false, /past the door/],
    ["no answer from the API", judgeAnthropicDoor({ status: null, body: "" }), false, /did not answer/],
  ])("%s", (_name, judged, ok, saw) => {
    expect(judged.ok).toBe(ok);
    expect(judged.saw).toMatch(saw);
  });

  const SECRET = "fake-oauth-diagnostics-credential";
  it.each([
    ["a placeholder", `CLAUDE_CODE_OAUTH_TOKEN=injected-by-claude-sandbox-proxy\nIS_SANDBOX=1`, "proxy", true, /no credential in the 2 variables/],
    ["the real credential", `CLAUDE_CODE_OAUTH_TOKEN=${SECRET}\nIS_SANDBOX=1`, "proxy", false, /: CLAUDE_CODE_OAUTH_TOKEN$/],
    ["the credential passed in by configuration", `CLAUDE_CODE_OAUTH_TOKEN=${SECRET}`, "env", false, /credentialMode is env/],
    ["the credential inside another variable", `NOTE=x${SECRET}y\nPATH=/bin`, "proxy", false, /: NOTE$/],
  ] as const)("judges an environment with %s", (_name, environment, mode, ok, saw) => {
    const judged = judgeEnvironment(environment, [SECRET], mode);
    expect(judged.ok).toBe(ok);
    expect(judged.saw).toMatch(saw);
    expect(judged.saw).not.toContain(SECRET);
  });

  it.each(["oauth", "apiKey"] as const)("probes the door with a request its rules refuse with %s, so no tokens are ever spent", (kind) => {
    expect(checkRoute("GET", new URL(DOOR_PROBE_URL), kind)).toEqual({ refused: "route_not_allowed" });
  });
});
