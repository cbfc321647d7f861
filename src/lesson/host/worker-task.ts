import type { ReadOptions } from "../../csv/read-options.js";
import type { SumPiece } from "../compute/sum-table-piece.js";
import type { WeightedPiece } from "../compute/weigh-table-piece.js";

/** Work sent to a worker thread. Kept to plain data: it crosses a thread boundary. */
export type WorkerTask =
  | { kind: "sum"; bytes: Uint8Array; options: ReadOptions }
  | { kind: "weigh"; bytes: Uint8Array; options: ReadOptions; weights: Float64Array; firstWeight: number }
  | { kind: "spin"; iterations: number };

export interface WorkerResultMap {
  sum: SumPiece;
  weigh: WeightedPiece;
  spin: { count: number; elapsedMs: number };
}

/** Every result says which worker thread computed it. */
export type WorkerResult<K extends WorkerTask["kind"]> = WorkerResultMap[K] & { threadId: number };
