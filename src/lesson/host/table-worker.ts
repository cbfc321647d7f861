import { performance } from "node:perf_hooks";
import { threadId } from "node:worker_threads";
import { spin } from "../compute/spin.js";
import { sumTablePiece } from "../compute/sum-table-piece.js";
import { weighTablePiece } from "../compute/weigh-table-piece.js";
import type { WorkerTask } from "./worker-task.js";

/** Entry point of a worker thread (loaded by piscina): runs one task off the event loop. */
export default function runTask(task: WorkerTask) {
  switch (task.kind) {
    case "sum":
      return { ...sumTablePiece(task.bytes, task.options), threadId };
    case "weigh":
      return { ...weighTablePiece(task.bytes, task.options, task.weights, task.firstWeight), threadId };
    case "spin": {
      const start = performance.now();
      const count = spin(task.iterations);
      return { count, elapsedMs: performance.now() - start, threadId };
    }
  }
}
