import { performance } from "node:perf_hooks";
import { threadId } from "node:worker_threads";
import type { ReadOptions } from "../../csv/read-options.js";
import { spin as count } from "../compute/small-computations.js";
import { type SumPiece, sumTablePiece } from "../compute/sum-table-piece.js";
import { type WeightedPiece, weighTablePiece } from "../compute/weigh-table-piece.js";

/** A server's own file, its stripes read and summed here (remote-file-range.ts). */
export { sumFileStripes } from "./remote-file-range.js";

/**
 * The lesson's work on the host's worker threads (run with `tools.runOnWorker(tableWorker, ...)`):
 * each export returns its result with the thread that computed it.
 *
 * For tables, the event loop only moves bytes: it cuts the incoming stream at a newline into
 * pieces and hands each to a worker here. A piece is parsed on its own; its result is exact and
 * mergeable, so pieces of one file may run on different workers (or, split by the client, on
 * different servers) and still merge to bit-identical sums.
 */
export const tableWorker = new URL("./table-worker.js", import.meta.url);

/** Which worker thread computed a result. */
export interface OnThread {
  threadId: number;
}

export function sumPiece(bytes: Uint8Array, options: ReadOptions): SumPiece & OnThread {
  return { ...sumTablePiece(bytes, options), threadId };
}

/**
 * The sums of several pieces in one task, each with its own read options, in order: a server's
 * own file sends two pieces per task, so a worker waits for the event loop half as often.
 */
export function sumPieces(pieces: Uint8Array[], options: ReadOptions[]): Array<SumPiece & OnThread> {
  return pieces.map((bytes, i) => sumPiece(bytes, options[i]!));
}

/** Weighted sums of a piece whose first data row takes `weights[firstWeight]`. */
export function weighPiece(
  bytes: Uint8Array,
  options: ReadOptions,
  weights: Float64Array,
  firstWeight: number,
): WeightedPiece & OnThread {
  return { ...weighTablePiece(bytes, options, weights, firstWeight), threadId };
}

/** The lesson's CPU-bound count, timed on the thread that ran it. */
export function spin(iterations: number): { count: number; elapsedMs: number } & OnThread {
  const start = performance.now();
  const reached = count(iterations);
  return { count: reached, elapsedMs: performance.now() - start, threadId };
}
