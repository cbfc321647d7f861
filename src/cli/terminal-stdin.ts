import { isatty } from "node:tty";

/**
 * A command that reads standard input while it is a terminal waits for the person to type: with
 * nothing said, `rpcpool call pkg.S/M` (the JSON forgotten) or `rpcpool column-sums -` looks hung.
 * One line on stderr says what is awaited and how to end it; from a pipe or a file, nothing.
 */
export function noteTerminalStdin(
  what: string,
  // isatty(0), not process.stdin: its getter would make a stream on fd 0, which a pipe's reader
  // (src/lesson/client/pipe-reader.ts) reads through a handle of its own.
  stdin: { isTTY?: boolean } = { isTTY: isatty(0) },
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): void {
  if (!stdin.isTTY) return;
  say(`reading ${what} from the terminal: type it, then Ctrl-D on a new line (Ctrl-C to quit)`);
}
