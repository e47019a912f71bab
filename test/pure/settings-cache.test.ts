/**
 * The settings are read once per bindings object (a Worker's bindings do not
 * change while its isolate lives): the same reading for every request, which
 * no caller can change, and a malformed deployment refused the same way each time.
 */
import { describe, expect, it } from "vitest";
import { readSettings, SettingsError } from "../../worker/src/settings.js";

describe("readSettings", () => {
  it("reads a bindings object once and hands every caller the same, frozen reading", () => {
    const env = { ALLOWED_HOSTS: "github.com,registry.npmjs.org", MAX_TIMEOUT_MS: "600000" };
    const first = readSettings(env);
    expect(readSettings(env)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => (first.allowedHosts as string[]).push("evil.example")).toThrow(TypeError);
    expect(readSettings(env).allowedHosts).toEqual(["api.anthropic.com", "github.com", "registry.npmjs.org"]);
  });

  it("reads another bindings object afresh: a deployment with other settings gets its own", () => {
    expect(readSettings({ MAX_TIMEOUT_MS: "600000" }).maxTimeoutMs).toBe(600_000);
    expect(readSettings({ MAX_TIMEOUT_MS: "900000" }).maxTimeoutMs).toBe(900_000);
  });

  it("refuses malformed settings every time, naming the variables", () => {
    const env = { MAX_TIMEOUT_MS: "soon", QUEUE_TIMEOUT_MS: "-1" };
    for (let attempt = 0; attempt < 2; attempt++) {
      let thrown: unknown;
      try {
        readSettings(env);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SettingsError);
      expect((thrown as SettingsError).variables).toEqual(["MAX_TIMEOUT_MS", "QUEUE_TIMEOUT_MS"]);
    }
  });
});
