import { connectFailureKind, unreachableFailures } from "../pool/connect-failure.js";
import { fileErrorWords } from "../rpc/client-credentials.js";
import type { ClientError } from "../rpc/client-error.js";

/**
 * Text as a terminal may show it: control characters (escape sequences that move the cursor,
 * recolour or retitle a terminal) come from servers' names and replies and from file names, and
 * are shown as `?`, never obeyed. Newlines and tabs stay.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?");
}

/** One line on stderr, printable. */
export function say(line: string): void {
  process.stderr.write(`${printable(line)}\n`);
}

/**
 * Writes one JSON document on stdout and waits until it is flushed (the process may exit next).
 * JSON.stringify escapes the C0 controls but leaves DEL and the C1 controls (U+009B is a CSI to
 * some terminals) raw: they are escaped too, so the document is safe to show and reads the same.
 */
export function writeJson(value: unknown): Promise<void> {
  const text = JSON.stringify(value).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return new Promise((resolve) => process.stdout.write(`${text}\n`, () => resolve()));
}

export function writeText(text: string): Promise<void> {
  const safe = printable(text);
  return new Promise((resolve) =>
    process.stdout.write(safe.endsWith("\n") ? safe : `${safe}\n`, () => resolve()),
  );
}

/** Why a file could not be read, in words: "no such file", not `ENOENT: ..., open '...'`. */
export function readFailure(error: unknown): string {
  return fileErrorWords(error) ?? (error as Error)?.message ?? String(error);
}

/** A count and its noun, plural unless it is one: "1 row", "2 rows", "0 rows". */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** The largest of many values (Math.max(...values) overflows the stack for long lists). */
function widest(values: Iterable<string>, least = 0): number {
  let width = least;
  for (const value of values) if (value.length > width) width = value.length;
  return width;
}

/** Lays rows out in aligned columns: numbers to the right, words to the left. Any length of rows. */
export function textTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, c) => widest(cells.map((row) => row[c] ?? "")));
  // Numbers, and numbers already formatted (times to one decimal), align to the right.
  const numeric = header.map(
    (_, c) =>
      rows.length > 0 &&
      rows.every((row) => typeof row[c] === "number" || /^[+-]?\d[\d.]*(e[+-]?\d+)?$/i.test(String(row[c]))),
  );
  return cells
    .map((row) =>
      row
        .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** A list of numbers wrapped to lines of `perLine`, each line labelled with its first index. */
export function numberBlock(values: number[], perLine = 10, indent = "  "): string {
  const lines: string[] = [];
  const width = widest(
    values.map((v) => String(v)),
    1,
  );
  for (let i = 0; i < values.length; i += perLine) {
    const label = `${i + 1}-${Math.min(i + perLine, values.length)}`.padStart(7);
    lines.push(
      `${indent}${label}: ${values
        .slice(i, i + perLine)
        .map((v) => String(v).padStart(width))
        .join(" ")}`,
    );
  }
  return lines.join("\n");
}

/** The "errors" entries of our JSON output. */
export interface ErrorEntry {
  file: string;
  code: string;
  message: string;
}

/**
 * One entry per failed input (outcomes in input order), each also said in words on stderr unless
 * `quiet` (the table commands say each with its hints: src/cli/table-hints.ts).
 */
export function errorEntries(
  files: string[],
  outcomes: Array<{ ok: true } | { ok: false; error: ClientError }>,
  { quiet = false } = {},
): ErrorEntry[] {
  const errors: ErrorEntry[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.ok) continue;
    const entry = { file: files[index]!, code: outcome.error.codeName, message: outcome.error.details };
    errors.push(entry);
    if (!quiet) sayError(entry);
  }
  return errors;
}

/** An error entry in words on stderr. */
export function sayError(entry: ErrorEntry): void {
  say(`error: ${entry.file}: ${entry.code}: ${entry.message}`);
}

/** Tasks that ran on more than one server (failover), in words on stderr. */
export function reportRetries(
  retried: Array<{ file: string; part?: { number: number; of: number }; attempts: string[] }>,
): void {
  for (const { file, part, attempts } of retried) {
    const which = part ? `${file} part ${part.number}/${part.of}` : file;
    say(`retried: ${which}: ${attempts.join(" -> ")}`);
  }
}

/**
 * What to do when no server could be reached because nothing listens where --servers points:
 * start a server there, or let the command start local ones. Other failures (a port that does not
 * speak gRPC, TLS) say what they are in the error itself.
 */
export function unreachableHints(error: ClientError): string[] {
  const refused = unreachableFailures(error).filter((f) => connectFailureKind(f) === "refused");
  if (refused.length === 0) return [];
  const where = refused.map((f) => f.server ?? "?").join(", ");
  const port = /:(\d+)$/.exec(refused[0]!.server ?? "")?.[1] ?? "PORT";
  return [
    `nothing listens on ${where}: start rpcpool-server there (rpcpool-server --port ${port}), ` +
      "or drop --servers to run on local servers this command starts",
  ];
}
