#!/usr/bin/env node
// The `claude-sandbox` command: the CLI as built by `npm ci` (its `prepare`
// script, cli/build.ts) into dist/cli/, so that it starts without compiling.
try {
  await import("../dist/cli/main.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/cli/main.js")) throw error;
  const failure = {
    success: false,
    error: "The claude-sandbox CLI is not built in this checkout",
    code: "cli_not_built",
    hint: "Run `npm ci` (or `npm run build:cli`) in the repository",
  };
  process.stdout.write(`${JSON.stringify(failure, null, 2)}\n`);
  process.exit(1);
}
