// Issue 21: rpcpool against DuckDB, the peer a user of large CSV files would pick today. Whole
// processes side by side in one run, spawn to exit: `rpcpool column-sums` on ONE server of two
// worker threads against bench/peers/duckdb-sums.mjs (an in-memory DuckDB, `SET threads = 2`,
// `sum()` of every column over `read_csv`), on the four 105 MB integer tables and on the float
// table (bench/float-table.ts). Interleaved rounds; each side's best run counts, as in
// bench/whole-programs.ts. rpcpool's float sums must be the exactly rounded sums; how far DuckDB's
// are goes into the JSON line.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import type { Figure } from "./figures.js";
import { floatTableFile, ulpsApart } from "./float-table.js";
import { ensureDuckdb, peerScript } from "./peers-install.js";
import { benchData, firstColumnSum } from "./whole-data.js";
import { clientProgram, median, mustRun, type Run, runProgram, startServerProcess } from "./whole-process.js";
import { checkRpcpool, Series, sample } from "./whole-programs.js";

export interface DuckdbOptions {
  say: (line: string) => void;
  quick?: boolean;
}

export interface DuckdbResult {
  figures: Figure[];
  /** Every run, the float sums of each side and the exact ones, or why DuckDB was skipped. */
  extra: Record<string, unknown>;
}

/** Rows of the float table: 400,000 rows of 6 columns is about 36 MB (the table). */
export const floatRows = 400_000;

interface DuckdbReport {
  skipped?: string;
  sums?: number[][];
  duckdb?: string;
  importSeconds?: number;
  openSeconds?: number;
  computeSeconds?: number;
}

function duckdbReport(run: Run): DuckdbReport {
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as DuckdbReport;
  } catch {
    return { skipped: `exited ${run.code} without a result: ${run.stderr.trim().split("\n").at(-1)}` };
  }
}

export async function againstDuckdb(options: DuckdbOptions): Promise<DuckdbResult> {
  const { say, quick } = options;
  const installed = await ensureDuckdb(say);
  if (!installed.ok) {
    say(`  DuckDB figures skipped: ${installed.reason}`);
    return { figures: [], extra: { skipped: installed.reason } };
  }
  const node = process.execPath;
  const data = await benchData(say);
  const float = floatTableFile(data.dir, floatRows);
  const floatMB = float.text.length / 1e6;
  const bigMB = (data.bigBytes * data.big.length) / 1e6;
  say(`  float table: ${float.path} (${floatMB.toFixed(0)} MB, ${float.rows} rows)`);
  // Every table in the page cache: both sides read warm files.
  for (const file of [...data.big, float.path]) readFileSync(file);

  const one = await startServerProcess(["--workers", "2"]);
  const series = {
    rpcpoolInt: new Series(`rpcpool column-sums, 4 x 105 MB integer tables, 1 server (2 workers)`),
    duckdbInt: new Series("DuckDB read_csv + sum(), 4 x 105 MB integer tables, 2 threads"),
    rpcpoolFloat: new Series(
      `rpcpool column-sums, ${floatMB.toFixed(0)} MB float table, 1 server (2 workers)`,
    ),
    duckdbFloat: new Series(`DuckDB read_csv + sum(), ${floatMB.toFixed(0)} MB float table, 2 threads`),
  };
  // DuckDB's float sums of each run: they differ between runs (two threads add in varying order).
  const duckdbFloatSums: number[][] = [];
  let version: string | undefined;
  let skipped: string | undefined;

  const rpcpool = (s: Series, files: string[], check: (run: Run) => void) =>
    sample(s, async () => {
      const before = one.cpuMs() ?? Number.NaN;
      const run = await mustRun(
        node,
        [clientProgram, "column-sums", ...files, "--json", "--servers", one.address],
        { cpu: true },
      );
      const serverCpu = (one.cpuMs() ?? Number.NaN) - before;
      s.serverCpuMs.push(serverCpu);
      check(run);
      return { run, ownCpuMs: run.cpuMs! + serverCpu };
    });
  const checkFloat = (run: Run) => {
    const sums = (JSON.parse(run.stdout) as { results: { sums: number[] }[] }).results[0]?.sums ?? [];
    if (sums.length !== float.exactSums.length || sums.some((sum, i) => !Object.is(sum, float.exactSums[i])))
      throw new Error(
        `rpcpool's float sums ${JSON.stringify(sums)} are not the exactly rounded ${JSON.stringify(float.exactSums)}`,
      );
  };
  const duckdb = async (s: Series, type: "BIGINT" | "DOUBLE", files: string[]) => {
    if (skipped) return;
    let report: DuckdbReport = {};
    await sample(s, async () => {
      const run = await runProgram(node, [peerScript("duckdb-sums.mjs"), "--type", type, ...files], {
        cpu: true,
      });
      report = duckdbReport(run);
      if (!report.skipped && run.code !== 0)
        report = { skipped: `exited ${run.code}: ${run.stderr.slice(-300)}` };
      return { run, ownCpuMs: run.cpuMs };
    });
    if (report.skipped) {
      // A failed run is no figure: drop it and skip the rest of DuckDB's runs.
      s.runs.pop();
      skipped = report.skipped;
      say(`  DuckDB skipped: ${skipped}`);
      return;
    }
    version = report.duckdb;
    const { sums, ...rest } = report;
    s.details.push(rest);
    if (type === "BIGINT") {
      const expected = firstColumnSum(data.bigRows);
      if (sums?.length !== files.length || sums.some((row) => row[0] !== expected))
        throw new Error(`DuckDB's integer sums are wrong: ${JSON.stringify(sums).slice(0, 300)}`);
    } else if (sums?.[0]) duckdbFloatSums.push(sums[0]);
  };
  const progress = (s: Series) => {
    const last = s.runs.at(-1);
    if (last)
      say(
        `  ${s.label}: ${(last.wallMs / 1000).toFixed(2)} s (CPU of the process ${((last.cpuMs ?? Number.NaN) / 1000).toFixed(2)} s` +
          (s.serverCpuMs.length ? `, of the server ${(s.serverCpuMs.at(-1)! / 1000).toFixed(2)} s)` : ")"),
      );
  };

  try {
    // Warm-up: the server's JIT and worker threads, and DuckDB's library in the page cache.
    await mustRun(node, [clientProgram, "column-sums", data.big[0]!, "--json", "--servers", one.address]);
    await mustRun(node, [clientProgram, "column-sums", float.path, "--json", "--servers", one.address]);
    await runProgram(node, [peerScript("duckdb-sums.mjs"), "--type", "DOUBLE", float.path]);
    const rounds = quick ? 1 : 3;
    for (let round = 1; round <= rounds; round++) {
      say(`  round ${round} of ${rounds}`);
      await rpcpool(series.rpcpoolInt, data.big, (run) => checkRpcpool(run, data.big.length, data.bigRows));
      progress(series.rpcpoolInt);
      await duckdb(series.duckdbInt, "BIGINT", data.big);
      progress(series.duckdbInt);
      await rpcpool(series.rpcpoolFloat, [float.path], checkFloat);
      progress(series.rpcpoolFloat);
      await duckdb(series.duckdbFloat, "DOUBLE", [float.path]);
      progress(series.duckdbFloat);
    }
  } finally {
    await one.stop();
  }

  const cpu = (s: Series) =>
    `median CPU: process ${(s.cpuMs / 1000).toFixed(2)} s` +
    (s.serverCpuMs.length ? `, server ${(median(s.serverCpuMs) / 1000).toFixed(2)} s` : "");
  const seconds = (s: Series): Figure => ({
    name: `duckdb: ${s.label}`,
    value: s.wallMs / 1000,
    unit: "s",
    note: `${s.range()}; ${cpu(s)}`,
  });
  const figures: Figure[] = [seconds(series.rpcpoolInt), seconds(series.rpcpoolFloat)];
  const extra: Record<string, unknown> = { duckdb: version, loadAverageAtEnd: loadavg() };
  // Each run's distance from the exact sums, column by column; the figure is the furthest of all.
  const ulps = duckdbFloatSums.map((run) => run.map((sum, i) => ulpsApart(sum, float.exactSums[i]!)));
  const furthest = Math.max(...ulps.flat());
  extra.floatTable = {
    path: float.path,
    bytes: float.text.length,
    rows: float.rows,
    exactSums: float.exactSums,
    rpcpoolSums: "equal to exactSums (checked on every run)",
    duckdbSums: duckdbFloatSums,
    duckdbUlpsOff: ulps,
    duckdbAbsoluteOff: duckdbFloatSums.map((run) => run.map((sum, i) => Math.abs(sum - float.exactSums[i]!))),
  };
  if (skipped) extra.skipped = skipped;
  else {
    figures.push(
      seconds(series.duckdbInt),
      {
        name: "duckdb: DuckDB time / rpcpool time, 4 x 105 MB integer tables",
        value: series.duckdbInt.wallMs / series.rpcpoolInt.wallMs,
        unit: "x",
        target: { value: 2, kind: "min" },
        note: `${bigMB.toFixed(0)} MB; 1 server of 2 worker threads against DuckDB on 2 threads`,
      },
      seconds(series.duckdbFloat),
      {
        name: "duckdb: DuckDB time / rpcpool time, float table",
        value: series.duckdbFloat.wallMs / series.rpcpoolFloat.wallMs,
        unit: "x",
        target: { value: 1.5, kind: "min" },
        note: `${floatMB.toFixed(0)} MB, ${float.rows} rows x 6 columns from 1e-8 to 1e12; rpcpool's sums are exactly rounded`,
      },
      {
        name: "duckdb: DuckDB's float sums, the furthest from the exactly rounded sum",
        value: furthest,
        unit: "ulps",
        note: `per run, per column: ${ulps.map((run) => run.join(", ")).join("; ")}`,
      },
    );
  }
  extra.runs = Object.fromEntries(
    Object.values(series).map((s) => [
      s.label,
      {
        wallMs: s.runs.map((r) => Math.round(r.wallMs)),
        cpuMs: s.runs.map((r) => (r.cpuMs === undefined ? null : Math.round(r.cpuMs))),
        serverCpuMs: s.serverCpuMs.map(Math.round),
        othersShare: s.othersShare.map((x) => Math.round(x * 100) / 100),
        peer: s.details.length ? s.details : undefined,
      },
    ]),
  );
  return { figures, extra };
}
