/**
 * Where a webhook may go: `callbackUrl` must name a public host, as pure
 * functions. The Worker POSTs the task's status document there, so a URL that
 * reaches a private network, the machine itself or a cloud's metadata service
 * is refused at submission, however it is spelled.
 *
 * The URL is read by the runtime's WHATWG `URL`, which folds every IPv4
 * notation (`2130706433`, `0x7f.1`, `0177.0.0.1`, full-width digits) to dotted
 * decimal and IPv6 to its short form; the checks below read those forms, and
 * refuse any host whose last label is a number, so a notation the parser left
 * alone is refused too. Names are not resolved here: a public name that
 * resolves to a private address is the DNS's answer, not the URL's.
 */
import { LIMITS } from "../contract.js";

/** Hosts of the machine itself: the only ones plain http may reach, and only in local development. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Names and suffixes that only a local network or the machine itself resolves. */
const LOCAL_NAMES: readonly string[] = ["localhost", "local", "internal", "localdomain", "home.arpa"];

/** IPv4 ranges that are not the public internet: `[first address, prefix length]`. */
const NON_PUBLIC_IPV4: readonly (readonly [string, number])[] = [
  ["0.0.0.0", 8], // this network
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // shared address space (carrier-grade NAT)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relays
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];

/**
 * IPv6 ranges inside global unicast (2000::/3) that are not the public
 * internet or hide an IPv4 address: `[first 16-bit groups, prefix length]`.
 * Everything outside 2000::/3 is refused as well: unspecified, loopback,
 * IPv4-mapped and -compatible, NAT64, unique-local, link-local, site-local, multicast.
 */
const NON_PUBLIC_GLOBAL_IPV6: readonly (readonly [readonly number[], number])[] = [
  [[0x2001, 0x0000], 23], // IETF protocol assignments, Teredo
  [[0x2001, 0x0db8], 32], // documentation
  [[0x2002], 16], // 6to4
  [[0x3fff, 0x0000], 20], // documentation
];

/** A dotted-decimal IPv4 address as a number, or null when `text` is not one. */
function ipv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) return null;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

function inIpv4Range(address: number, [first, prefix]: readonly [string, number]): boolean {
  const size = 2 ** (32 - prefix);
  return Math.floor(address / size) === Math.floor(ipv4(first)! / size);
}

/** The eight 16-bit groups of an IPv6 address (with `::` and a dotted IPv4 tail), or null when `text` is not one. */
function ipv6(text: string): number[] | null {
  let body = text;
  const tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (dotted) {
    const address = ipv4(dotted[1]!);
    if (address === null) return null;
    tail.push(Math.floor(address / 65536), address % 65536);
    // Keep a `::` that ends right before the IPv4 part; drop a single `:`.
    body = body.slice(0, body.length - dotted[1]!.length);
    if (!body.endsWith("::")) body = body.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const parsed = half.split(":").map((group) => (/^[0-9a-f]{1,4}$/i.test(group) ? Number.parseInt(group, 16) : Number.NaN));
    return parsed.some(Number.isNaN) ? null : parsed;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || rest === null) return null;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  return [...head, ...Array.from({ length: 8 - known }, () => 0), ...rest, ...tail];
}

function inIpv6Range(address: readonly number[], [first, prefix]: readonly [readonly number[], number]): boolean {
  for (let bit = 0; bit < prefix; bit += 16) {
    const width = Math.min(16, prefix - bit);
    const shift = 16 - width;
    if (address[bit / 16]! >> shift !== (first[bit / 16] ?? 0) >> shift) return false;
  }
  return true;
}

/**
 * Whether `hostname` (as `URL.hostname` gives it) names a host on the public
 * internet: not an address in a loopback, private, link-local, shared,
 * unique-local, multicast, reserved or documentation range, nor one that
 * carries an IPv4 address inside IPv6 (mapped, compatible, NAT64, 6to4,
 * Teredo); not a single-label name, a name ending in a number, or a name only a
 * local network resolves (`localhost`, `*.localhost`, `*.local`,
 * `*.internal`, `*.localdomain`, `*.home.arpa`).
 */
export function isPublicHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[") && host.endsWith("]")) {
    const address = ipv6(host.slice(1, -1));
    if (address === null || address[0]! >> 13 !== 0b001) return false;
    return !NON_PUBLIC_GLOBAL_IPV6.some((range) => inIpv6Range(address, range));
  }
  const address = ipv4(host);
  if (address !== null) return !NON_PUBLIC_IPV4.some((range) => inIpv4Range(address, range));
  const labels = host.split(".");
  if (labels.length < 2 || labels.some((label) => label === "") || /^(\d+|0x[0-9a-f]*)$/.test(labels.at(-1)!)) return false;
  return !LOCAL_NAMES.some((name) => host === name || host.endsWith(`.${name}`));
}

/** Why a `callbackUrl` is refused: not a URL a webhook can use, or not a public host; null when it may be used. */
export type CallbackUrlProblem = "invalid_callback_url" | "callback_url_not_public" | null;

/**
 * Checks a `callbackUrl`: an absolute `https://` URL without credentials or
 * fragment, to a public host (`isPublicHost`). With `allowInsecure` (local
 * development only) a loopback host is accepted too, over `http://` or `https://`.
 */
export function callbackUrlProblem(raw: string, allowInsecure: boolean): CallbackUrlProblem {
  if (raw.length > LIMITS.maxCallbackUrlLength || /[\s\u0000-\u001f\u007f]/.test(raw)) return "invalid_callback_url";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "invalid_callback_url";
  }
  if (url.username !== "" || url.password !== "" || url.hash !== "" || url.hostname === "") return "invalid_callback_url";
  const loopbackAllowed = allowInsecure && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol === "http:") return loopbackAllowed ? null : "invalid_callback_url";
  if (url.protocol !== "https:") return "invalid_callback_url";
  return loopbackAllowed || isPublicHost(url.hostname) ? null : "callback_url_not_public";
}
