/** Which sandbox failures mean "no container right now" (the task waits queued) rather than a broken run. */
import { describe, expect, it } from "vitest";
import { isSandboxUnavailable } from "../../worker/src/sandbox/control.js";

class NamedError extends Error {
  constructor(name: string, message = "", cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = name;
  }
}

describe("isSandboxUnavailable", () => {
  it.each([
    ["the instance limit", new Error("There is no Container instance available at this time. This is likely because you have reached your max concurrent instance count")],
    ["too many running instances", new Error("Maximum number of running container instances exceeded")],
    ["a container temporarily unavailable", new Error("Containers are temporarily unavailable")],
    ["an overloaded Durable Object", new Error("Durable Object is overloaded. Too many requests queued.")],
    ["a lost connection", new Error("Network connection lost.")],
    ["a code update", new Error("Durable Object reset because its code was updated.")],
    ["an upgraded script", new Error("This script has been upgraded. Please send a new request to connect to the new version.")],
    ["the SDK's ContainerUnavailableError by name", new NamedError("ContainerUnavailableError", "anything")],
    ["an RPC transport error by name", new NamedError("RPCTransportError", "x")],
    ["an interrupted operation by name", new NamedError("OperationInterruptedError", "x")],
    ["capacity one cause deep", new Error("startProcess failed", { cause: new Error("no container instance available") })],
    ["a named cause three deep", new Error("a", { cause: new Error("b", { cause: new NamedError("ContainerUnavailableError") }) })],
    ["a string thrown", "Network connection lost."],
  ])("%s → unavailable", (_name, error) => {
    expect(isSandboxUnavailable(error)).toBe(true);
  });

  it.each([
    ["a plain failure", new Error("image pull failed")],
    ["a failure whose cause is plain too", new Error("start failed", { cause: new Error("exec format error") })],
    ["a cause too deep to be looked at", new Error("1", { cause: new Error("2", { cause: new Error("3", { cause: new Error("4", { cause: new Error("5", { cause: new Error("no container instance") }) }) }) }) })],
    ["nothing", undefined],
    ["null", null],
  ])("%s → not unavailable", (_name, error) => {
    expect(isSandboxUnavailable(error)).toBe(false);
  });
});
