/**
 * Hostile bodies, ids and queries are refused with a stable code before
 * anything runs or is stored, and never echoed or logged.
 */
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../worker/src/contract.js";
import { sandboxEvents, taskEvents } from "./harness.js";
import { auth, call, callWithEnv, captureLogs, execute, freshState, jsonHeaders, postWithEnv, storedKeys, storedResult, submit } from "./helpers.js";

freshState();
const logs = captureLogs();

/** An accepted request (200 from /execute, 202 from /tasks), once its task's result is stored. */
async function settled(response: Response): Promise<void> {
  expect([200, 202]).toContain(response.status);
  await storedResult(((await response.json()) as { taskId: string }).taskId);
}

async function expectRejected(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>;
  expect({ status: response.status, code: body.code }).toEqual({ status, code });
  expect(typeof body.error).toBe("string");
  expect(body).not.toHaveProperty("taskId");
  // Nothing ran.
  expect(sandboxEvents.starts).toEqual([]);
  return body;
}

describe.each([
  ["POST /execute", execute],
  ["POST /tasks", submit],
])("%s rejects hostile bodies", (name, send) => {
  const route = () => (name === "POST /execute" ? "/execute" : "/tasks");

  it.each([
    ["empty body", "", "invalid_json"],
    ["malformed JSON", "{task: 'x'}", "invalid_json"],
    ["truncated JSON", '{"task": "wri', "invalid_json"],
    ["trailing garbage", '{"task": "x"} {}', "invalid_json"],
    ["a JSON array", '["task"]', "invalid_body"],
    ["an array of objects", '[{"task": "x"}]', "invalid_body"],
    ["JSON null", "null", "invalid_body"],
    ["a JSON number", "42", "invalid_body"],
    ["a JSON string", '"task"', "invalid_body"],
    ["JSON true", "true", "invalid_body"],
    ["an empty object", "{}", "task_required"],
    ["a null task", '{"task": null}', "task_required"],
    ["an empty task", '{"task": ""}', "task_required"],
    ["a blank task", '{"task": "   "}', "task_required"],
    ["a task of newlines and tabs", '{"task": "\\n\\t\\r\\n"}', "task_required"],
    ["a numeric task", '{"task": 42}', "invalid_task"],
    ["a boolean task", '{"task": true}', "invalid_task"],
    ["an array task", '{"task": ["a", "b"]}', "invalid_task"],
    ["a nested task", '{"task": {"text": "x"}}', "invalid_task"],
    ["a task with NUL", '{"task": "a\\u0000b"}', "invalid_task"],
    ["a task with a lone surrogate", '{"task": "a\\ud800b"}', "invalid_task"],
    ["an oversize task", JSON.stringify({ task: "x".repeat(LIMITS.maxTaskLength + 1) }), "task_too_long"],
    ["a string timeout", '{"task": "x", "timeout": "1000"}', "invalid_timeout"],
    ["a fractional timeout", '{"task": "x", "timeout": 1500.5}', "invalid_timeout"],
    ["a zero timeout", '{"task": "x", "timeout": 0}', "invalid_timeout"],
    ["a negative timeout", '{"task": "x", "timeout": -5000}', "invalid_timeout"],
    ["a timeout under the minimum", '{"task": "x", "timeout": 999}', "invalid_timeout"],
    ["a timeout over the configured maximum", '{"task": "x", "timeout": 600001}', "invalid_timeout"],
    ["a huge timeout", '{"task": "x", "timeout": 1e300}', "invalid_timeout"],
    ["a null timeout", '{"task": "x", "timeout": null}', "invalid_timeout"],
    ["an object timeout", '{"task": "x", "timeout": {"ms": 1000}}', "invalid_timeout"],
    ["an unknown field", '{"task": "x", "verbose": true}', "unknown_field"],
    ["a __proto__ field", '{"task": "x", "__proto__": {"admin": true}}', "unknown_field"],
    ["a constructor field", '{"task": "x", "constructor": {"prototype": {}}}', "unknown_field"],
    ["a misspelt field", '{"task": "x", "timeOut": 1000}', "unknown_field"],
    ["a bad permission mode", '{"task": "x", "permissionMode": "yolo"}', "invalid_permission_mode"],
    ["a flag as permission mode", '{"task": "x", "permissionMode": "--dangerously-skip-permissions"}', "invalid_permission_mode"],
    ["a permission mode in the wrong case", '{"task": "x", "permissionMode": "BYPASSPERMISSIONS"}', "invalid_permission_mode"],
    ["a numeric permission mode", '{"task": "x", "permissionMode": 1}', "invalid_permission_mode"],
    ["a model that is a flag", '{"task": "x", "model": "--help"}', "invalid_model"],
    ["a model with a shell command", '{"task": "x", "model": "sonnet; rm -rf /"}', "invalid_model"],
    ["an empty model", '{"task": "x", "model": ""}', "invalid_model"],
    ["a zero maxTurns", '{"task": "x", "maxTurns": 0}', "invalid_max_turns"],
    ["a fractional maxTurns", '{"task": "x", "maxTurns": 2.5}', "invalid_max_turns"],
    ["a string maxTurns", '{"task": "x", "maxTurns": "3"}', "invalid_max_turns"],
    ["a maxTurns over the limit", `{"task": "x", "maxTurns": ${LIMITS.maxTurns + 1}}`, "invalid_max_turns"],
    ["a zero maxBudgetUsd", '{"task": "x", "maxBudgetUsd": 0}', "invalid_max_budget"],
    ["a negative maxBudgetUsd", '{"task": "x", "maxBudgetUsd": -1}', "invalid_max_budget"],
    ["a string maxBudgetUsd", '{"task": "x", "maxBudgetUsd": "5"}', "invalid_max_budget"],
    ["a maxBudgetUsd over the cap", `{"task": "x", "maxBudgetUsd": ${LIMITS.maxBudgetUsd + 1}}`, "invalid_max_budget"],
    ["a callbackUrl with a shell command", '{"task": "x", "callbackUrl": "https://x.example/$(id)` `"}', "invalid_callback_url"],
    ["a javascript: callbackUrl", '{"task": "x", "callbackUrl": "javascript:alert(1)"}', "invalid_callback_url"],
    ["a file: callbackUrl", '{"task": "x", "callbackUrl": "file:///etc/passwd"}', "invalid_callback_url"],
  ])("%s → 400", async (_name, body, code) => {
    await expectRejected(await send(body), 400, code);
    // No task was accepted: the task index was told of none.
    expect(taskEvents.indexed).toEqual([]);
  });

  it("names unknown fields without echoing their values", async () => {
    const body = await expectRejected(await send({ task: "x", secretive: "value-not-to-echo" }), 400, "unknown_field");
    expect(body.details).toEqual({
      fields: ["secretive"],
      allowed: ["task", "timeout", "model", "maxTurns", "permissionMode", "maxBudgetUsd", "callbackUrl", "repo", "branch", "push", "pullRequest", "continueFrom"],
    });
    expect(JSON.stringify(body)).not.toContain("value-not-to-echo");
  });

  it("says the allowed range of a bad timeout", async () => {
    const body = await expectRejected(await send({ task: "x", timeout: 5 }), 400, "invalid_timeout");
    expect(body.details).toEqual({ min: 1000, max: 600000 });
  });

  it("reports the first bad field in field order, whatever the body's order", async () => {
    const body = await expectRejected(await send('{"callbackUrl": "ftp://x", "maxTurns": 0, "timeout": 1}'), 400, "task_required");
    expect(body.code).toBe("task_required");
    await expectRejected(await send('{"callbackUrl": "ftp://x", "maxTurns": 0, "timeout": 1, "task": "x"}'), 400, "invalid_timeout");
    await expectRejected(await send('{"callbackUrl": "ftp://x", "maxTurns": 0, "task": "x"}'), 400, "invalid_max_turns");
    await expectRejected(await send('{"callbackUrl": "ftp://x", "maxBudgetUsd": -1, "task": "x"}'), 400, "invalid_max_budget");
  });

  it("accepts a task of exactly the maximum length", async () => {
    await settled(await send({ task: "y".repeat(LIMITS.maxTaskLength) }));
  });

  it("rejects a body over the size limit with 413", async () => {
    const body = JSON.stringify({ task: "x", pad: "p".repeat(LIMITS.maxBodyBytes) });
    await expectRejected(await send(body), 413, "body_too_large");
  });

  it("rejects a large streamed body without Content-Length with 413", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= LIMITS.maxBodyBytes + chunk.byteLength) controller.close();
        else {
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        }
      },
    });
    const response = await call(route(), { method: "POST", headers: jsonHeaders(), body: stream });
    await expectRejected(response, 413, "body_too_large");
    // Reading stopped at the limit: the rest of the stream was never pulled.
    expect(sent).toBeLessThanOrEqual(LIMITS.maxBodyBytes + 2 * chunk.byteLength);
  });

  it("rejects a Content-Length over the limit before reading the body", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(1024));
      },
    });
    const response = await call(route(), {
      method: "POST",
      headers: { ...jsonHeaders(), "content-length": String(LIMITS.maxBodyBytes + 1) },
      body,
    });
    await expectRejected(response, 413, "body_too_large");
    // At most what the runtime buffers on its own: the handler read nothing.
    expect(pulled).toBeLessThanOrEqual(2);
  });

  it("rejects a body that is not UTF-8", async () => {
    const response = await call(route(), {
      method: "POST",
      headers: jsonHeaders(),
      body: new Uint8Array([0x7b, 0x22, 0x74, 0x61, 0x73, 0x6b, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });
    await expectRejected(response, 400, "invalid_json");
  });

  it.each([
    ["no content type", {}],
    ["text/plain", { "content-type": "text/plain" }],
    ["form data", { "content-type": "application/x-www-form-urlencoded" }],
    ["multipart", { "content-type": "multipart/form-data; boundary=x" }],
    ["json-ish text", { "content-type": "text/json" }],
  ])("rejects %s with 415", async (_name, headers) => {
    const response = await call(route(), { method: "POST", headers: { ...auth(), ...headers }, body: '{"task":"x"}' });
    await expectRejected(response, 415, "unsupported_media_type");
  });

  it.each([["application/json; charset=utf-8"], ["Application/JSON"], ["application/vnd.api+json"]])(
    "accepts the content type %s",
    async (contentType) => {
      const response = await call(route(), {
        method: "POST",
        headers: { ...auth(), "content-type": contentType },
        body: '{"task":"x"}',
      });
      await settled(response);
    },
  );

  it("checks the token before anything else", async () => {
    const response = await call(route(), { method: "POST", headers: { "content-type": "text/plain" }, body: "[" });
    expect(response.status).toBe(401);
  });

  it("never logs, echoes or stores the body of a rejected request", async () => {
    const marker = "HOSTILE-MARKER-$(id)";
    const keysBefore = await storedKeys();
    const answers = [await send(`{"task": "${marker}", "oops": 1}`), await send(`{"task": "${marker}`), await send({ task: marker, timeout: -1 })];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(await answer.text()).not.toContain("HOSTILE-MARKER");
    }
    expect(logs.lines().length).toBeGreaterThanOrEqual(3);
    expect(logs.lines().join("\n")).not.toContain("HOSTILE-MARKER");
    expect(await storedKeys()).toEqual(keysBefore);
    expect(sandboxEvents.starts).toEqual([]);
  });
});

const hostileIds: [string, string][] = [
    ["an encoded ../", "..%2F..%2Fsecret"],
    ["an encoded ../ with the result suffix", "%2E%2E%2F%2E%2E%2Ftasks%2Fx"],
    ["a double-encoded ../", "%252e%252e%252f"],
    ["a NUL byte", "3f1c1c3e-5a7b-4c8d-9e0f-112233445566%00"],
    ["a bare NUL", "%00"],
    ["a very long id", "a".repeat(5000)],
    ["a UUID without dashes", "3f1c1c3e5a7b4c8d9e0f112233445566"],
    ["a UUID with braces", "%7B3f1c1c3e-5a7b-4c8d-9e0f-112233445566%7D"],
    ["a UUID with a trailing space", "3f1c1c3e-5a7b-4c8d-9e0f-112233445566%20"],
    ["a non-hex UUID", "zf1c1c3e-5a7b-4c8d-9e0f-112233445566"],
    ["a prefix wildcard", "*"],
    ["a key prefix", "tasks%2F"],
    ["a unicode id", "%E2%80%AE3f1c1c3e-5a7b-4c8d-9e0f-112233445566"],
];

const idRoutes: [string, string, (id: string) => string][] = [
  ["GET", "status", (id) => `/tasks/${id}`],
  ["GET", "events", (id) => `/tasks/${id}/events`],
  ["POST", "cancel", (id) => `/tasks/${id}/cancel`],
  ["GET", "result", (id) => `/tasks/${id}/result`],
];

describe.each(idRoutes)("%s /tasks/:taskId (%s) rejects hostile ids before touching storage", (method, _name, path) => {
  it.each(hostileIds)("%s → 400 invalid_task_id", async (_name, id) => {
    const response = await call(path(id), { method, headers: auth() });
    const body = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, code: body.code }).toEqual({ status: 400, code: "invalid_task_id" });
    expect(body.error).toBe("Task id must be a UUID");
  });

  it("never calls the bucket or a Durable Object for a hostile id", async () => {
    const { calls, overrides } = recordingStorage();
    for (const [, id] of hostileIds) {
      const response = await callWithEnv(path(id), { method, headers: auth() }, overrides);
      expect(response.status).toBe(400);
    }
    expect(calls).toEqual([]);
  });

  it.each([
    ["a plain ../ (normalised away by URL parsing)", "/tasks/../secret/result"],
    ["an extra segment", "/tasks/a/b/result"],
  ])("%s is a 404 that never reaches storage", async (_name, path) => {
    const response = await call(path, { headers: auth() });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { code: string }).code).toBe("not_found");
    const { calls, overrides } = recordingStorage();
    const recorded = await callWithEnv(path, { headers: auth() }, overrides);
    expect(recorded.status).toBe(404);
    expect(((await recorded.json()) as { code: string }).code).toBe("not_found");
    expect(calls).toEqual([]);
  });
});

/** Bindings for the bucket and the Durable Objects that record any use and fail it. */
function recordingStorage(): { calls: string[]; overrides: Parameters<typeof callWithEnv>[2] } {
  const calls: string[] = [];
  const recording = <T extends object>(name: string) =>
    new Proxy({} as T, {
      get: (_target, member) => () => {
        calls.push(`${name}.${String(member)}`);
        throw new Error("storage must not be touched");
      },
    });
  return {
    calls,
    overrides: {
      RESULTS: recording<R2Bucket>("RESULTS"),
      TASKS: recording("TASKS"),
      TASK_INDEX: recording("TASK_INDEX"),
      BRANCH_QUEUES: recording("BRANCH_QUEUES"),
    },
  };
}

describe("the deployment's cap on maxBudgetUsd (MAX_BUDGET_USD)", () => {
  it("refuses a budget over the cap with 400 invalid_max_budget naming the cap", async () => {
    const response = await postWithEnv("/tasks", { task: "x", maxBudgetUsd: 2.5 }, { MAX_BUDGET_USD: "2" });
    const body = await expectRejected(response, 400, "invalid_max_budget");
    expect(body.details).toEqual({ max: 2 });
  });

  it("accepts a budget at the cap, and passes it to Claude Code", async () => {
    const response = await postWithEnv("/tasks", { task: "x", maxBudgetUsd: 2 }, { MAX_BUDGET_USD: "2" });
    expect(response.status).toBe(202);
    await settled(response);
    expect(sandboxEvents.starts[0]!.command).toContain("'--max-budget-usd' '2'");
  });
});
