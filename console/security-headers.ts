/**
 * The headers every response of the web console carries, written by
 * console/build.ts into the assets' `_headers` file, which Workers static
 * assets apply to the files they serve (under `wrangler dev` and on the
 * platform alike). The policy allows only the console's own files: no inline
 * or eval script, no other origin, no framing.
 */
import { CONSOLE_ASSETS } from "../worker/src/contract.js";

/** The Content-Security-Policy of the console's pages. */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Header name → value, for every file under the console's path. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONSOLE_CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/** The `_headers` file: the security headers for every path under the console. */
export function headersFile(): string {
  const lines = [`${CONSOLE_ASSETS.consolePath}*`, ...Object.entries(CONSOLE_SECURITY_HEADERS).map(([name, value]) => `  ${name}: ${value}`)];
  return `${lines.join("\n")}\n`;
}
