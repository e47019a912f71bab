/**
 * The `claude-sandbox` operator CLI. Each command returns data; only this entry
 * point prints it: JSON alone on stdout (every token the command was given
 * removed), diagnostics on stderr, exit 0 when it succeeded, 1 when a check or
 * a task failed, 2 for a usage mistake.
 */
import { Command, CommanderError, Option } from "commander";
import { checkPrerequisites } from "./commands/check-prerequisites.js";
import { diagnose } from "./commands/diagnose.js";
import { executeTask } from "./commands/execute-task.js";
import { generateToken } from "./commands/generate-token.js";
import { readResult } from "./commands/result.js";
import { testDeployment } from "./commands/test-deployment.js";
import { validateConfig } from "./commands/validate-config.js";
import { type CommandResult, EXIT, redact, UsageError } from "./lib/result.js";
import { TOKEN_ENV } from "./lib/target.js";

/** The token in the environment is never printed. */
const environmentSecrets = [process.env[TOKEN_ENV]];

/**
 * Arguments that could be a token: a usage error may echo any argument, so its
 * message is printed without them (results are not: they may quote the task).
 */
const argumentSecrets = process.argv.slice(2).filter((value) => value.length >= 8 && !/^(https?:\/\/|-|\.{0,2}\/)/.test(value));

function print(value: unknown, secrets: readonly (string | undefined)[]): void {
  process.stdout.write(`${redact(JSON.stringify(value, null, 2), [...environmentSecrets, ...secrets])}\n`);
}

function fail(message: string, code: number, hint?: string): never {
  print({ success: false, error: message, ...(hint ? { hint } : {}) }, argumentSecrets);
  process.exit(code);
}

async function run(action: () => Promise<CommandResult>): Promise<void> {
  try {
    const result = await action();
    print(result.output, result.secrets ?? []);
    process.exitCode = result.ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    if (error instanceof UsageError) fail(error.message, EXIT.usage, error.hint);
    fail(`Internal error: ${error instanceof Error ? error.message : String(error)}`, EXIT.failed);
  }
}

function positiveInteger(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${name} must be a positive integer, got "${value}"`);
    return Number(value);
  };
}

const program = new Command()
  .name("claude-sandbox")
  .description("Operate a claude-sandbox deployment. Output is JSON on stdout; URL and token may come from CLAUDE_SANDBOX_URL and CLAUDE_SANDBOX_TOKEN.")
  .showHelpAfterError()
  .configureOutput({
    writeOut: (text) => process.stderr.write(text),
    writeErr: (text) => process.stderr.write(text),
  })
  .exitOverride();

program
  .command("execute-task")
  .description("Run a task and print its result with execution_time_ms")
  .usage("[url] [token] [--timeout ms] [--] <task>")
  .argument("<args...>", "[url] [token] <task>; put -- before a task that starts with a dash")
  .addOption(new Option("--timeout <ms>", "task timeout in ms (the HTTP wait is a little longer)").argParser(positiveInteger("--timeout")))
  .action((args: string[], options: { timeout?: number }) =>
    run(() => executeTask({ args, ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }) })),
  );

program
  .command("result")
  .description("Print the stored result of a task")
  .usage("[url] [token] <taskId>")
  .argument("<args...>", "[url] [token] <taskId>")
  .action((args: string[]) => run(() => readResult({ args })));

program
  .command("test-deployment")
  .description("Check a deployment: health, auth, validation, and with --task a real task read back")
  .usage("[url] [token] [--task text] [--timeout ms]")
  .argument("[args...]", "[url] [token]")
  .option("--task <text>", "also run this task and read its stored result back")
  .addOption(new Option("--timeout <ms>", "timeout of the --task run in ms").argParser(positiveInteger("--timeout")))
  .action((args: string[], options: { task?: string; timeout?: number }) =>
    run(() =>
      testDeployment({
        args,
        ...(options.task === undefined ? {} : { task: options.task }),
        ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
      }),
    ),
  );

program
  .command("check-prerequisites")
  .description("Check the tools a deployment needs: Node, npm, Docker, the Pulumi CLI, Claude Code")
  .action(() => run(() => checkPrerequisites({})));

program
  .command("validate-config")
  .description("Check a checkout: Pulumi.yaml, stack files, the Dockerfile pins, the Worker's exports and bindings")
  .argument("[dir]", "the repository to check", ".")
  .action((dir: string) => run(() => validateConfig({ dir })));

program
  .command("diagnose")
  .description("Gather versions, config checks, stack outputs and health, without revealing secrets (always exits 0)")
  .argument("[dir]", "the repository to check", ".")
  .action((dir: string) => run(() => diagnose({ dir })));

program
  .command("generate-token")
  .description("Generate a 256-bit URL-safe token, the same shape as the deployed ones")
  .action(() => run(async () => generateToken()));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) process.exit(EXIT.ok);
    fail(error.message.replace(/^error: /, ""), EXIT.usage, "Run `claude-sandbox --help` for usage.");
  }
  if (error instanceof UsageError) fail(error.message, EXIT.usage, error.hint);
  throw error;
}
