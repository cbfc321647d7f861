import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { readFailure } from "./output.js";
import { UsageError } from "./run-program.js";

/** One line of input with its number in the file (1-based, blank lines counted). */
export interface InputLine {
  number: number;
  text: string;
}

/** The stream a FILE argument names: the file, or standard input for `-` (or no FILE). */
/** How an input is named in messages: its path, or "standard input" for `-` or none. */
export const inputName = (file: string | undefined) =>
  file === undefined || file === "-" ? "standard input" : file;

export function inputStream(file: string | undefined): Readable {
  if (file === undefined || file === "-") return process.stdin;
  const stream = createReadStream(file, { encoding: "utf8" });
  return stream;
}

/**
 * The longest input line taken (64 MiB, the largest message a server takes by default): a stream
 * with no newline (a binary file, /dev/zero) is refused instead of filling the client's memory.
 */
export const maxLineChars = 64 << 20;

/**
 * The non-blank lines of a stream, read as they are asked for: the stream is pulled a chunk at a
 * time (backpressure), so a file of millions of lines takes the memory of a chunk and one line.
 */
export async function* inputLines(stream: Readable, name = "standard input"): AsyncGenerator<InputLine> {
  stream.setEncoding("utf8");
  let rest = "";
  let number = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      // Only the new chunk is searched for a newline: a long line is not scanned again each time.
      let end = chunk.indexOf("\n");
      if (end >= 0) end += rest.length;
      rest += chunk;
      let start = 0;
      for (; end >= 0; end = rest.indexOf("\n", start)) {
        const text = rest.slice(start, end);
        start = end + 1;
        number++;
        if (text.trim() !== "") yield { number, text };
      }
      rest = rest.slice(start);
      if (rest.length > maxLineChars) {
        throw new UsageError(
          `${name}: line ${number + 1} is longer than ${maxLineChars >> 20} MiB with no newline: the input is JSON lines, one request a line`,
        );
      }
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR" || code === "EACCES" || code === "EPERM") {
      // In a person's words, as a table's or --weights' ("permission denied"), not Node's
      // "EACCES: permission denied, open '...'".
      throw new UsageError(`cannot read ${name}: ${readFailure(error)}`);
    }
    throw error;
  }
  number++;
  if (rest.trim() !== "") yield { number, text: rest };
}

/**
 * Lines on their way to stdout, written together: one write a line cost a system call each (on a
 * file or pipe stdout writes synchronously), the largest part of `map`'s time. Flushed when 64 KiB
 * have gathered, or on the next turn of the event loop, so that a stream's replies still show as
 * they come.
 */
let gathered = "";
let flushSoon: NodeJS.Immediate | undefined;

/** Writes one line on stdout; the promise (when there is one) waits while the reader is behind. */
export function writeLine(text: string): Promise<void> | undefined {
  gathered += `${text}\n`;
  if (gathered.length >= 65_536) return flushLines();
  flushSoon ??= setImmediate(() => void flushLines());
  return undefined;
}

/** Writes what is gathered; resolves when stdout can take more (memory stays flat however much is printed). */
export function flushLines(): Promise<void> | undefined {
  if (flushSoon) clearImmediate(flushSoon);
  flushSoon = undefined;
  if (gathered === "") return undefined;
  const text = gathered;
  gathered = "";
  if (process.stdout.write(text)) return undefined;
  return new Promise((resolve) => process.stdout.once("drain", resolve));
}
