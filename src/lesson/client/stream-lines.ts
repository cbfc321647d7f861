import { newlinesIn } from "../../csv/quoted-rows.js";
import type { Outcome } from "../../pool/outcome.js";
import { placedAfter } from "./table-calls.js";
import type { TableTask } from "./table-tasks.js";

/**
 * Where a stream part's refusal is in the whole table. The client does not count a stream's lines
 * as it cuts it (counting every line was a third of its CPU for a piped table, docs/performance.md
 * "A table through stdin"): a part after the first goes with firstLine 0, and its server names a
 * line of the part. Once every part has its outcome, the lines before a refused part are known:
 * those each answered part's server read (the reply's `lines`), and for a part no server answered,
 * its newlines, counted from its bytes before they go back (`StreamLines.unanswered`). Refusals are
 * rare; so is that count.
 */
export class StreamLines {
  readonly #counted = new Map<number, number>();

  /** A part no server answered: its newlines, counted while its bytes are still held. */
  unanswered(index: number, content: readonly Uint8Array[]): void {
    let lines = 0;
    for (const chunk of content) lines += newlinesIn(chunk, 0, chunk.length);
    this.#counted.set(index, lines);
  }

  /**
   * Each refused part of a stream with its line placed in the whole table, in place. `tasks` holds
   * each stream's parts in the order they were cut; `streams` are the streams' file indexes.
   */
  place<R>(tasks: readonly TableTask[], outcomes: Outcome<R>[], streams: ReadonlySet<number>): void {
    const before = new Map<number, number>();
    for (const [index, task] of tasks.entries()) {
      if (!streams.has(task.fileIndex) || !task.part) continue;
      const lines = before.get(task.fileIndex);
      // NaN once a part's lines are unknown: the refusals after it keep their part's line.
      if (lines === undefined && task.part.start > 0) continue;
      const outcome = outcomes[index];
      if (!outcome) continue;
      // The first part's lines are undefined here: its server named lines of the whole table.
      if (!outcome.ok && Number.isFinite(lines))
        outcomes[index] = { ...outcome, error: placedAfter(outcome.error, lines!) };
      const read = outcome.ok ? (outcome.value as { lines?: number }).lines : this.#counted.get(index);
      before.set(task.fileIndex, (lines ?? 0) + (read ?? Number.NaN));
    }
  }
}
