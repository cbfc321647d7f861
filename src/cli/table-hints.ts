import { open } from "node:fs/promises";
import { tableDialect } from "../csv/read-options.js";
import type { TableReadOptions } from "../lesson/client/table-input.js";
import { say, sayError } from "./output.js";

/**
 * The errors in words on stderr, each followed by its hints, which name the file: with several
 * refused tables, a hint said after all the errors could belong to any of them.
 */
export async function sayErrorsWithHints(
  errors: Refusal[],
  read: TableReadOptions,
  remote: boolean,
): Promise<void> {
  for (const error of errors) {
    sayError(error);
    for (const hint of await tableHints(error, read, remote)) say(`hint: ${error.file}: ${hint}`);
  }
}

/** A refused table as the hints read it: the file, and the server's words. */
export interface Refusal {
  file: string;
  code: string;
  message: string;
}

const fault = /line (\d+), column (\d+): (?:"((?:[^"\\]|\\.)*)" is not a number|empty cell)/;
const candidates = [",", ";", "\t", "|"];

/**
 * What a person likely meant when a table is refused, in words: a cell like `1,2,3` holds another
 * delimiter, a first line of words is a header, an empty cell at a line's end is a trailing
 * delimiter. Read from the server's message (line, column, the cell), and for the last, from the
 * line itself when the file is a local one.
 */
export async function tableHints(
  refusal: Refusal,
  read: TableReadOptions,
  remote: boolean,
): Promise<string[]> {
  if (refusal.code !== "INVALID_ARGUMENT") return [];
  const match = fault.exec(refusal.message);
  if (!match) return [];
  const line = Number(match[1]);
  const { delimiter, decimal } = tableDialect(read);
  const hints: string[] = [];
  if (match[3] !== undefined) {
    const cell = unquote(match[3]);
    const other = candidates.find((c) => c !== delimiter && c !== decimal && cell.includes(c));
    if (other === "," && decimal === "." && /^[+-]?\d+,\d+$/.test(cell.trim())) {
      hints.push(
        `"${cell}": if "," separates cells, try --delimiter ,; if it is a decimal comma, try --decimal ,`,
      );
    } else if (other && cell.split(other).every((part) => looksNumeric(part, decimal))) {
      hints.push(
        `the cells look separated by "${shown(other)}", not "${shown(delimiter)}": try --delimiter ${flag(other)}`,
      );
    } else if (line === 1 && !read.header && /[A-Za-z_]/.test(cell) && !looksNumeric(cell, decimal)) {
      hints.push(
        other
          ? `the first line looks like a header of column names separated by "${shown(other)}": try --header --delimiter ${flag(other)}`
          : "the first line looks like a header of column names: try --header",
      );
    } else if (/[A-Za-z]/.test(cell) && !looksNumeric(cell, decimal)) {
      hints.push(
        `column ${match[2]} holds text ("${cell}"): to sum only the numeric columns, name them with --columns (1-based numbers${read.header ? ", or header names" : ""}, e.g. --columns ${otherColumns(Number(match[2]))})`,
      );
    }
  } else if (!remote) {
    const text = await lineOf(refusal.file, line);
    if (text?.replace(/[ \r]+$/, "").endsWith(delimiter)) {
      hints.push(
        `line ${line} ends with the delimiter "${shown(delimiter)}": a trailing delimiter makes an empty last cell`,
      );
    }
  }
  return hints;
}

const shown = (c: string) => (c === "\t" ? "\\t" : c);
/** The delimiter as typed on a command line: a tab spelled out, shell characters quoted. */
const flag = (c: string) => (c === "\t" ? "tab" : c === "|" || c === ";" ? `'${c}'` : c);

function looksNumeric(text: string, decimal: string): boolean {
  const t = text.trim().replace(decimal, ".");
  return t !== "" && Number.isFinite(Number(t));
}

function unquote(text: string): string {
  try {
    return JSON.parse(`"${text}"`);
  } catch {
    return text;
  }
}

/** Line `n` (1-based) of a local file, read from its first MiB only; undefined when not there. */
async function lineOf(path: string, n: number): Promise<string | undefined> {
  try {
    const handle = await open(path, "r");
    try {
      const buffer = Buffer.alloc(1 << 20);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      const lines = buffer.subarray(0, bytesRead).toString("utf8").split("\n");
      return n <= lines.length - 1 || bytesRead < buffer.length
        ? lines[n - 1]?.replace(/\r$/, "")
        : undefined;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

/** Two column numbers other than the text one, for the --columns example of a hint. */
function otherColumns(text: number): string {
  return [1, 2, 3]
    .filter((c) => c !== text)
    .slice(0, 2)
    .join(",");
}
