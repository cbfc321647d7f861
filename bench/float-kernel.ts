// The float path alone, in this process, one thread: issue 21's float table (bench/float-table.ts)
// in memory, parsed only (a sink that drops the numbers) and parsed + summed exactly (the server's
// sumTablePiece over 1 MiB pieces, as a worker sees them: the Wasm kernels, and "js" the JS path
// alone, interleaved for a before/after), with the lesson's integer table beside
// it so a faster float path can be seen not to slow integers. CPU time of this process (user+sys),
// best of several rounds, the cases interleaved within each round: the machine is shared.
// Not in the default bench run: `node dist/bench/float-kernel.js [rows] [rounds]`, and
// `node --cpu-prof dist/bench/float-kernel.js` to see whether parsing or summing dominates.
import { readOptionsFrom } from "../src/csv/read-options.js";
import { scanTable, type TableSink } from "../src/csv/table-scanner.js";
import { sumTablePiece } from "../src/lesson/compute/sum-table-piece.js";
import { floatTable } from "./float-table.js";
import { patternTable, rowsFor } from "./whole-data.js";

/** Parses every cell and keeps one number, so the parse cannot be optimised away. */
class DropSink implements TableSink {
  readonly byCell = true;
  last = 0;
  cell(_column: number, value: number): void {
    this.last = value;
  }
  row(): void {}
}

const options = readOptionsFrom({});

/** Runs `piece` over the table's 1 MiB pieces (cut at line ends); CPU ms of this process. */
function cpuMs(table: Buffer, piece: (bytes: Uint8Array, startsFile: boolean) => void): number {
  const start = process.cpuUsage();
  for (let offset = 0; offset < table.length; ) {
    let end = Math.min(table.length, offset + (1 << 20));
    end = end === table.length ? end : table.indexOf(10, end) + 1;
    piece(table.subarray(offset, end), offset === 0);
    offset = end;
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const parseOnly = (bytes: Uint8Array, startsFile: boolean) => {
  scanTable(bytes, { ...options, startsFile }, new DropSink());
};
const parseAndSum = (bytes: Uint8Array, startsFile: boolean) => {
  sumTablePiece(bytes, { ...options, startsFile });
};
const parseAndSumJs = (bytes: Uint8Array, startsFile: boolean) => {
  sumTablePiece(bytes, { ...options, startsFile }, "js");
};

const rows = Number(process.argv[2] ?? 400_000);
const rounds = Number(process.argv[3] ?? 7);
const float = floatTable(rows).text;
const integers = patternTable(rowsFor(float.length));
const cases = {
  "float parse": () => cpuMs(float, parseOnly),
  "float parse+sum": () => cpuMs(float, parseAndSum),
  "float parse+sum js": () => cpuMs(float, parseAndSumJs),
  "integer parse+sum": () => cpuMs(integers, parseAndSum),
  "integer sum js": () => cpuMs(integers, parseAndSumJs),
};
const sizes = {
  "float parse": float.length,
  "float parse+sum": float.length,
  "float parse+sum js": float.length,
  "integer parse+sum": integers.length,
  "integer sum js": integers.length,
};
const best: Record<string, number> = {};
for (let r = 0; r < rounds; r++)
  for (const [name, run] of Object.entries(cases)) best[name] = Math.min(best[name] ?? Infinity, run());
for (const [name, ms] of Object.entries(best)) {
  const bytes = sizes[name as keyof typeof sizes];
  console.log(
    `${name.padEnd(20)} ${(bytes / 1e6).toFixed(1)} MB  best ${ms.toFixed(1)} ms CPU  ${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`,
  );
}
