/**
 * A command that reads standard input while it is a terminal waits for the person to type: with
 * nothing said, `rpcpool call pkg.S/M` (the JSON forgotten) or `rpcpool column-sums -` looks hung.
 * One line on stderr says what is awaited and how to end it; from a pipe or a file, nothing.
 */
export function noteTerminalStdin(
  what: string,
  stdin: { isTTY?: boolean } = process.stdin,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): void {
  if (!stdin.isTTY) return;
  say(`reading ${what} from the terminal: type it, then Ctrl-D on a new line (Ctrl-C to quit)`);
}
