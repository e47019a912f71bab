/**
 * The git door: what the container's git may send to the host of the task's
 * repository, and where the repository credential is added on the way out.
 *
 * Only git's smart-HTTP protocol for the one granted repository passes:
 * `GET <repo>(.git)/info/refs?service=git-upload-pack|git-receive-pack`,
 * `POST <repo>(.git)/git-upload-pack` and, when the task may push,
 * `POST <repo>(.git)/git-receive-pack`. Every other request to that host (other
 * repositories, the dumb protocol, LFS, the web pages) is refused with a 403
 * JSON `{error, code}` and never forwarded.
 *
 * A push names its ref updates at the start of its body, in pkt-lines
 * (`<old-id> <new-id> <ref>\0<capabilities>`, more updates, then `0000`),
 * before the packfile. The door reads that section only, up to a bound, and
 * refuses the push unless every update sets `refs/heads/<the task's branch>`
 * (never deletes it); compressed, signed and push-option requests are refused
 * because they would hide or add to what is checked, and so is any capability
 * a plain push of git does not send. The rest of the body,
 * and the whole response, stream through untouched.
 *
 * The credential, when the task holds one, is added only to requests the
 * rules accepted, as `Authorization: Basic base64("x-access-token:<token>")`
 * (what GitHub expects from an installation or fine-grained token). Whatever
 * authorization the container sent is dropped, redirects are never followed,
 * and a refusal's log line names the rule, never a header or the body.
 */
import { type Refused, refusalResponse } from "./refusal.js";
/** What one task's git may do: the repository, and whether and where it may push. */
export interface GitGrant {
  /** The repository's host, lower case (e.g. `github.com`). */
  host: string;
  /** The repository's path without `.git`, e.g. `/owner/repo` (`RepositorySource.path`). */
  repositoryPath: string;
  /** The branch a push may update (`refs/heads/<branch>`); null: the task may not push. */
  pushBranch: string | null;
  /** Whether the host names repositories regardless of case, as GitHub does its owners and repositories. */
  ignorePathCase: boolean;
  /** The token added to accepted requests; null for a public repository read without one. */
  token: string | null;
}

/** The reasons the door refuses a request, each with its status and fixed message. */
export const GIT_DOOR_REFUSALS = {
  host_not_granted: { status: 403, message: "This host is not open to the task's git" },
  route_not_allowed: { status: 403, message: "Only git's smart-HTTP requests for the task's repository are open to the sandbox" },
  push_not_allowed: { status: 403, message: "This task may not push" },
  body_encoded: { status: 403, message: "A push must not be sent compressed" },
  commands_unreadable: { status: 403, message: "The push's ref updates cannot be read" },
  commands_too_large: { status: 413, message: "The push's ref updates are larger than the git door reads" },
  signed_push_not_allowed: { status: 403, message: "Signed pushes and push options are not open to the sandbox" },
  capability_not_allowed: { status: 403, message: "The push asks for a capability a plain push of git does not send" },
  ref_not_allowed: { status: 403, message: "A task may push only its own work branch" },
  ref_deletion_not_allowed: { status: 403, message: "A task may not delete its work branch" },
  git_credential_unavailable: { status: 502, message: "The repository's credential could not be obtained" },
} as const satisfies Record<string, { status: number; message: string }>;

export type GitRefusalCode = keyof typeof GIT_DOOR_REFUSALS;

/** A request the rules refused: the code of the rule that fired. */
export type GitRefusal = Refused<GitRefusalCode>;

/** An accepted request: which service and phase, and the canonical path and query to forward. */
export interface GitRoute {
  service: "git-upload-pack" | "git-receive-pack";
  /** `advertise`: GET info/refs; `rpc`: the POST. */
  phase: "advertise" | "rpc";
  path: string;
  search: string;
}

/** One ref update of a push. */
export interface RefUpdate {
  oldId: string;
  newId: string;
  ref: string;
}

/** The most bytes of a push's ref-update section the door reads. */
export const MAX_COMMAND_SECTION_BYTES = 64 * 1024;

/** The most ref updates one push may carry. */
export const MAX_REF_UPDATES = 32;

/** The path of a smart-HTTP request: the repository (with an optional `.git`), then the service endpoint. */
const SMART_HTTP_PATH = /^((?:\/[A-Za-z0-9_.][A-Za-z0-9._-]*)+)\/(info\/refs|git-upload-pack|git-receive-pack)$/;

/** Whether a requested repository path names the granted repository. */
function sameRepository(grant: GitGrant, requested: string): boolean {
  return grant.ignorePathCase ? requested.toLowerCase() === grant.repositoryPath.toLowerCase() : requested === grant.repositoryPath;
}

/** Checks a request's method and URL against the grant. */
export function checkGitRoute(method: string, url: URL, grant: GitGrant): GitRoute | GitRefusal {
  if (url.protocol !== "https:" || url.hostname !== grant.host || url.port !== "" || url.username !== "" || url.password !== "") {
    return { refused: "host_not_granted" };
  }
  const match = SMART_HTTP_PATH.exec(url.pathname);
  if (!match) return { refused: "route_not_allowed" };
  if (!sameRepository(grant, match[1]!.replace(/\.git$/, ""))) return { refused: "route_not_allowed" };
  const endpoint = match[2]!;
  let route: GitRoute;
  if (endpoint === "info/refs") {
    const service = url.search === "?service=git-upload-pack" ? "git-upload-pack" : url.search === "?service=git-receive-pack" ? "git-receive-pack" : null;
    if (method !== "GET" || service === null) return { refused: "route_not_allowed" };
    route = { service, phase: "advertise", path: url.pathname, search: url.search };
  } else {
    if (method !== "POST" || url.search !== "") return { refused: "route_not_allowed" };
    route = { service: endpoint as GitRoute["service"], phase: "rpc", path: url.pathname, search: "" };
  }
  if (route.service === "git-receive-pack" && grant.pushBranch === null) return { refused: "push_not_allowed" };
  return route;
}

/**
 * The capabilities git sends with a plain push (`git push` of one branch,
 * quiet or not, with either object format), by name, each with the values it
 * may carry (null: any value). Push options (`push-options`), certificates
 * (`push-cert`), `atomic` and everything else are not among them.
 */
const PUSH_CAPABILITIES: ReadonlyMap<string, readonly string[] | null> = new Map([
  ["report-status", []],
  ["report-status-v2", []],
  ["side-band-64k", []],
  ["quiet", []],
  ["object-format", ["sha1", "sha256"]],
  ["agent", null],
]);

/** Capabilities that would add to or vouch for what the door checks: push options and signed pushes. */
const SIGNING_CAPABILITIES: readonly string[] = ["push-options", "push-cert"];

/**
 * Checks the capabilities of a push's first ref update as receive-pack reads
 * them: any of git's whitespace separates them, and `name=value` names `name`. Push
 * options and certificates are refused however they are spelled, and so is
 * any capability, or value, a plain push does not send.
 */
function checkPushCapabilities(capabilities: string): GitRefusal | null {
  // git's own whitespace: space, tab, CR and LF (not vertical tab or form feed, which stay in a name and make it unknown).
  const requested = capabilities.split(/[\t\n\r ]+/).filter((entry) => entry.length > 0);
  if (requested.some((entry) => SIGNING_CAPABILITIES.includes(entry.split("=", 1)[0]!))) return { refused: "signed_push_not_allowed" };
  for (const entry of requested) {
    const equals = entry.indexOf("=");
    const name = equals === -1 ? entry : entry.slice(0, equals);
    const value = equals === -1 ? null : entry.slice(equals + 1);
    const values = PUSH_CAPABILITIES.get(name);
    if (values === undefined || !/^[\x21-\x7e]+$/.test(entry)) return { refused: "capability_not_allowed" };
    // `agent` carries a value of its own; the others one of their listed values, or none when they list none.
    const allowed = values === null ? value !== null : value === null ? values.length === 0 : values.includes(value);
    if (!allowed) return { refused: "capability_not_allowed" };
  }
  return null;
}

const OBJECT_ID = "([0-9a-f]{40}|[0-9a-f]{64})";
const COMMAND_LINE = new RegExp(`^${OBJECT_ID} ${OBJECT_ID} (\\S+)$`);
const SHALLOW_LINE = new RegExp(`^shallow ${OBJECT_ID}$`);

/** The ref-update section of a push, read so far. */
export type CommandSection = { complete: true; updates: RefUpdate[]; length: number } | { complete: false } | GitRefusal;

/**
 * Reads the ref-update section at the start of a `git-receive-pack` request
 * body: optional `shallow <id>` lines, then `<old> <new> <ref>` lines (the
 * first with `\0<capabilities>`), then a flush packet `0000`. `complete:
 * false` means more bytes are needed; `length` is where the section ends.
 */
export function readCommandSection(bytes: Uint8Array): CommandSection {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const updates: RefUpdate[] = [];
  let offset = 0;
  for (;;) {
    if (bytes.length - offset < 4) return { complete: false };
    const header = String.fromCharCode(...bytes.subarray(offset, offset + 4));
    if (!/^[0-9a-f]{4}$/.test(header)) return { refused: "commands_unreadable" };
    const length = Number.parseInt(header, 16);
    if (length === 0) return { complete: true, updates, length: offset + 4 };
    // 0001-0003 are protocol v2's delimiters, 0004 is empty: none belongs in a push.
    if (length < 5) return { refused: "commands_unreadable" };
    if (bytes.length - offset < length) return { complete: false };
    let line: string;
    try {
      line = decoder.decode(bytes.subarray(offset + 4, offset + length));
    } catch {
      return { refused: "commands_unreadable" };
    }
    offset += length;
    if (line.endsWith("\n")) line = line.slice(0, -1);
    if (line.startsWith("push-cert")) return { refused: "signed_push_not_allowed" };
    if (updates.length === 0 && SHALLOW_LINE.test(line)) continue;
    const [command, capabilities, ...rest] = line.split("\0");
    if (rest.length > 0 || (capabilities !== undefined && updates.length > 0)) return { refused: "commands_unreadable" };
    const refusedCapability = capabilities === undefined ? null : checkPushCapabilities(capabilities);
    if (refusedCapability) return refusedCapability;
    const parts = COMMAND_LINE.exec(command!);
    if (!parts || parts[1]!.length !== parts[2]!.length) return { refused: "commands_unreadable" };
    updates.push({ oldId: parts[1]!, newId: parts[2]!, ref: parts[3]! });
    if (updates.length > MAX_REF_UPDATES) return { refused: "commands_too_large" };
  }
}

/** Refuses ref updates other than setting `refs/heads/<pushBranch>`; null when every update is allowed. */
export function checkRefUpdates(updates: readonly RefUpdate[], grant: GitGrant): GitRefusal | null {
  if (grant.pushBranch === null) return { refused: "push_not_allowed" };
  const allowed = `refs/heads/${grant.pushBranch}`;
  for (const update of updates) {
    if (update.ref !== allowed) return { refused: "ref_not_allowed" };
    if (/^0+$/.test(update.newId)) return { refused: "ref_deletion_not_allowed" };
  }
  return null;
}

/** The `Authorization` header git hosts expect for a token: Basic with the user `x-access-token`. */
export function gitAuthorization(token: string): string {
  const bytes = new TextEncoder().encode(`x-access-token:${token}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/** Request headers copied from the container's request; every other header (authorization, cookies, proxies) is dropped. */
const FORWARDED_HEADERS = ["accept", "accept-encoding", "accept-language", "content-type", "content-encoding", "git-protocol", "user-agent", "pragma"];

/**
 * Reads the ref-update section of a push from its body stream, within
 * `MAX_COMMAND_SECTION_BYTES`. Returns the updates and a stream that yields
 * the whole body again (the bytes read, then the rest as it comes), or a refusal
 * (the body is then cancelled).
 */
export async function readPushBody(
  body: ReadableStream<Uint8Array> | null,
): Promise<{ updates: RefUpdate[]; body: ReadableStream<Uint8Array> } | GitRefusal> {
  if (body === null) return { refused: "commands_unreadable" };
  const reader = body.getReader();
  let buffered = new Uint8Array(0);
  for (;;) {
    const section = readCommandSection(buffered);
    if ("refused" in section || (!section.complete && buffered.byteLength >= MAX_COMMAND_SECTION_BYTES)) {
      await reader.cancel();
      return "refused" in section ? section : { refused: "commands_too_large" };
    }
    if (section.complete) {
      const head = buffered;
      return {
        updates: section.updates,
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            if (head.byteLength > 0) controller.enqueue(head);
          },
          async pull(controller) {
            const { done, value } = await reader.read();
            if (done) controller.close();
            else controller.enqueue(value);
          },
          cancel(reason) {
            return reader.cancel(reason);
          },
        }),
      };
    }
    const { done, value } = await reader.read();
    if (done) return { refused: "commands_unreadable" };
    const next = new Uint8Array(buffered.byteLength + value.byteLength);
    next.set(buffered);
    next.set(value, buffered.byteLength);
    buffered = next;
  }
}

/** Answers a refused request, and logs the rule that fired (never a header or the body). */
export function gitRefusal(code: GitRefusalCode, host: string): Response {
  return refusalResponse(GIT_DOOR_REFUSALS, code, host);
}

/**
 * The outbound handler for the repository's host: checks the request against
 * the grant and forwards it, with the credential when the grant holds one, or
 * refuses it. The response streams back as it comes.
 */
export async function forwardToGit(
  request: Request,
  grant: GitGrant,
  send: (request: Request) => Promise<Response> = (outgoing) => fetch(outgoing),
): Promise<Response> {
  const url = new URL(request.url);
  const route = checkGitRoute(request.method, url, grant);
  if ("refused" in route) {
    await request.body?.cancel();
    return gitRefusal(route.refused, url.hostname);
  }

  let body: ReadableStream<Uint8Array> | null = null;
  if (route.phase === "rpc" && route.service === "git-receive-pack") {
    const encoding = request.headers.get("content-encoding");
    if (encoding !== null && encoding.trim().toLowerCase() !== "identity") {
      await request.body?.cancel();
      return gitRefusal("body_encoded", grant.host);
    }
    const push = await readPushBody(request.body);
    if ("refused" in push) return gitRefusal(push.refused, grant.host);
    const refused = checkRefUpdates(push.updates, grant);
    if (refused) {
      await push.body.cancel();
      return gitRefusal(refused.refused, grant.host);
    }
    body = push.body;
  } else if (route.phase === "rpc") {
    body = request.body;
  } else {
    await request.body?.cancel();
  }

  const headers = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (grant.token !== null) headers.set("authorization", gitAuthorization(grant.token));
  const init: RequestInit & { duplex?: "half" } = { method: request.method, headers, body, redirect: "manual" };
  if (body !== null) init.duplex = "half";
  return send(new Request(`https://${grant.host}${route.path}${route.search}`, init));
}
