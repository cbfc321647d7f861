import { performance } from "node:perf_hooks";
import { readOptionsFrom } from "../src/csv/read-options.js";
import { sumTablePiece } from "../src/lesson/compute/sum-table-piece.js";
import type { Figure } from "./figures.js";

/** One pass over the table in 1 MiB pieces, as a server's worker sees them; its CPU time in ms. */
function onePass(table: Buffer, engine: "auto" | "js"): number {
  const options = readOptionsFrom({});
  const start = process.cpuUsage();
  for (let offset = 0; offset < table.length; ) {
    let end = Math.min(table.length, offset + (1 << 20));
    end = end === table.length ? end : table.indexOf(10, end) + 1;
    sumTablePiece(table.subarray(offset, end), { ...options, startsFile: offset === 0 }, engine);
    offset = end;
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/**
 * Parse and sum in this process, one thread: the default dispatch (the Wasm integer kernel where
 * it applies, issue 21) and the JS scanner alone, passes interleaved, best CPU time of each.
 */
export function parseThroughput(table: Buffer, repeats = 3): Figure[] {
  let best = Number.POSITIVE_INFINITY;
  let bestJs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeats; r++) {
    best = Math.min(best, onePass(table, "auto"));
    bestJs = Math.min(bestJs, onePass(table, "js"));
  }
  const mbps = table.length / 1e6 / (best / 1000);
  const jsMbps = table.length / 1e6 / (bestJs / 1000);
  // The naive way, for scale: text, split, Number() (which also accepts "" and "0x10").
  const slice = table.subarray(0, Math.min(table.length, 20e6));
  const naiveStart = performance.now();
  const sums = new Float64Array(64);
  for (const line of slice.toString("latin1").split("\n")) {
    if (line === "") continue;
    line.split(";").forEach((cell, c) => {
      sums[c]! += Number(cell);
    });
  }
  const naive = slice.length / 1e6 / ((performance.now() - naiveStart) / 1000);
  return [
    {
      name: "parse+sum in one process",
      value: mbps,
      unit: "MB/s",
      target: { value: 300, kind: "min" },
      note: `best CPU time of ${repeats} over ${(table.length / 1e6).toFixed(0)} MB, one thread, Wasm integer kernel where it applies`,
    },
    {
      name: "parse+sum in one process, JS scanner only",
      value: jsMbps,
      unit: "MB/s",
      note: `the same passes without the Wasm kernel, interleaved with them`,
    },
    { name: "naive toString().split() parser, for scale", value: naive, unit: "MB/s" },
  ];
}
