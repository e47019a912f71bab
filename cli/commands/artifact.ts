/**
 * `artifact [url] [token] <taskId> <name> [--output file]`: an artifact a
 * repository task stored (`changes.patch`), byte for byte: on stdout as it is,
 * the one output of the CLI that is not JSON, or written to a file with a JSON
 * summary on stdout. A failure is JSON on stdout as everywhere (exit 1):
 * `artifact_not_found`, or `task_not_finished` while the task runs.
 */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ARTIFACTS, type ArtifactName } from "../../worker/src/contract.js";
import { API_TIMEOUT_MS, taskPath } from "../lib/api.js";
import { httpFailure, parseBody, requestBytes, UnreachableError, unreachable } from "../lib/http.js";
import { type CommandResult, failure, type RawResult, redactBytes, UsageError } from "../lib/result.js";
import { resolveTarget } from "../lib/target.js";

/** Every artifact a task may have. */
const ARTIFACT_NAMES = Object.keys(ARTIFACTS) as ArtifactName[];

function isArtifactName(name: string): name is ArtifactName {
  return Object.hasOwn(ARTIFACTS, name);
}

/** The media type the API serves an artifact with, without parameters. */
function mediaType(name: ArtifactName): string {
  return ARTIFACTS[name].split(";")[0]!.trim().toLowerCase();
}

/** The flags of `artifact`, as the command line gives them. */
export interface ArtifactFlags {
  /** Write the artifact to this file instead of stdout. */
  output?: string;
}

export interface ArtifactOptions extends ArtifactFlags {
  args: string[];
}

export async function readArtifact(options: ArtifactOptions): Promise<RawResult | CommandResult> {
  const target = resolveTarget(options.args, { positionals: { command: "artifact", rest: ["taskId", "name"] }, tokenRequired: true });
  const [taskId, name] = target.rest as [string, string];
  if (!isArtifactName(name)) {
    throw new UsageError("invalid_artifact_name", `There is no artifact "${name}"; a task's artifacts are: ${ARTIFACT_NAMES.join(", ")}`, "Give the task id, then the artifact's name: claude-sandbox artifact <taskId> changes.patch");
  }
  const secrets = [target.token];
  const expected = mediaType(name);
  let response;
  try {
    response = await requestBytes(`${target.url}${taskPath(taskId, `/artifacts/${name}`)}`, {
      token: target.token,
      headers: { accept: `${expected}, application/json` },
      timeoutMs: API_TIMEOUT_MS,
    });
  } catch (error) {
    if (error instanceof UnreachableError) return { output: unreachable(error), ok: false, secrets };
    throw error;
  }
  if (response.status !== 200) return { output: httpFailure(response.status, parseBody(response.bytes), { headers: response.headers }), ok: false, secrets };
  const contentType = response.headers.get("content-type") ?? "";
  if (contentType.split(";")[0]!.trim().toLowerCase() !== expected) {
    const error = `${target.url} answered with ${contentType || "no content type"}, not ${expected}`;
    return { output: failure({ code: "unexpected_response", error, hint: "Check the URL is the deployment's base URL.", httpCode: 200 }), ok: false, secrets };
  }
  // The API's token never enters a container, so a patch holds it only if the task's own text did; it is replaced all the same.
  const bytes = redactBytes(response.bytes, secrets);
  if (options.output === undefined) return { raw: bytes, ok: true, secrets };
  const path = resolve(options.output);
  try {
    await writeFile(path, bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const output = failure({ code: "output_not_written", error: `Could not write ${path}: ${code}`, hint: "Check that the directory exists and can be written to." });
    return { output, ok: false, secrets };
  }
  return { output: { success: true, taskId, artifact: name, path, bytes: bytes.byteLength, contentType }, ok: true, secrets };
}
