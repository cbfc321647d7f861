// Issue 21: a table through standard input (`cat t.csv | rpcpool column-sums -`) against the same
// table as a file, side by side: the client's wall time (spawn to exit, the `cat` included) and its
// peak resident set, which the client prints as it exits (`--require` of a one-line module reading
// process.resourceUsage().maxRSS). Two rpcpool-server processes of one worker thread each, as the
// embedded default starts on a 2-core machine; interleaved rounds, each side's best run counts.
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { Figure } from "./figures.js";
import { firstColumnSum, patternTable } from "./whole-data.js";
import {
  clientProgram,
  peakRssMiBOf,
  peakRssModule,
  quiet,
  type Run,
  runProgram,
  startServerProcess,
} from "./whole-process.js";

export interface StdinOptions {
  say: (line: string) => void;
  /** Where the table and the module are written (removed with the bench's directory). */
  dir: string;
  /** Bytes of the table, about. */
  bytes: number;
  rounds: number;
}

const rowsPerBlock = 7 * 10_000;

/** The table: whole blocks of the lesson's pattern, written as the file takes them. */
async function writeTable(path: string, bytes: number): Promise<number> {
  const block = patternTable(rowsPerBlock);
  const blocks = Math.max(1, Math.round(bytes / block.length));
  const out = createWriteStream(path);
  for (let i = 0; i < blocks; i++)
    if (!out.write(block)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  out.end();
  await finished(out);
  return blocks * rowsPerBlock;
}

export async function stdinVsFile(options: StdinOptions): Promise<Figure[]> {
  const { say, dir } = options;
  const table = join(dir, "stdin-table.csv");
  const rows = await writeTable(table, options.bytes);
  const mb = (options.bytes / 1e6).toFixed(0);
  const peak = peakRssModule(dir);
  const servers = [
    await startServerProcess(["--workers", "1"]),
    await startServerProcess(["--workers", "1"]),
  ];
  const list = servers.map((s) => s.address).join(",");
  const client = `'${process.execPath}' --require '${peak}' '${clientProgram}' column-sums`;
  const sides = {
    file: `${client} '${table}' --servers ${list} --json`,
    stdin: `cat '${table}' | ${client} - --servers ${list} --json`,
  };
  const runs: Record<keyof typeof sides, Array<{ wallMs: number; peakMiB: number }>> = {
    file: [],
    stdin: [],
  };
  const checked = (run: Run) => {
    if (run.code !== 0) throw new Error(`column-sums exited with ${run.code}: ${run.stderr.slice(-1000)}`);
    const sum = (JSON.parse(run.stdout) as { results: Array<{ sums: number[] }> }).results[0]?.sums[0];
    if (sum !== firstColumnSum(rows)) throw new Error(`column-sums gave ${sum}, not ${firstColumnSum(rows)}`);
    return peakRssMiBOf(run.stderr);
  };
  try {
    // The page cache holds the table, and the servers are warm, before the first timed run.
    await runProgram("bash", ["-o", "pipefail", "-c", sides.file]);
    for (let round = 1; round <= options.rounds; round++) {
      for (const side of ["file", "stdin"] as const) {
        await quiet();
        const run = await runProgram("bash", ["-o", "pipefail", "-c", sides[side]]);
        runs[side].push({ wallMs: run.wallMs, peakMiB: checked(run) });
        say(
          `  ${side}, round ${round}: ${(run.wallMs / 1000).toFixed(2)} s, client peak ${runs[side].at(-1)!.peakMiB.toFixed(0)} MiB`,
        );
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  const best = (side: keyof typeof sides) => Math.min(...runs[side].map((r) => r.wallMs));
  const most = (side: keyof typeof sides) => Math.max(...runs[side].map((r) => r.peakMiB));
  const note = `${mb} MB table, 2 servers of 1 worker; best of ${options.rounds} interleaved runs`;
  return [
    { name: `column-sums of a ${mb} MB file`, value: best("file") / 1000, unit: "s", note },
    { name: `column-sums of the same table through stdin`, value: best("stdin") / 1000, unit: "s", note },
    {
      name: "stdin time / file time",
      value: best("stdin") / best("file"),
      unit: "x",
      target: { value: 1.2, kind: "max" },
    },
    { name: "client peak RSS, file", value: most("file"), unit: "MiB", note: "the largest of the runs" },
    {
      name: "client peak RSS, stdin",
      value: most("stdin"),
      unit: "MiB",
      target: { value: 200, kind: "max" },
      note: "the largest of the runs",
    },
  ];
}
