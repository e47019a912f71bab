/**
 * The browser the console's tests, screenshots and benchmark drive: Debian's
 * `chromium-headless-shell` (`.ci/run` installs it when missing), launched by
 * playwright-core with a fresh profile of its own; never a browser that
 * Playwright downloads. Where that package is not available (a GitHub-hosted
 * runner), an installed Chromium or Chrome is used instead, or the one
 * CHROMIUM_PATH names. Side-effect free.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Where to look for the browser, in order. */
const CANDIDATES = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium", "/usr/bin/google-chrome"];

/** No sandbox (tests run as root in CI), and nothing the browser would fetch or sync on its own. */
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The browser's executable: CHROMIUM_PATH when set, else the first of the usual places that exists. */
export function chromiumPath(): string {
  const chosen = process.env.CHROMIUM_PATH || CANDIDATES.find((candidate) => existsSync(candidate));
  if (!chosen || !existsSync(chosen)) {
    throw new Error(`No headless Chromium found (${process.env.CHROMIUM_PATH || CANDIDATES.join(", ")}): install it with \`apt-get install -y chromium-headless-shell\` (.ci/run does), or set CHROMIUM_PATH.`);
  }
  return chosen;
}

/** Starts the browser; Playwright gives each launch a new temporary profile, removed on close. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
}
