import { performance } from "node:perf_hooks";
import { readOptionsFrom } from "../src/csv/read-options.js";
import { sumTablePiece } from "../src/lesson/compute/sum-table-piece.js";
import type { Figure } from "./figures.js";

/** Parse and sum in this process, one thread, over 1 MiB pieces as a server's worker sees them. */
export function parseThroughput(table: Buffer, repeats = 3): Figure[] {
  const options = readOptionsFrom({});
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    for (let offset = 0; offset < table.length; ) {
      let end = Math.min(table.length, offset + (1 << 20));
      end = end === table.length ? end : table.indexOf(10, end) + 1;
      sumTablePiece(table.subarray(offset, end), { ...options, startsFile: offset === 0 });
      offset = end;
    }
    best = Math.min(best, performance.now() - start);
  }
  const mbps = table.length / 1e6 / (best / 1000);
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
      note: `best of ${repeats} over ${(table.length / 1e6).toFixed(0)} MB, one thread`,
    },
    { name: "naive toString().split() parser, for scale", value: naive, unit: "MB/s" },
  ];
}
