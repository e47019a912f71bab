/**
 * Builds the web console's static assets into `dist/assets`
 * (`CONSOLE_ASSETS.directory`), whose tree mirrors the URL paths, and returns
 * that directory's absolute path. The Pulumi program uploads what it finds
 * there with the Worker.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CONSOLE_ASSETS } from "../worker/src/contract.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The console's page. */
const INDEX_HTML = '<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>claude-sandbox</title></html>\n';

/** Writes the console into `dist/assets` and returns that directory's absolute path. */
export async function buildConsole(): Promise<string> {
  const directory = resolve(ROOT, CONSOLE_ASSETS.directory);
  const consoleDir = join(directory, CONSOLE_ASSETS.consolePath);
  await mkdir(consoleDir, { recursive: true });
  // Replaced whole, so a reader never sees half a file.
  const partial = join(consoleDir, `index.html.${process.pid}.partial`);
  await writeFile(partial, INDEX_HTML);
  await rename(partial, join(consoleDir, "index.html"));
  return directory;
}
