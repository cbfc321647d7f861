import { type Command, CommanderError } from "commander";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import { setSpanError, startInternalSpan, withContext } from "../tracing/spans.js";
import { startTracing, type Tracing } from "../tracing/start-tracing.js";
import { TracingConfigError } from "../tracing/tracing-config.js";
import { interruptedExitCode, isInterruptedError } from "./interrupt.js";
import { printable, say, unreachableHints, writeJson } from "./output.js";

/** A mistake in how a program was called: exit code 2, message on stderr. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * A program that could not start for a reason outside its command line (a port another program
 * holds): exit code 1, the message as it is, without a gRPC code.
 */
export class StartupError extends Error {
  override name = "StartupError";
}

/** Commands whose JSON document lists `results` beside `errors` (the others have `errors` alone). */
const withResults = new Set(["column-sums", "weighted-means", "lesson"]);

export interface RunOptions {
  /**
   * With tracing on, the command is the root span of one trace (the client's): every file, part
   * and call it makes is a child. A server's run is no span: its calls are spans of their callers' traces.
   */
  commandSpan?: boolean;
}

/**
 * Runs a commander program with our exit-code contract: 0 success, 1 a failed input or call,
 * 2 a usage error. The action reports its exit code with setExitCode. A usage error, commander's
 * or ours, is one line and a pointer to --help; with --json, every failure is also a JSON document
 * on stdout, `{"errors":[{"code":…,"message":…}]}` (with `"results":[]` where the command lists
 * results), so that a script reading stdout always gets one.
 *
 * It also starts tracing when the OTEL_* variables configure an exporter (docs/observability.md,
 * Traces), and flushes its spans before returning: when a command ends, and when a server's
 * action returns after draining (SIGTERM).
 */
export async function runProgram(
  program: Command,
  argv: string[],
  options: RunOptions = {},
): Promise<number> {
  let tracing: Tracing | undefined;
  try {
    tracing = await startTracing(process.env, program.name());
  } catch (error) {
    if (!(error instanceof TracingConfigError)) throw error;
    say(`error: ${error.message}`);
    return 2;
  }
  try {
    if (!tracing || options.commandSpan === false) return await runCommand(program, argv);
    const name = program.commands.find((c) => c.name() === argv[2])?.name();
    const root = startInternalSpan(name ? `${program.name()} ${name}` : program.name());
    const code = await withContext(root.context, () => runCommand(program, argv));
    root.span.setAttribute("process.exit.code", code);
    if (code !== 0) setSpanError(root.span, `exit code ${code}`);
    root.span.end();
    return code;
  } finally {
    // Every span ended is exported before the program exits: none lost (a collector that is down
    // costs one warning, not the command's result).
    await tracing
      ?.shutdown()
      .catch((error: unknown) =>
        say(`warning: tracing: spans not exported: ${(error as Error)?.message ?? error}`),
      );
  }
}

async function runCommand(program: Command, argv: string[]): Promise<number> {
  // Subcommands do not inherit settings made after they were created: set them on each.
  const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
  for (const command of all(program)) {
    command.exitOverride();
    command.configureOutput({ writeErr: (text) => process.stderr.write(printable(text)) });
    command.showHelpAfterError(`(see '${commandPath(command)} --help')`);
  }
  const invoked = program.commands.find((c) => c.name() === argv[2] || c.aliases().includes(argv[2] ?? ""));
  const json = () => (invoked?.opts().json ?? false) || wantsJson(argv);
  try {
    await program.parseAsync(argv);
    return (program as Command & { exitCodeFromAction?: number }).exitCodeFromAction ?? 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; everything else commander refuses is usage.
      if (error.exitCode === 0) return 0;
      if (json()) await failureDocument(invoked, "INVALID_ARGUMENT", firstLine(error.message));
      return 2;
    }
    if (error instanceof UsageError) {
      say(`error: ${error.message}`);
      say(`(see '${invoked ? commandPath(invoked) : program.name()} --help')`);
      if (json()) await failureDocument(invoked, "INVALID_ARGUMENT", error.message);
      return 2;
    }
    if (error instanceof StartupError) {
      say(`error: ${error.message}`);
      if (json()) await failureDocument(invoked, "UNAVAILABLE", error.message);
      return 1;
    }
    const failure =
      error instanceof ClientError
        ? error
        : new ClientError(status.UNKNOWN, (error as Error)?.message ?? String(error));
    say(`error: ${failure.codeName}: ${failure.details}`);
    for (const hint of unreachableHints(failure)) say(`hint: ${hint}`);
    if (json()) await failureDocument(invoked, failure.codeName, failure.details);
    return isInterruptedError(failure) ? interruptedExitCode : 1;
  }
}

/** `--json` among the arguments before `--`, for failures before commander has read the options. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

function failureDocument(command: Command | undefined, code: string, message: string): Promise<void> {
  const errors = [{ code, message }];
  return writeJson(command && withResults.has(command.name()) ? { results: [], errors } : { errors });
}

function firstLine(text: string): string {
  return text.replace(/^error:\s*/, "").split("\n")[0]!;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Lets an action report its exit code to runProgram. */
export function setExitCode(program: Command, code: number): void {
  const root = rootOf(program) as Command & { exitCodeFromAction?: number };
  root.exitCodeFromAction = Math.max(root.exitCodeFromAction ?? 0, code);
}

function rootOf(command: Command): Command {
  let current = command;
  while (current.parent) current = current.parent;
  return current;
}
