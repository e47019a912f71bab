/**
 * The web console in a real browser (Debian's chromium-headless-shell driven
 * by playwright-core) against the run's shared `npm run dev:stub`: signing in,
 * the task list, a task run from the form and followed live, hostile text,
 * Cancel, a repository task's diff and follow-up, and a stream cut mid-task.
 * The page is driven by role and accessible name, as a screen reader reads
 * it; nothing here looks at CSS classes.
 */
import { readFile } from "node:fs/promises";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskStatusDocument } from "../../worker/src/contract.js";
import { launchBrowser } from "../../scripts/browser.js";
import { type SharedStub, sharedStub } from "../fixtures/dev-stub.js";

const REPO = "https://github.com/octocat/Hello-World";
const TASK_URL = /#\/tasks\/([0-9a-f-]{36})$/;

let stub: SharedStub;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [stub, browser] = await Promise.all([sharedStub(), launchBrowser()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** What went wrong in the page: uncaught errors and Content-Security-Policy refusals. */
interface Watched {
  page: Page;
  context: BrowserContext;
  problems: string[];
}

async function openPage(width = 1280): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
  context.setDefaultTimeout(20_000);
  contexts.push(context);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  return { page, context, problems };
}

async function signIn(page: Page, origin = stub.url, token = stub.token): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Tasks" }).waitFor();
}

async function signedInPage(width?: number): Promise<Watched> {
  const watched = await openPage(width);
  await signIn(watched.page);
  return watched;
}

async function submit(body: Record<string, unknown>): Promise<TaskStatusDocument> {
  const response = await fetch(`${stub.url}/tasks`, {
    method: "POST",
    headers: { authorization: `Bearer ${stub.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(202);
  return (await response.json()) as TaskStatusDocument;
}

/** Waits until the task has ended, through the API. */
async function ended(taskId: string): Promise<TaskStatusDocument> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const document = (await (await fetch(`${stub.url}/tasks/${taskId}`, { headers: { authorization: `Bearer ${stub.token}` } })).json()) as TaskStatusDocument;
    if (document.finishedAt !== null) return document;
    if (Date.now() > deadline) throw new Error(`task ${taskId} is still ${document.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Submits the New task form as it is filled, and returns the new task's id from the page it opens. */
async function runFromForm(page: Page): Promise<string> {
  await page.getByRole("button", { name: "Run task" }).click();
  await page.waitForURL(TASK_URL);
  return TASK_URL.exec(page.url())![1]!;
}

/** The page's globals these tests read (the tests are type-checked without the browser's library). */
interface PageGlobals {
  document: { documentElement: { scrollWidth: number }; activeElement: { textContent: string | null } | null };
  innerWidth: number;
  __pwned?: unknown;
}

/** Whether the page fits its window's width: nothing to scroll sideways. */
const fitsWidth = (page: Page) =>
  page.evaluate(() => {
    const { document, innerWidth } = globalThis as unknown as PageGlobals;
    return document.documentElement.scrollWidth <= innerWidth;
  });

const storedTokens = (page: Page) =>
  page.evaluate(() => ({ tab: sessionStorage.getItem("claude-sandbox.token"), device: localStorage.getItem("claude-sandbox.token") }));

describe("the web console", () => {
  afterAll(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  it("signs in: a wrong token is refused, the right one is kept for the tab, on the device only when asked; sign-out and a 401 return to the sign-in", async () => {
    const { page, context, problems } = await openPage();
    await page.goto(`${stub.url}/`);
    await page.waitForURL(`${stub.url}/console/`);

    await page.getByLabel("API token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("did not accept this token");
    expect(await storedTokens(page)).toEqual({ tab: null, device: null });

    await page.getByLabel("API token").fill(stub.token);
    await page.getByRole("button", { name: "Sign in" }).press("Enter");
    await page.getByRole("heading", { level: 1, name: "Tasks" }).waitFor();
    expect(await storedTokens(page)).toEqual({ tab: stub.token, device: null });

    // Another tab has its own session storage: it asks again, and this time the token is remembered.
    const second = await context.newPage();
    await second.goto(`${stub.url}/console/`);
    await second.getByLabel("API token").fill(stub.token);
    await second.getByLabel("Remember on this device").check();
    await second.getByRole("button", { name: "Sign in" }).click();
    await second.getByRole("heading", { level: 1, name: "Tasks" }).waitFor();
    expect(await storedTokens(second)).toEqual({ tab: stub.token, device: stub.token });
    const third = await context.newPage();
    await third.goto(`${stub.url}/console/`);
    await third.getByRole("heading", { level: 1, name: "Tasks" }).waitFor();

    await third.getByRole("button", { name: "Sign out" }).click();
    await third.getByLabel("API token").waitFor();
    expect(await storedTokens(third)).toEqual({ tab: null, device: null });

    // A token the API no longer takes (a rotation) sends the person back to the sign-in, saying why.
    await page.evaluate(() => sessionStorage.setItem("claude-sandbox.token", "rotated-away"));
    await page.reload();
    await page.getByLabel("API token").waitFor();
    expect(await page.getByText("The API refused the token. Sign in again.").count()).toBe(1);
    expect(await storedTokens(page)).toEqual({ tab: null, device: null });
    expect(problems).toEqual([]);
  });

  it("runs a task from the form and follows it live: texts appear before it ends, then the answer and the list show it", async () => {
    const { page, problems } = await signedInPage();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New task" }).click();
    const title = `Summarize the README, run ${Date.now().toString(36)}`;
    await page.getByLabel("Task", { exact: true }).fill(`${title}\n@stub delay=700`);
    const taskId = await runFromForm(page);

    const transcript = page.getByRole("log", { name: "Transcript" });
    await transcript.getByText("Step 1 of 3: working on the task.").waitFor();
    expect(await transcript.getByText(/^Ended:/).count()).toBe(0);
    await page.getByText("running", { exact: true }).waitFor();

    await transcript.getByText("Ended: succeeded").waitFor();
    await page.getByText("succeeded", { exact: true }).waitFor();
    expect(await fitsWidth(page)).toBe(true);
    const answer = page.getByRole("region", { name: "Final answer" });
    await answer.getByText("Summarize the README", { exact: false }).waitFor();
    expect(await page.getByText("claude-stub-1", { exact: true }).count()).toBe(1);

    // The tool call is folded; opened, it shows its input and its result.
    const toolCall = transcript.getByRole("group").filter({ hasText: "Bash" });
    expect(await toolCall.getByText("hello from the stub", { exact: true }).isVisible()).toBe(false);
    await toolCall.getByText("Bash", { exact: true }).click();
    await toolCall.getByText("hello from the stub", { exact: true }).waitFor();
    expect(await toolCall.getByText('"command": "echo hello from the stub"', { exact: false }).count()).toBe(1);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tasks" }).click();
    // The list names each task by its title, its first line.
    const row = page.getByRole("table", { name: "Tasks" }).getByRole("row").filter({ has: page.getByRole("link", { name: title, exact: true }) });
    expect(await row.getByRole("cell").first().textContent()).toBe("succeeded");
    expect(problems).toEqual([]);
  });

  it("lists tasks newest first, filters them by status, and refreshes itself", async () => {
    expect(await ended((await submit({ task: "Done before the list opens\n@stub delay=0" })).taskId)).toMatchObject({ status: "succeeded" });
    const { page, problems } = await signedInPage();
    await page.getByLabel("Status").selectOption("succeeded");
    await page.waitForURL(/#\/tasks\?status=succeeded$/);
    const table = page.getByRole("table", { name: "Tasks" });
    await table.waitFor();
    const statuses = await table.getByRole("row").evaluateAll((rows) => rows.slice(1).map((row) => row.querySelector("td")?.textContent));
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(["succeeded"]));

    await page.getByLabel("Status").selectOption("");
    await table.waitFor();
    const title = `Appears without a reload, run ${Date.now().toString(36)}`;
    await submit({ task: `${title}\n@stub delay=0` });
    await table.getByRole("link", { name: title, exact: true }).waitFor({ timeout: 15_000 });
    const created = await table.getByRole("row").evaluateAll((rows) => rows.slice(1).map((row) => row.querySelector("time")?.getAttribute("datetime") ?? ""));
    expect(created).toEqual([...created].sort().reverse());
    expect(await page.getByRole("img", { name: /tasks? over \d+ days?/ }).count()).toBe(1);
    expect(problems).toEqual([]);
  });

  it("shows a task's markup and script as text and never runs them, in the answer and the diff alike", async () => {
    const { page, problems } = await signedInPage();
    await page.goto(`${stub.url}/console/#/new`);
    const hostile = [
      `Fix <script>window.__pwned = "patch"</script><img src=x onerror="window.__pwned = 'patch-img'">`,
      "Render <b>bold</b> and <iframe src=/health></iframe>",
      `<script>window.__pwned = "answer"</script>`,
      `<img src=x onerror="window.__pwned = 'answer-img'">`,
      "[click me](javascript:window.__pwned='link')",
      "@stub delay=0",
    ].join("\n");
    await page.getByLabel("Task", { exact: true }).fill(hostile);
    await page.getByLabel("Repository URL").fill(REPO);
    await runFromForm(page);
    await page.getByRole("log", { name: "Transcript" }).getByText("Ended: succeeded").waitFor();

    const answer = page.getByRole("region", { name: "Final answer" });
    await answer.getByText(`<script>window.__pwned = "answer"</script>`, { exact: false }).waitFor();
    expect(await answer.textContent()).toContain(`<img src=x onerror="window.__pwned = 'answer-img'">`);
    expect(await answer.textContent()).toContain("Render <b>bold</b> and <iframe src=/health></iframe>");
    expect(await answer.locator("script, img, iframe, b").count()).toBe(0);
    expect(await answer.getByRole("link").count()).toBe(0);

    const diff = page.getByRole("region", { name: "Changes to NOTES.md" });
    await diff.getByText(`<script>window.__pwned = "patch"</script>`, { exact: false }).waitFor();
    expect(await diff.locator("script, img").count()).toBe(0);

    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__pwned)).toBeUndefined();
    expect(problems).toEqual([]);
  });

  it("cancels a running task after a confirmation, by keyboard", async () => {
    const { page, problems } = await signedInPage();
    const { taskId } = await submit({ task: "Never ends by itself\n@stub hang" });
    await page.goto(`${stub.url}/console/#/tasks/${taskId}`);
    await page.getByText("running", { exact: true }).waitFor();

    const cancel = page.getByRole("button", { name: "Cancel", exact: true });
    await cancel.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Cancel this task?" });
    await dialog.waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.textContent)).toBe("Keep it running");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect((await (await fetch(`${stub.url}/tasks/${taskId}`, { headers: { authorization: `Bearer ${stub.token}` } })).json()) as TaskStatusDocument).toMatchObject({
      status: "running",
    });

    await cancel.press("Enter");
    await dialog.getByRole("button", { name: "Cancel task" }).click();
    await page.getByText("cancelled", { exact: true }).waitFor();
    await page.getByRole("log", { name: "Transcript" }).getByText("Ended: cancelled").waitFor();
    expect(await cancel.count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it("shows a repository task's branch and diff at 375 px, downloads its patch, and follows it up", async () => {
    const { page, problems } = await signedInPage(375);
    await page.goto(`${stub.url}/console/#/new`);
    await page.getByLabel("Task", { exact: true }).fill("Add a greeting\n@stub delay=0");
    await page.getByLabel("Repository URL").fill(REPO);
    const taskId = await runFromForm(page);
    await page.getByRole("log", { name: "Transcript" }).getByText("Ended: succeeded").waitFor();

    await page.getByText(`claude/${taskId}`, { exact: true }).waitFor();
    const diff = page.getByRole("region", { name: "Changes to NOTES.md" });
    await diff.getByText("added: Claude Code: Add a greeting").waitFor();
    expect(await diff.getByText("added: Stub sandbox (no container, no Claude) made this change:").count()).toBe(1);
    expect(await fitsWidth(page)).toBe(true);

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download patch" }).click()]);
    const patch = await (await fetch(`${stub.url}/tasks/${taskId}/artifacts/changes.patch`, { headers: { authorization: `Bearer ${stub.token}` } })).text();
    expect(download.suggestedFilename()).toBe(`${taskId.slice(-8)}-changes.patch`);
    expect(await readFile(await download.path(), "utf8")).toBe(patch);

    await page.getByRole("button", { name: "Follow up" }).click();
    await page.waitForURL(new RegExp(`#/new\\?continueFrom=${taskId}$`));
    expect(await page.getByLabel("Follow up on task").inputValue()).toBe(taskId);
    expect(await page.getByLabel("Repository URL").isDisabled()).toBe(true);
    await page.getByLabel("Task", { exact: true }).fill("And a farewell\n@stub delay=0");
    const followUpId = await runFromForm(page);
    expect(followUpId).not.toBe(taskId);
    await page.getByRole("link", { name: taskId.slice(-8), exact: true }).waitFor();
    await page.getByRole("log", { name: "Transcript" }).getByText("Ended: succeeded").waitFor();
    expect(problems).toEqual([]);
  });

  it("resumes a stream cut mid-task from the last event it had, with no event lost or shown twice", async () => {
    const proxy = await cuttingProxy(stub.url, 4);
    try {
      const { page, problems } = await openPage();
      await signIn(page, proxy.url);
      const { taskId } = await submit({ task: "Survives a dropped connection\n@stub delay=400\n@stub events=5" });
      await page.goto(`${proxy.url}/console/#/tasks/${taskId}`);
      const transcript = page.getByRole("log", { name: "Transcript" });
      await transcript.getByText("Ended: succeeded").waitFor();

      expect(proxy.streams).toEqual([undefined, "4"]);
      const entries = await transcript.evaluate((log) => [...log.children].map((entry) => (entry.querySelector("summary") ?? entry).textContent));
      expect(entries).toEqual([
        "Status: queued",
        "Status: running",
        "Claude Code started with claude-stub-1; tools: Bash, Edit, Read, Write.",
        "Step 1 of 5: working on the task.",
        "Bash echo hello from the stub · done",
        ...[2, 3, 4, 5].map((step) => `Step ${step} of 5: working on the task.`),
        "Claude Code finished.",
        "Ended: succeeded",
      ]);
      expect(problems).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

/**
 * A proxy to `target` that cuts the first event stream it carries after
 * `events` whole events and half of the next, as a dropped connection does
 * (its close is orderly, so the browser surely has what was sent before it);
 * it records the `Last-Event-ID` of each event stream asked for.
 */
async function cuttingProxy(target: string, events: number) {
  const streams: (string | undefined)[] = [];
  const server = createServer((request, response) => {
    const isStream = (request.url ?? "").split("?")[0]!.endsWith("/events") && (request.headers.accept ?? "").includes("text/event-stream");
    const cut = isStream && streams.length === 0;
    if (isStream) streams.push(request.headers["last-event-id"] as string | undefined);
    const upstream = httpRequest(new URL(request.url ?? "/", target), { method: request.method, headers: { ...request.headers, host: new URL(target).host } }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      if (!cut) {
        answer.pipe(response);
        return;
      }
      answer.setEncoding("utf8");
      let pending = "";
      let forwarded = 0;
      answer.on("data", (chunk: string) => {
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf("\n\n")) !== -1) {
          const block = pending.slice(0, end + 2);
          pending = pending.slice(end + 2);
          if (forwarded === events) {
            // Half an event, and the connection closes: what was sent arrives, the rest never does.
            answer.destroy();
            response.end(block.slice(0, block.length / 2));
            return;
          }
          response.write(block);
          if (/^id: /m.test(block)) forwarded += 1;
        }
      });
    });
    upstream.on("error", () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    streams,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
