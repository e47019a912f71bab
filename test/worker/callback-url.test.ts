/**
 * Where a webhook may go (worker/src/http/callback-url.ts), by attack: every
 * spelling of an address in a loopback, private, link-local, shared, unique-local
 * or IPv4-mapped range, and names that only a local network resolves, are
 * refused; public hosts pass; plain http to loopback passes only in local
 * development. URLs are read by the runtime's own `URL`, as the Worker reads them.
 */
import { describe, expect, it } from "vitest";
import { callbackUrlProblem, isPublicHost } from "../../worker/src/http/callback-url.js";
import { postWithEnv } from "./helpers.js";

describe("callbackUrlProblem: refused by attack", () => {
  it.each([
    // IPv4 literals, in every notation the URL parser folds to one.
    ["cloud metadata", "https://169.254.169.254/latest/meta-data/"],
    ["cloud metadata with a trailing dot", "https://169.254.169.254./latest/"],
    ["a private address (10/8)", "https://10.0.0.1/"],
    ["a private address (172.16/12)", "https://172.31.255.254/hook"],
    ["a private address (192.168/16)", "https://192.168.1.1/hook"],
    ["shared address space (CGNAT, 100.64/10)", "https://100.64.0.1/hook"],
    ["the top of shared address space", "https://100.127.255.255/hook"],
    ["loopback", "https://127.0.0.1/hook"],
    ["loopback elsewhere in 127/8", "https://127.255.0.9/hook"],
    ["loopback as one decimal number", "https://2130706433/"],
    ["loopback as one hex number", "https://0x7f000001/"],
    ["loopback in octal", "https://0177.0.0.1/"],
    ["loopback in short form", "https://127.1/"],
    ["loopback in mixed hex short form", "https://0x7f.1/"],
    ["loopback percent-encoded", "https://%31%32%37.0.0.1/"],
    ["loopback in full-width digits", "https://１２７.0.0.1/"],
    ["loopback with ideographic dots", "https://127。0。0。1/"],
    ["this network", "https://0.0.0.0/"],
    ["this network as 0", "https://0/"],
    ["a multicast address", "https://224.0.0.1/"],
    ["the broadcast address", "https://255.255.255.255/"],
    ["a reserved address (240/4)", "https://240.0.0.1/"],
    ["a benchmarking address (198.18/15)", "https://198.19.0.1/"],
    ["a documentation address", "https://192.0.2.10/"],
    ["an IETF protocol address (192.0.0/24)", "https://192.0.0.170/"],
    // IPv6 literals.
    ["IPv6 loopback", "https://[::1]/"],
    ["the IPv6 unspecified address", "https://[::]/"],
    ["a unique-local address", "https://[fd00::1]/"],
    ["a unique-local address (fc00::/7)", "https://[fc12:3456::1]/"],
    ["an IPv6 link-local address", "https://[fe80::1]/"],
    ["an IPv6 site-local address", "https://[fec0::1]/"],
    ["an IPv6 multicast address", "https://[ff02::1]/"],
    ["IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/"],
    ["IPv4-mapped loopback in hex", "https://[::ffff:7f00:1]/"],
    ["IPv4-mapped metadata, written out", "https://[0:0:0:0:0:ffff:a9fe:a9fe]/"],
    ["IPv4-mapped, a public address", "https://[::ffff:8.8.8.8]/"],
    ["IPv4-compatible loopback", "https://[::127.0.0.1]/"],
    ["a NAT64 address of a private one", "https://[64:ff9b::a00:1]/"],
    ["a 6to4 address", "https://[2002:a00:1::1]/"],
    ["a Teredo address", "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/"],
    ["an IPv6 documentation address", "https://[2001:db8::1]/"],
    // Names only a local network resolves.
    ["localhost", "https://localhost/hook"],
    ["localhost in capitals", "https://LOCALHOST/hook"],
    ["localhost with a trailing dot", "https://localhost./hook"],
    ["a name under .localhost", "https://api.localhost/hook"],
    ["GCP metadata", "https://metadata.google.internal/computeMetadata/v1/"],
    ["GCP metadata with a trailing dot", "https://metadata.google.internal./"],
    ["a name under .internal", "https://db.corp.internal/"],
    ["an mDNS name", "https://printer.local/"],
    ["a name under .localdomain", "https://host.localdomain/"],
    ["a name under home.arpa", "https://nas.home.arpa/"],
    ["a single-label name", "https://intranet/hook"],
    // The dev exception does not reach past loopback and plain http.
    ["plain http to a public host", "http://example.com/hook"],
  ])("%s: %s", (_name, url) => {
    expect(callbackUrlProblem(url, false)).toBe(url.startsWith("http://") ? "invalid_callback_url" : "callback_url_not_public");
    // Local development lets plain http reach loopback (however it is spelled), and nothing else.
    const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(new URL(url).hostname);
    expect(callbackUrlProblem(url.replace(/^https:/, "http:"), true)).toBe(loopback ? null : "invalid_callback_url");
  });
});

describe("callbackUrlProblem: accepted", () => {
  it.each([
    ["a public name", "https://hooks.example.com/claude?x=1"],
    ["a public name with a port", "https://hooks.example.com:8443/claude"],
    ["a public IPv4 address", "https://8.8.8.8/hook"],
    ["a public address next to shared space", "https://100.128.0.1/hook"],
    ["a public address next to 172.16/12", "https://172.32.0.1/hook"],
    ["a public IPv6 address", "https://[2606:4700:4700::1111]/hook"],
    ["a name that merely contains local", "https://local.example.com/hook"],
    ["a name ending in localhost as a word of its own", "https://notlocalhost.com/hook"],
  ])("%s: %s", (_name, url) => {
    expect(callbackUrlProblem(url, false)).toBeNull();
  });

  it.each(["http://localhost:8787/hook", "http://127.0.0.1:9/hook", "http://[::1]:8080/hook"])(
    "plain http to loopback only in local development: %s",
    (url) => {
      expect(callbackUrlProblem(url, true)).toBeNull();
      expect(callbackUrlProblem(url, false)).toBe("invalid_callback_url");
    },
  );
});

describe("isPublicHost", () => {
  it.each([
    ["example.com", true],
    ["1.1.1.1", true],
    ["[2606:4700::1]", true],
    ["10.1.2.3", false],
    ["100.100.100.100", false],
    ["[::ffff:a00:1]", false],
    ["[fd12::1]", false],
    ["a.b.c.internal", false],
    ["999", false],
    ["example.123", false],
  ])("%s → %s", (host, expected) => {
    expect(isPublicHost(host)).toBe(expected);
  });
});

describe("callbackUrl at submission", () => {
  it.each(["https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/", "https://[fd00::1]/", "https://2130706433/", "https://metadata.google.internal/"])(
    "refuses %s with 400 callback_url_not_public",
    async (callbackUrl) => {
      // As deployed: no local-development exception.
      const response = await postWithEnv("/tasks", { task: "t", callbackUrl }, { ALLOW_INSECURE_CALLBACKS: "false" });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "callback_url_not_public" });
    },
  );
});
