import { type Command, CommanderError } from "commander";

/** A mistake in how a program was called: exit code 2, message on stderr. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Runs a commander program with our exit-code contract: 0 success, 1 a failed input or call,
 * 2 a usage error. The action reports its exit code with setExitCode.
 */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  // Subcommands do not inherit settings made after they were created: set them on each.
  const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
  for (const command of all(program)) {
    command.exitOverride();
    command.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  }
  try {
    await program.parseAsync(argv);
    return (program as Command & { exitCodeFromAction?: number }).exitCodeFromAction ?? 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; everything else commander refuses is usage.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${(error as Error)?.message ?? error}\n`);
    return 1;
  }
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
