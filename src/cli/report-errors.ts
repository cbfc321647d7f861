import type { ClientError } from "../client/client-error.js";
import type { Outcome } from "../client/scheduler.js";

/** The "errors" entries of our JSON output, and the same in words on stderr. */
export interface ErrorEntry {
  file: string;
  code: string;
  message: string;
}

/** One entry per failed input; outcomes are in input order. */
export function errorEntries(
  files: string[],
  outcomes: Array<{ ok: true } | { ok: false; error: ClientError }>,
): ErrorEntry[] {
  const errors: ErrorEntry[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.ok) continue;
    const entry = { file: files[index]!, code: outcome.error.codeName, message: outcome.error.details };
    errors.push(entry);
    process.stderr.write(`error: ${entry.file}: ${entry.code}: ${entry.message}\n`);
  }
  return errors;
}

/** Tasks that ran on more than one server (failover), in words on stderr. */
export function reportRetries<R>(files: string[], outcomes: Outcome<R>[]): void {
  for (const outcome of outcomes) {
    if (outcome.attempts.length > 1) {
      process.stderr.write(`retried: ${files[outcome.index]}: ${outcome.attempts.join(" -> ")}\n`);
    }
  }
}
