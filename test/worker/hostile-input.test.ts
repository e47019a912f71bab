import { describe, expect, it } from "vitest";
import { LIMITS } from "../../worker/src/contract.js";
import { events } from "./harness.js";
import { auth, call, callWithEnv, captureLogs, execute, freshState, jsonHeaders, storedKeys } from "./helpers.js";

freshState();
const logs = captureLogs();

async function expectRejected(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>;
  expect({ status: response.status, code: body.code }).toEqual({ status, code });
  expect(typeof body.error).toBe("string");
  // Nothing ran and nothing was stored.
  expect(events.execs).toEqual([]);
  expect(await storedKeys()).toEqual([]);
  return body;
}

describe("POST /execute rejects hostile bodies", () => {
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
  ])("%s → 400", async (_name, body, code) => {
    await expectRejected(await execute(body), 400, code);
  });

  it("names unknown fields without echoing their values", async () => {
    const body = await expectRejected(await execute({ task: "x", secretive: "value-not-to-echo" }), 400, "unknown_field");
    expect(body.details).toEqual({ fields: ["secretive"], allowed: ["task", "timeout", "model", "maxTurns", "permissionMode"] });
    expect(JSON.stringify(body)).not.toContain("value-not-to-echo");
  });

  it("says the allowed range of a bad timeout", async () => {
    const body = await expectRejected(await execute({ task: "x", timeout: 5 }), 400, "invalid_timeout");
    expect(body.details).toEqual({ min: 1000, max: 600000 });
  });

  it("accepts a task of exactly the maximum length", async () => {
    const response = await execute({ task: "y".repeat(LIMITS.maxTaskLength) });
    expect(response.status).toBe(200);
  });

  it("rejects a body over the size limit with 413", async () => {
    const body = JSON.stringify({ task: "x", pad: "p".repeat(LIMITS.maxBodyBytes) });
    await expectRejected(await execute(body), 413, "body_too_large");
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
    const response = await call("/execute", { method: "POST", headers: jsonHeaders(), body: stream });
    await expectRejected(response, 413, "body_too_large");
  });

  it("rejects a Content-Length over the limit before reading", async () => {
    const response = await call("/execute", {
      method: "POST",
      headers: { ...jsonHeaders(), "content-length": String(LIMITS.maxBodyBytes + 1) },
      body: "x".repeat(LIMITS.maxBodyBytes + 1),
    });
    await expectRejected(response, 413, "body_too_large");
  });

  it("rejects a body that is not UTF-8", async () => {
    const response = await call("/execute", {
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
    const response = await call("/execute", { method: "POST", headers: { ...auth(), ...headers }, body: '{"task":"x"}' });
    await expectRejected(response, 415, "unsupported_media_type");
  });

  it.each([["application/json; charset=utf-8"], ["Application/JSON"], ["application/vnd.api+json"]])(
    "accepts the content type %s",
    async (contentType) => {
      const response = await call("/execute", {
        method: "POST",
        headers: { ...auth(), "content-type": contentType },
        body: '{"task":"x"}',
      });
      expect(response.status).toBe(200);
    },
  );

  it("checks the token before anything else", async () => {
    const response = await call("/execute", { method: "POST", headers: { "content-type": "text/plain" }, body: "[" });
    expect(response.status).toBe(401);
  });

  it("never logs or echoes the body of a rejected request", async () => {
    const marker = "HOSTILE-MARKER-$(id)";
    await execute(`{"task": "${marker}", "oops": 1}`);
    await execute(`{"task": "${marker}`);
    expect(logs.lines().join("\n")).not.toContain("HOSTILE-MARKER");
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

describe("GET /tasks/:taskId/result rejects hostile ids before touching storage", () => {
  it.each(hostileIds)("%s → 400 invalid_task_id", async (_name, id) => {
    const response = await call(`/tasks/${id}/result`, { headers: auth() });
    const body = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, code: body.code }).toEqual({ status: 400, code: "invalid_task_id" });
    expect(body.error).toBe("Task id must be a UUID");
  });

  it("never calls the bucket for a hostile id", async () => {
    const calls: string[] = [];
    const recordingBucket = new Proxy({} as R2Bucket, {
      get: (_target, method) => () => {
        calls.push(String(method));
        throw new Error("storage must not be touched");
      },
    });
    for (const [, id] of hostileIds) {
      const response = await callWithEnv(`/tasks/${id}/result`, { headers: auth() }, { RESULTS: recordingBucket });
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
  });
});
