#!/usr/bin/env node
/**
 * The `claude-sandbox` operator CLI. Each command returns data; only this entry
 * point prints it: JSON alone on stdout (every token the command was given
 * removed), diagnostics on stderr, exit 0 when it succeeded, 1 when a check or
 * a task failed, 2 for a usage mistake (the CLI's own, or a request the
 * deployment refused as sent). Every failure is `{success: false, error, code,
 * http_code?, hint}`. `events` prints one JSON line per event, or a live view
 * when stdout is a terminal; `artifact` prints the artifact's bytes as they
 * are. Commands are loaded only when they run, so that the CLI starts fast.
 */
import { Command, CommanderError, Option } from "commander";
import type { ArtifactFlags } from "./commands/artifact.js";
import type { EventSink, EventsFlags } from "./commands/events.js";
import type { ExecuteTaskFlags } from "./commands/execute-task.js";
import type { ListFlags } from "./commands/list.js";
import type { SubmitFlags } from "./commands/submit.js";
import type { TestDeploymentFlags } from "./commands/test-deployment.js";
import type { WaitFlags } from "./commands/wait.js";
import {
  type CommandResult,
  EXIT,
  type ExitCode,
  exitCodeOf,
  failure,
  type JsonObject,
  type RawResult,
  redact,
  redactBytes,
  renderJson,
  type StreamedResult,
  UsageError,
  usageFailure,
} from "./lib/result.js";
import { secretArguments } from "./lib/secrets.js";
import { TOKEN_ENV } from "./lib/target.js";

/** The token in the environment is never printed. */
const environmentSecrets = [process.env[TOKEN_ENV]];

/**
 * The arguments a message about them must not show: the token and values that
 * look like credentials (results are not redacted with these: they may quote the task).
 */
function argumentSecrets(): string[] {
  return secretArguments(
    process.argv.slice(2),
    program.commands.map((command) => command.name()),
  );
}

function print(value: unknown, secrets: readonly (string | undefined)[], compact = false): void {
  process.stdout.write(renderJson(value, [...environmentSecrets, ...secrets], { compact }));
}

/** Prints a failure of the CLI itself (a usage mistake, a bug) and exits. */
function fail(output: JsonObject, code: ExitCode): never {
  print(output, argumentSecrets());
  process.exit(code);
}

function failOnError(error: unknown): never {
  if (error instanceof UsageError) fail(usageFailure(error), EXIT.usage);
  const message = `Internal error: ${error instanceof Error ? error.message : String(error)}`;
  fail(failure({ code: "internal_error", error: message, hint: "A bug of the CLI: run `claude-sandbox diagnose` and report it with the command you ran." }), EXIT.failed);
}

async function run(action: () => Promise<CommandResult>): Promise<void> {
  try {
    const result = await action();
    print(result.output, result.secrets ?? []);
    process.exitCode = exitCodeOf(result.ok, result.output);
  } catch (error) {
    failOnError(error);
  }
}

/** Runs a command whose output, when it succeeds, is bytes to print as they are. */
async function runRaw(action: () => Promise<RawResult | CommandResult>): Promise<void> {
  try {
    const result = await action();
    if ("raw" in result) {
      process.stdout.write(redactBytes(result.raw, [...environmentSecrets, ...(result.secrets ?? [])]));
      process.exitCode = EXIT.ok;
      return;
    }
    print(result.output, result.secrets ?? []);
    process.exitCode = exitCodeOf(result.ok, result.output);
  } catch (error) {
    failOnError(error);
  }
}

/** Runs a command that streams its output: only a failure is left to print, on one line after JSON lines. */
async function runStreamed(action: () => Promise<StreamedResult>, compact: boolean): Promise<void> {
  try {
    const result = await action();
    if (result.failure) print(result.failure, result.secrets ?? [], compact);
    process.exitCode = exitCodeOf(result.ok, result.failure);
  } catch (error) {
    failOnError(error);
  }
}

/** The sink of `events`: one JSON line per event, or the live view on a terminal. */
async function eventSink(live: boolean): Promise<EventSink> {
  const secrets: (string | undefined)[] = [...environmentSecrets];
  if (!live) {
    return {
      open: (given) => void secrets.push(...given),
      event: (event) => void process.stdout.write(renderJson(event, secrets, { compact: true })),
      close: () => undefined,
    };
  }
  const { createLiveView } = await import("./lib/live-view.js");
  const view = createLiveView({
    write: (text) => process.stdout.write(redact(text, secrets)),
    get columns() {
      return process.stdout.columns;
    },
  });
  let timer: NodeJS.Timeout | undefined;
  return {
    open: (given) => {
      secrets.push(...given);
      timer = setInterval(() => view.tick(), 1_000);
    },
    event: (event) => view.event(event),
    close: () => {
      clearInterval(timer);
      view.close();
    },
  };
}

/** A parser of an option's value: `accepts` tells whether it is good, `example` is one that is. */
function optionValue(name: string, what: string, example: string, accepts: (value: string) => boolean) {
  return (value: string): number => {
    if (!accepts(value)) throw new UsageError("invalid_option_value", `${name} must be ${what}, got "${value}"`, `Give ${what}, e.g. ${name} ${example}.`);
    return Number(value);
  };
}

const positiveInteger = (name: string, example: string) => optionValue(name, "a positive integer", example, (value) => /^\d+$/.test(value) && Number(value) >= 1);
const nonNegativeInteger = (name: string, example: string) => optionValue(name, "an integer of 0 or more", example, (value) => /^\d+$/.test(value));
const positiveNumber = (name: string, example: string) => optionValue(name, "a number above 0", example, (value) => /^\d+(\.\d+)?$/.test(value) && Number(value) > 0);

/** Only the options that were given. */
function given<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

const program = new Command()
  .name("claude-sandbox")
  .description(
    "Operate a claude-sandbox deployment. Output is JSON on stdout (but for `artifact`); URL and token may come from CLAUDE_SANDBOX_URL and CLAUDE_SANDBOX_TOKEN.\n" +
      "A task's way: submit → events --follow (or wait) → result. On a repository: submit --repo URL → wait → artifact <taskId> changes.patch, or --pr; then submit --continue <taskId>.",
  )
  .showHelpAfterError()
  .configureOutput({
    writeOut: (text) => process.stderr.write(text),
    // Commander's own errors quote arguments (`unknown command '…'`).
    writeErr: (text) => process.stderr.write(redact(text, argumentSecrets())),
  })
  .exitOverride();

/** The options of a task, the same for `submit` and `execute-task`. */
function withTaskOptions(command: Command): Command {
  return command
    .addOption(new Option("--timeout <ms>", "task timeout in ms").argParser(positiveInteger("--timeout", "600000")))
    .option("--model <model>", "Claude model name or alias")
    .addOption(new Option("--max-turns <n>", "most agent turns").argParser(positiveInteger("--max-turns", "20")))
    .option("--permission-mode <mode>", "Claude Code permission mode (docs/api.md lists the allowed ones)")
    .addOption(new Option("--max-budget-usd <usd>", "stop the task when it has cost this much").argParser(positiveNumber("--max-budget-usd", "2")))
    .option("--callback-url <url>", "https:// URL that receives the signed task.finished webhook")
    .option("--repo <url>", "check out this repository (an https:// URL on an allowed host) and work on a branch of it")
    .option("--ref <ref>", "the branch, tag or commit to check out (default: the repository's default branch)")
    .option("--branch <name>", "the work branch (default: claude/<task id>)")
    .option("--push", "push the work branch when Claude is done")
    .option("--pr", "push the work branch and open a pull request from it")
    .option("--pr-title <title>", "the pull request's title (with --pr)")
    .option("--pr-body <text>", "the pull request's body (with --pr)")
    .option("--continue <taskId>", "follow up an earlier repository task: its repository, branch, working tree and Claude session");
}

withTaskOptions(
  program
    .command("submit")
    .description(
      "Hand a task to the deployment and print its status document at once; the task runs whoever follows it.\n" +
        "With --repo it works on a branch of that repository; with --continue <taskId> it follows up an earlier repository task.",
    )
    .usage("[url] [token] [options] [--] <task>")
    .argument("[args...]", "[url] [token] <task>; put -- before a task that starts with a dash"),
).action((args: string[], flags: SubmitFlags) =>
  run(async () => {
    const { submitTask, taskSettings } = await import("./commands/submit.js");
    return submitTask({ args, ...taskSettings(flags) });
  }),
);

program
  .command("status")
  .description("Print a task's status document")
  .usage("[url] [token] <taskId>")
  .argument("[args...]", "[url] [token] <taskId>")
  .action((args: string[]) =>
    run(async () => {
      const { taskStatus } = await import("./commands/status.js");
      return taskStatus({ args });
    }),
  );

program
  .command("events")
  .description("Print a task's events as JSON lines (a live view on a terminal); --follow stays until the task ends")
  .usage("[url] [token] <taskId> [--follow] [--after seq] [--json]")
  .argument("[args...]", "[url] [token] <taskId>")
  .option("-f, --follow", "stay connected and print events as they happen, until the task ends")
  .addOption(new Option("--after <seq>", "only the events after this seq").argParser(nonNegativeInteger("--after", "4")))
  .option("--json", "JSON lines even on a terminal")
  .action((args: string[], options: EventsFlags) => {
    const live = process.stdout.isTTY === true && options.json !== true;
    return runStreamed(async () => {
      const { taskEvents } = await import("./commands/events.js");
      return taskEvents({ args, sink: await eventSink(live), ...given({ follow: options.follow, after: options.after }) });
    }, !live);
  });

program
  .command("wait")
  .description("Wait until a task ends, then print its result (exit 1 unless it succeeded)")
  .usage("[url] [token] <taskId> [--timeout ms]")
  .argument("[args...]", "[url] [token] <taskId>")
  .addOption(new Option("--timeout <ms>", "give up waiting after this many ms (the task goes on)").argParser(positiveInteger("--timeout", "600000")))
  .action((args: string[], options: WaitFlags) =>
    run(async () => {
      const { waitForTask } = await import("./commands/wait.js");
      return waitForTask({ args, ...given({ timeoutMs: options.timeout }) });
    }),
  );

program
  .command("cancel")
  .description("Stop a queued or running task and print its status document")
  .usage("[url] [token] <taskId>")
  .argument("[args...]", "[url] [token] <taskId>")
  .action((args: string[]) =>
    run(async () => {
      const { cancelTask } = await import("./commands/cancel.js");
      return cancelTask({ args });
    }),
  );

program
  .command("list")
  .description("List the deployment's tasks, newest first")
  .usage("[url] [token] [--status s] [--limit n] [--cursor c]")
  .argument("[args...]", "[url] [token]")
  .option("--status <status>", "only tasks with this status")
  .addOption(new Option("--limit <n>", "tasks per page (1-100, default 20)").argParser(positiveInteger("--limit", "20")))
  .option("--cursor <cursor>", "the cursor of the previous page, for the next (older) one")
  .action((args: string[], options: ListFlags) =>
    run(async () => {
      const { listTasks } = await import("./commands/list.js");
      return listTasks({ args, ...given(options) });
    }),
  );

program
  .command("result")
  .description("Print the stored result of a finished task (exit 1 unless it succeeded)")
  .usage("[url] [token] <taskId>")
  .argument("[args...]", "[url] [token] <taskId>")
  .action((args: string[]) =>
    run(async () => {
      const { readResult } = await import("./commands/result.js");
      return readResult({ args });
    }),
  );

program
  .command("artifact")
  .description(
    "Print an artifact of a repository task (changes.patch) as it is, or write it to --output FILE.\n" +
      "The one command whose stdout is not JSON: the patch itself; with --output, or when it fails, JSON as everywhere (exit 1: artifact_not_found, task_not_finished).",
  )
  .usage("[url] [token] <taskId> <name> [--output file]")
  .argument("[args...]", "[url] [token] <taskId> <name>; the name is changes.patch")
  .option("-o, --output <file>", "write the artifact to this file and print a JSON summary instead")
  .action((args: string[], options: ArtifactFlags) =>
    runRaw(async () => {
      const { readArtifact } = await import("./commands/artifact.js");
      return readArtifact({ args, ...given(options) });
    }),
  );

withTaskOptions(
  program
    .command("execute-task")
    .description(
      "Run a task to its end: submit it (the same options as submit), print its id on stderr, wait through queueing and running, and print its result with execution_time_ms",
    )
    .usage("[url] [token] [options] [--] <task>")
    .argument("[args...]", "[url] [token] <task>; put -- before a task that starts with a dash"),
).action((args: string[], flags: ExecuteTaskFlags) =>
  run(async () => {
    const [{ executeTask }, { taskSettings }] = await Promise.all([import("./commands/execute-task.js"), import("./commands/submit.js")]);
    return executeTask({
      args,
      ...taskSettings(flags),
      onAccepted: ({ taskId, status }) =>
        void process.stderr.write(`Task ${taskId} accepted (${status}); waiting for it to end. Stopping here does not stop the task: claude-sandbox wait ${taskId}\n`),
    });
  }),
);

program
  .command("test-deployment")
  .description("Check a deployment: health, auth, validation, the task list, and with --task a real task followed to its result")
  .usage("[url] [token] [--task text] [--timeout ms]")
  .argument("[args...]", "[url] [token]")
  .option("--task <text>", "also run this task, follow its events and read its stored result")
  .addOption(new Option("--timeout <ms>", "timeout of the --task run in ms").argParser(positiveInteger("--timeout", "600000")))
  .action((args: string[], options: TestDeploymentFlags) =>
    run(async () => {
      const { testDeployment } = await import("./commands/test-deployment.js");
      return testDeployment({ args, ...given({ task: options.task, timeoutMs: options.timeout }) });
    }),
  );

program
  .command("check-prerequisites")
  .description("Check the tools a deployment needs: Node, npm, Docker, the Pulumi CLI, Claude Code")
  .action(() =>
    run(async () => {
      const { checkPrerequisites } = await import("./commands/check-prerequisites.js");
      return checkPrerequisites({});
    }),
  );

program
  .command("validate-config")
  .description("Check a checkout: Pulumi.yaml, stack files, the Dockerfile pins, the Worker's exports and bindings")
  .argument("[dir]", "the repository to check", ".")
  .action((dir: string) =>
    run(async () => {
      const { validateConfig } = await import("./commands/validate-config/index.js");
      return validateConfig({ dir });
    }),
  );

program
  .command("diagnose")
  .description("Gather versions, config checks, stack outputs and health, without revealing secrets; the problems found at the top (exit 1 when there are any)")
  .argument("[dir]", "the repository to check", ".")
  .action((dir: string) =>
    run(async () => {
      const { diagnose } = await import("./commands/diagnose.js");
      return diagnose({ dir });
    }),
  );

program
  .command("generate-token")
  .description("Generate a 256-bit URL-safe token, the same shape as the deployed ones")
  .action(() =>
    run(async () => {
      const { generateToken } = await import("./commands/generate-token.js");
      return generateToken();
    }),
  );

// A reader that stops early (`| head`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? EXIT.ok);
  throw error;
});

/** Commander's error codes, as the CLI's stable ones. */
const COMMANDER_CODES: Readonly<Record<string, string>> = {
  "commander.unknownCommand": "unknown_command",
  "commander.unknownOption": "unknown_option",
  "commander.excessArguments": "too_many_arguments",
  "commander.missingArgument": "missing_argument",
  "commander.optionMissingArgument": "missing_option_value",
  "commander.missingMandatoryOptionValue": "missing_option_value",
  "commander.conflictingOption": "conflicting_options",
  "commander.invalidArgument": "invalid_option_value",
};

/** A mistake Commander found, as the CLI's failure, with a hint to the help of the command it concerns. */
function commanderFailure(error: CommanderError): JsonObject {
  const names = program.commands.map((command) => command.name());
  const command = process.argv.slice(2).find((value) => names.includes(value));
  const hint = command === undefined ? "Run `claude-sandbox --help` for the commands." : `Run \`claude-sandbox ${command} --help\` for its usage.`;
  return failure({ code: COMMANDER_CODES[error.code] ?? "usage_error", error: error.message.replace(/^error: /, ""), hint });
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) process.exit(EXIT.ok);
    fail(commanderFailure(error), EXIT.usage);
  }
  failOnError(error);
}
