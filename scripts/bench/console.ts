/**
 * The web console as a person meets it: what the browser downloads to show
 * the Tasks view (gzip, as the platform sends it compressed) next to all of
 * the console's files, and the time from opening `/console/` in a fresh
 * browser (empty cache, the token remembered on the device) to the Tasks
 * table with its rows, next to the `GET /tasks` that view makes.
 */
import type { Browser } from "playwright-core";
import { gzipSync } from "node:zlib";
import { bundleConsole } from "../../console/build.js";
import { CONSOLE_ASSETS } from "../../worker/src/contract.js";
import { TOKEN_KEY } from "../../console/src/session.js";
import { launchBrowser } from "../browser.js";
import type { DevServer } from "./dev-server.js";
import { type Figure, kib, ms } from "./figures.js";
import { median } from "./load.js";
import { BENCH_TOKEN } from "./workers.js";

/** Most the Tasks view may download, gzip. */
export const CONSOLE_TRANSFER_BUDGET_BYTES = 64 * 1024;
/** Longest the Tasks table may take to appear, median. */
export const CONSOLE_OPEN_BUDGET_MS = 1_500;
/** Page loads measured. */
const LOADS = 7;

/** The console's bytes, raw and gzip. */
export interface Transfer {
  files: number;
  gzip: number;
}

/** The Tasks view's download against all of the console's files, within budget up to CONSOLE_TRANSFER_BUDGET_BYTES. */
export function transferFigure(firstView: Transfer, all: Transfer): Figure {
  return {
    figure: "Web console: download to show the Tasks view (gzip)",
    measured: `${kib(firstView.gzip)} in ${firstView.files} files`,
    reference: `all its files: ${kib(all.gzip)} in ${all.files} (the Markdown renderer loads with a task's answer)`,
    ratio: "",
    budget: { rule: `≤ ${kib(CONSOLE_TRANSFER_BUDGET_BYTES)}`, met: firstView.gzip <= CONSOLE_TRANSFER_BUDGET_BYTES },
  };
}

/** Opening the console to its Tasks table, next to the list request it makes; within budget up to CONSOLE_OPEN_BUDGET_MS. */
export function openFigure(openMs: number, listMs: number): Figure {
  return {
    figure: `Web console: /console/ opened to the Tasks table (median of ${LOADS}, empty cache)`,
    measured: ms(openMs),
    reference: `its GET /tasks: ${ms(listMs)}`,
    ratio: "",
    budget: { rule: `< ${ms(CONSOLE_OPEN_BUDGET_MS)}`, met: openMs < CONSOLE_OPEN_BUDGET_MS },
  };
}

async function measureWith(browser: Browser, server: DevServer): Promise<Figure[]> {
  const consoleUrl = `${server.url}${CONSOLE_ASSETS.consolePath}`;
  const storageState = { cookies: [], origins: [{ origin: server.url, localStorage: [{ name: TOKEN_KEY, value: BENCH_TOKEN }] }] };
  const opens: number[] = [];
  const lists: number[] = [];
  let firstView: Transfer = { files: 0, gzip: 0 };
  for (let load = 0; load < LOADS; load++) {
    const context = await browser.newContext({ storageState, viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      const assets: Promise<number>[] = [];
      let listStarted = 0;
      let listMs = 0;
      page.on("request", (request) => {
        if (new URL(request.url()).pathname === "/tasks") listStarted = performance.now();
      });
      page.on("response", (response) => {
        const path = new URL(response.url()).pathname;
        if (path === "/tasks") listMs = performance.now() - listStarted;
        else if (path.startsWith(CONSOLE_ASSETS.consolePath)) assets.push(response.body().then((body) => gzipSync(body, { level: 9 }).byteLength));
      });
      const started = performance.now();
      await page.goto(consoleUrl, { waitUntil: "commit" });
      await page.getByRole("table", { name: "Tasks" }).getByRole("row").nth(1).waitFor({ timeout: 30_000 });
      opens.push(performance.now() - started);
      lists.push(listMs);
      const sizes = await Promise.all(assets);
      firstView = { files: sizes.length, gzip: sizes.reduce((sum, size) => sum + size, 0) };
    } finally {
      await context.close();
    }
  }
  const all = await allFiles();
  return [transferFigure(firstView, all), openFigure(median(opens), median(lists))];
}

/** Every file of the console (console/build.ts, as the Worker serves them). */
async function allFiles(): Promise<Transfer> {
  const prefix = CONSOLE_ASSETS.consolePath.slice(1);
  const files = [...(await bundleConsole()).files].filter(([path]) => path.startsWith(prefix));
  return { files: files.length, gzip: files.reduce((sum, [, bytes]) => sum + gzipSync(bytes, { level: 9 }).byteLength, 0) };
}

/** Measures the console served by `server` (a Worker with the console's assets) in a headless browser. */
export async function measureConsole(server: DevServer): Promise<Figure[]> {
  const submitted = await fetch(`${server.url}/tasks`, {
    method: "POST",
    headers: { Authorization: `Bearer ${BENCH_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ task: "A task for the console's list\n@stub delay=0" }),
  });
  await submitted.arrayBuffer();
  if (submitted.status !== 202) throw new Error(`POST /tasks answered ${submitted.status}`);
  const browser = await launchBrowser();
  try {
    return await measureWith(browser, server);
  } finally {
    await browser.close();
  }
}
