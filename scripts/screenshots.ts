/**
 * `npm run screenshots`: pictures of each view of the web console, taken in a
 * headless browser from a fresh `npm run dev:stub` with a few tasks of each
 * kind, into docs/images/ (docs/console.md shows them).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { TaskStatusDocument } from "../worker/src/contract.js";
import { launchBrowser } from "./browser.js";
import { freePort, stopProcessGroup } from "./processes.js";
import { DEV_TOKEN } from "./stub-vars.js";

const IMAGES = "docs/images";
const REPO = "https://github.com/octocat/Hello-World";

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const state = mkdtempSync(join(tmpdir(), "claude-sandbox-screenshots-"));
const { SERVER_AUTH_TOKEN: _ignored, ...environment } = process.env;
const stub = spawn(process.execPath, ["--import", "tsx", "scripts/dev-stub.ts", "--port", String(port), "--state", join(state, "data")], {
  env: environment,
  detached: true,
  stdio: "ignore",
});

async function api<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { Authorization: `Bearer ${DEV_TOKEN}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

async function finished(taskId: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    if ((await api<TaskStatusDocument>(`/tasks/${taskId}`)).finishedAt !== null) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`task ${taskId} did not end`);
}

async function shoot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: join(IMAGES, `${name}.png`), fullPage });
  process.stderr.write(`${IMAGES}/${name}.png\n`);
}

const browser = await launchBrowser();
try {
  for (let tries = 0; ; tries++) {
    if (await fetch(`${url}/health`).then((response) => response.ok, () => false)) break;
    if (tries > 600) throw new Error("npm run dev:stub did not start");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  mkdirSync(IMAGES, { recursive: true });

  // A few tasks of each kind: done, done on a repository, failed, cancelled, and one still running.
  const done = [
    await api<TaskStatusDocument>("/tasks", { task: "Explain how the retry logic in src/queue.ts works\n@stub delay=0" }),
    await api<TaskStatusDocument>("/tasks", { task: "Fix the typo in the README\n@stub delay=0", repo: { url: REPO } }),
    await api<TaskStatusDocument>("/tasks", { task: "Run the test suite and report failures\n@stub delay=0\n@stub exit=1" }),
  ];
  for (const task of done) await finished(task.taskId);
  const cancelled = await api<TaskStatusDocument>("/tasks", { task: "Upgrade every dependency\n@stub hang" });
  await api(`/tasks/${cancelled.taskId}/cancel`, {});
  const running = await api<TaskStatusDocument>("/tasks", { task: "Review the open pull requests\n@stub hang" });

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${url}/console/`);
  await page.getByLabel("API token").waitFor();
  await shoot(page, "console-sign-in");

  await page.getByLabel("API token").fill(DEV_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("table", { name: "Tasks" }).waitFor();
  await page.getByRole("img", { name: /tasks? over/ }).waitFor();
  await shoot(page, "console-tasks");

  await page.goto(`${url}/console/#/new`);
  await page.getByLabel("Task", { exact: true }).fill("Add a --json flag to the export command, with tests.\n@stub delay=1200");
  await page.getByLabel("Repository URL").fill(REPO);
  await page.getByLabel("Max budget (USD)").fill("2");
  await page.getByLabel("Branch", { exact: true }).fill("feature/export-json");
  await shoot(page, "console-new-task", true);

  await page.getByRole("button", { name: "Run task" }).click();
  const transcript = page.getByRole("log", { name: "Transcript" });
  await transcript.getByText("Step 2 of 3", { exact: false }).waitFor({ timeout: 30_000 });
  await transcript.getByRole("group").first().getByText("Bash", { exact: true }).click();
  await shoot(page, "console-task-live", true);

  await page.goto(`${url}/console/#/tasks/${done[1]!.taskId}`);
  await page.getByRole("region", { name: "Changes to NOTES.md" }).waitFor();
  await page.getByRole("region", { name: "Final answer" }).getByRole("paragraph").first().waitFor();
  await shoot(page, "console-task-repository", true);

  await page.goto(`${url}/console/#/tasks/${running.taskId}`);
  await page.getByRole("button", { name: "Cancel", exact: true }).click();
  await page.getByRole("dialog", { name: "Cancel this task?" }).waitFor();
  await shoot(page, "console-cancel");

  const phone = await browser.newContext({ viewport: { width: 375, height: 760 } });
  const small = await phone.newPage();
  await small.goto(`${url}/console/`);
  await small.getByLabel("API token").fill(DEV_TOKEN);
  await small.getByRole("button", { name: "Sign in" }).click();
  await small.goto(`${url}/console/#/tasks/${done[1]!.taskId}`);
  await small.getByRole("region", { name: "Final answer" }).getByRole("paragraph").first().waitFor();
  await shoot(small, "console-task-375px");
} finally {
  await browser.close();
  await stopProcessGroup(stub);
  rmSync(state, { recursive: true, force: true });
}
