// The whole-process figures of issue 11: the programs run as a user runs them (`node
// dist/client/main.js ...` against `node dist/server/main.js --port 0 ...`), timed from spawn to
// exit, each against its peer measured in the same run (pandas, Dask, the lesson's Pool(2),
// `node -e 0`), in interleaved rounds so that drift of the machine hits both sides alike; each side's
// best run counts (CPU figures: the median run).
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Figure } from "./figures.js";
import { parseThroughput } from "./parse-throughput.js";
import { type BenchData, benchData, firstColumnSum } from "./whole-data.js";
import {
  clientProgram,
  machineBusyMs,
  median,
  mustRun,
  quiet,
  type Run,
  runProgram,
  type ServerProcess,
  startServerProcess,
} from "./whole-process.js";

const pythonDir = fileURLToPath(new URL("../../bench/python/", import.meta.url));
/** The tiny call's floor: node:http2 and one hand-encoded Circles, nothing else. */
const bareTinyCall = fileURLToPath(new URL("../../bench/prototypes/bare-tiny-call.mjs", import.meta.url));

/** Debian's python3 (with python3-pandas and python3-distributed), or RPCPOOL_BENCH_PYTHON. */
function pythonProgram(): string {
  if (process.env.RPCPOOL_BENCH_PYTHON) return process.env.RPCPOOL_BENCH_PYTHON;
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

// One core for the pandas peer and no hidden thread pools in any Python peer.
const pythonEnv = {
  OMP_NUM_THREADS: "1",
  OPENBLAS_NUM_THREADS: "1",
  MKL_NUM_THREADS: "1",
  PYTHONDONTWRITEBYTECODE: "1",
};

export interface WholeOptions {
  say: (line: string) => void;
  quick?: boolean;
  /** Parse + sum rate of one thread in one process (MB/s), when already measured. */
  inProcessMBps?: number;
  /** The same without the Wasm kernel: the plain-JS ceiling issue 21 named. */
  inProcessJsMBps?: number;
}

export interface WholeResult {
  figures: Figure[];
  /** Every run's raw numbers, the skipped peers and why, the data's shape. */
  extra: Record<string, unknown>;
}

/** Samples of one configuration across rounds. */
export class Series {
  readonly runs: Run[] = [];
  readonly serverCpuMs: number[] = [];
  readonly details: unknown[] = [];
  /** Share of the machine's CPU that other processes used during each run (when known). */
  readonly othersShare: number[] = [];
  /** How long each run waited for a quiet machine before it started. */
  readonly waitedMs: number[] = [];
  constructor(readonly label: string) {}
  /**
   * The best run's wall time: other work on a shared machine only ever slows a run down (as the
   * other figures of the bench take it); every run is kept in the JSON line.
   */
  get wallMs() {
    return Math.min(...this.runs.map((r) => r.wallMs));
  }
  get cpuMs() {
    return median(this.runs.map((r) => r.cpuMs ?? Number.NaN));
  }
  range(): string {
    const walls = this.runs.map((r) => r.wallMs).sort((a, b) => a - b);
    const s = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
    return walls.length > 1
      ? `best of ${walls.length}: ${walls.map(s).join(", ")}`
      : `${s(walls[0]!)}, one run`;
  }
}

const mb = (bytes: number) => bytes / 1e6;

/**
 * Runs one sample of `series` on a quiet machine, and notes how much CPU other processes took
 * while it ran: the machine's busy time less ours (`ownCpuMs` of the run, if known).
 */
export async function sample(
  series: Series,
  run: () => Promise<{ run: Run; ownCpuMs?: number }>,
): Promise<Run> {
  series.waitedMs.push(await quiet());
  const busyBefore = machineBusyMs();
  const result = await run();
  const busyAfter = machineBusyMs();
  if (busyBefore !== undefined && busyAfter !== undefined && result.ownCpuMs !== undefined)
    series.othersShare.push(
      Math.max(0, busyAfter - busyBefore - result.ownCpuMs) / (result.run.wallMs * availableParallelism()),
    );
  series.runs.push(result.run);
  return result.run;
}

/** Checks rpcpool's --json output against the pattern's known first-column sum. */
export function checkRpcpool(run: Run, files: number, rows: number): void {
  const document = JSON.parse(run.stdout) as { results: { sums: number[] }[]; errors: unknown[] };
  const expected = firstColumnSum(rows);
  if (document.errors.length || document.results.length !== files)
    throw new Error(`rpcpool reported errors: ${run.stdout.slice(0, 500)}`);
  for (const result of document.results)
    if (result.sums[0] !== expected) throw new Error(`rpcpool sum ${result.sums[0]}, expected ${expected}`);
}

/** Parses a Python peer's JSON line; undefined (and the reason) when it skipped itself. */
function pythonResult(run: Run, files: number, rows: number): { skipped?: string; report?: unknown } {
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  let document: { skipped?: string; sums?: number[][] };
  try {
    document = JSON.parse(line);
  } catch {
    return { skipped: `exited ${run.code} without a result: ${run.stderr.trim().split("\n").at(-1)}` };
  }
  if (document.skipped) return { skipped: document.skipped };
  if (run.code !== 0) return { skipped: `exited ${run.code}: ${run.stderr.slice(-300)}` };
  const expected = firstColumnSum(rows);
  if (document.sums?.length !== files || document.sums.some((s) => s[0] !== expected))
    throw new Error(`Python peer's sums are wrong: ${line.slice(0, 300)}`);
  const { sums: _, ...report } = document as Record<string, unknown>;
  return { report };
}

export async function wholePrograms(options: WholeOptions): Promise<WholeResult> {
  const { say, quick } = options;
  const node = process.execPath;
  const python = pythonProgram();
  const data: BenchData = await benchData(say);
  const bigMB = mb(data.bigBytes) * data.big.length;
  say(
    `  data: ${data.big.length} x ${mb(data.bigBytes).toFixed(0)} MB, the lesson's ${data.lesson.length} tables, ` +
      `${data.small.length} small tables, in ${data.dir} (kept for the next run)`,
  );
  const extra: Record<string, unknown> = {
    dataDir: data.dir,
    bigBytes: data.bigBytes,
    python,
    loadAverageAtStart: loadavg(),
  };
  const skipped: Record<string, string> = {};

  // The page cache holds every table from here on: each side reads warm files.
  for (const file of [...data.big, ...data.lesson, ...data.small]) readFileSync(file);

  let inProcess = options.inProcessMBps;
  let inProcessJs = options.inProcessJsMBps;
  if (inProcess === undefined || inProcessJs === undefined) {
    const [kernel, js] = parseThroughput(readFileSync(data.big[0]!), quick ? 2 : 3);
    inProcess = kernel!.value;
    inProcessJs = js!.value;
    say(
      `  in-process parse + sum, one thread: ${inProcess.toFixed(0)} MB/s (JS only ${inProcessJs.toFixed(0)})`,
    );
  }

  // One server with two worker threads (the "1 server (2 workers)"), serving the data
  // directory for --remote-paths; and two servers of one worker thread each, as the embedded
  // default starts on this machine and as Dask's LocalCluster(2) runs.
  const one = await startServerProcess(["--workers", "2", "--data-root", data.dir]);
  // The two serve the data directory too: Dask's workers read the files by path, and so may they.
  const two = [
    await startServerProcess(["--workers", "1", "--data-root", data.dir]),
    await startServerProcess(["--workers", "1", "--data-root", data.dir]),
  ];
  const serversOf = (list: ServerProcess[]) => list.map((s) => s.address).join(",");
  const cpuOf = (list: ServerProcess[]) => list.reduce((sum, s) => sum + (s.cpuMs() ?? Number.NaN), 0);

  /** One rpcpool client run against `servers`, with the client's and the servers' CPU. */
  async function rpcpool(
    series: Series,
    servers: ServerProcess[],
    args: string[],
    files: number,
    rows: number,
  ) {
    return sample(series, async () => {
      const before = cpuOf(servers);
      const run = await mustRun(node, [clientProgram, ...args, "--json", "--servers", serversOf(servers)], {
        cpu: true,
      });
      const serverCpu = cpuOf(servers) - before;
      series.serverCpuMs.push(serverCpu);
      checkRpcpool(run, files, rows);
      return { run, ownCpuMs: run.cpuMs! + serverCpu };
    });
  }

  async function peer(series: Series, key: string, script: string, files: string[], rows: number) {
    if (skipped[key]) return;
    series.waitedMs.push(await quiet());
    const busyBefore = machineBusyMs();
    const run = await runProgram(python, [`${pythonDir}${script}`, ...files], { cpu: true, env: pythonEnv });
    const busyAfter = machineBusyMs();
    const result = pythonResult(run, files.length, rows);
    if (result.skipped) {
      skipped[key] = result.skipped;
      say(`  ${series.label}: skipped (${result.skipped})`);
      return;
    }
    if (busyBefore !== undefined && busyAfter !== undefined && run.cpuMs !== undefined)
      series.othersShare.push(
        Math.max(0, busyAfter - busyBefore - run.cpuMs) / (run.wallMs * availableParallelism()),
      );
    series.runs.push(run);
    series.details.push(result.report);
  }

  const all: Series[] = [];
  const series = (label: string) => {
    const s = new Series(label);
    all.push(s);
    return s;
  };
  const progress = (s: Series) => {
    const last = s.runs.at(-1);
    if (last)
      say(
        `  ${s.label}: ${(last.wallMs / 1000).toFixed(2)} s` +
          (last.cpuMs !== undefined ? ` (CPU of the process ${(last.cpuMs / 1000).toFixed(2)} s)` : "") +
          (s.othersShare.length
            ? `; others used ${(100 * s.othersShare.at(-1)!).toFixed(0)}% of the machine`
            : ""),
      );
  };

  try {
    // Warm-up: the servers' JIT and worker threads, as on a server that has been up a while.
    for (const servers of [[one], two])
      await mustRun(node, [
        clientProgram,
        "column-sums",
        ...data.lesson,
        "--json",
        "--servers",
        serversOf(servers),
      ]);
    await mustRun(node, [
      clientProgram,
      "column-sums",
      data.big[0]!,
      "--json",
      "--servers",
      serversOf([one]),
    ]);

    // --- Four 105 MB tables: pandas, Dask, and rpcpool on one and two servers -------------------
    const pandas = series("pandas read_csv().sum(), one core");
    const dask = series("Dask LocalCluster(2) + pandas");
    const auto1 = series("column-sums, 1 server, --split auto");
    const none1 = series("column-sums, 1 server, --split none");
    const fixed1 = series("column-sums, 1 server, --split 32MB");
    const auto2 = series("column-sums, 2 servers, --split auto");
    const remote = series("column-sums --remote-paths, 1 server");
    const remote2 = series("column-sums --remote-paths, 2 servers");
    // The same call on one lesson table: the client's start, connecting and one small call, to
    // tell the server's own rate apart from the whole process's.
    const remoteTiny = series("tiny --remote-paths call (one lesson table), 1 server");
    const tinyRemotePath = relative(data.dir, data.lesson[0]!);
    const bigRounds = quick ? 1 : 2;
    const remotePaths = data.big.map((f) => relative(data.dir, f));
    for (let round = 1; round <= bigRounds; round++) {
      say(`  four big tables, round ${round} of ${bigRounds}`);
      await peer(pandas, "pandas", "pandas_sums.py", data.big, data.bigRows);
      progress(pandas);
      for (const [s, split] of [
        [auto1, "auto"],
        [none1, "none"],
        [fixed1, "32MB"],
      ] as const) {
        await rpcpool(s, [one], ["column-sums", ...data.big, "--split", split], 4, data.bigRows);
        progress(s);
      }
      await peer(dask, "dask", "dask_sums.py", data.big, data.bigRows);
      progress(dask);
      await rpcpool(auto2, two, ["column-sums", ...data.big], 4, data.bigRows);
      progress(auto2);
      await rpcpool(remote, [one], ["column-sums", ...remotePaths, "--remote-paths"], 4, data.bigRows);
      progress(remote);
      await rpcpool(remote2, two, ["column-sums", ...remotePaths, "--remote-paths"], 4, data.bigRows);
      progress(remote2);
      await rpcpool(remoteTiny, [one], ["column-sums", tinyRemotePath, "--remote-paths"], 1, data.lessonRows);
    }

    // --- --split on one big file and on many small ones (one server, two workers) ---------------
    const shapes = [
      { key: "one105MB", label: "one 105 MB file", files: [data.big[0]!], rows: data.bigRows },
      {
        key: "smallFiles",
        label: `${data.small.length} small files`,
        files: data.small,
        rows: data.lessonRows,
      },
    ];
    const splitSeries = new Map<string, Series>();
    const splitRounds = quick ? 1 : 3;
    for (let round = 1; round <= splitRounds; round++) {
      for (const shape of shapes) {
        for (const split of ["auto", "none", "32MB"]) {
          const key = `${shape.key}/${split}`;
          if (!splitSeries.has(key))
            splitSeries.set(key, series(`column-sums, 1 server, ${shape.label}, --split ${split}`));
          const s = splitSeries.get(key)!;
          await rpcpool(
            s,
            [one],
            ["column-sums", ...shape.files, "--split", split],
            shape.files.length,
            shape.rows,
          );
        }
      }
    }
    say(`  --split on one big file and on many small ones: ${splitRounds} rounds done`);

    // --- The lesson's ten tables: rpcpool on two servers against the lesson's own Pool(2) -------
    const lesson2 = series("lesson's 10 tables, column-sums on 2 servers");
    const lessonPool = series("lesson's 10 tables, the lesson's Pool(2) code");
    // The lesson's pool reads its tables by path; so do the servers with --remote-paths.
    const lessonRemote = series("lesson's 10 tables, column-sums --remote-paths on 2 servers");
    const lessonPaths = data.lesson.map((f) => relative(data.dir, f));
    const lessonRounds = quick ? 1 : 3;
    for (let round = 1; round <= lessonRounds; round++) {
      await rpcpool(lesson2, two, ["column-sums", ...data.lesson], 10, data.lessonRows);
      await rpcpool(
        lessonRemote,
        two,
        ["column-sums", ...lessonPaths, "--remote-paths"],
        10,
        data.lessonRows,
      );
      await peer(lessonPool, "lessonPool", "lesson_pool.py", data.lesson, data.lessonRows);
    }
    progress(lesson2);
    progress(lessonRemote);
    progress(lessonPool);

    // --- One tiny call: running servers, node -e 0, and the embedded default ---------------------
    const tiny = series("circles --radii 1,2 --servers (2 running servers)");
    const bare = series("node -e 0");
    const embedded = series("circles --radii 1,2, embedded default (no --servers)");
    const floor = series("tiny call's floor: node:http2, one Circles (bench/prototypes/bare-tiny-call.mjs)");
    const tinyRounds = quick ? 4 : 10;
    const tinyArgs = [clientProgram, "circles", "--radii", "1,2", "--json", "--servers", serversOf(two)];
    for (let round = 0; round < tinyRounds; round++) {
      await sample(tiny, async () => ({ run: await mustRun(node, tinyArgs) }));
      await sample(bare, async () => ({ run: await mustRun(node, ["-e", "0"]) }));
      await sample(floor, async () => ({ run: await mustRun(node, [bareTinyCall, two[0]!.address]) }));
      if (round % 2 === 0)
        await sample(embedded, async () => ({
          run: await mustRun(node, [clientProgram, "circles", "--radii", "1,2", "--json"]),
        }));
    }
    // The client's CPU for the tiny call (start-up, connect, one call), timed through bash apart
    // from the wall-time rounds above.
    const tinyCpu = series("circles --radii 1,2 --servers, client CPU");
    for (let round = 0; round < 3; round++)
      await sample(tinyCpu, async () => {
        const run = await mustRun(node, tinyArgs, { cpu: true });
        return { run, ownCpuMs: run.cpuMs };
      });
    const circles = JSON.parse(tiny.runs[0]!.stdout) as { areas: number[] };
    if (circles.areas[1] !== 4 * Math.PI) throw new Error(`circles answered ${tiny.runs[0]!.stdout}`);
    for (const s of [tiny, bare, floor, embedded])
      say(`  ${s.label}: ${s.wallMs.toFixed(0)} ms (${s.range()})`);

    extra.serversPeakRssMiB = {
      oneServer: one.peakRssMiB(),
      twoServers: two.map((s) => s.peakRssMiB()),
    };
  } finally {
    await Promise.all([one, ...two].map((s) => s.stop()));
  }

  // --- Figures --------------------------------------------------------------------------------
  const get = (label: string) => all.find((s) => s.label.startsWith(label))!;
  const figures: Figure[] = [];
  const rate = (s: Series, megabytes: number): Figure => ({
    name: `whole: ${s.label}`,
    value: megabytes / (s.wallMs / 1000),
    unit: "MB/s",
    note: `${(s.wallMs / 1000).toFixed(2)} s (${s.range()})`,
  });
  const has = (s: Series) => s.runs.length > 0;
  const pandas = get("pandas");
  const dask = get("Dask");
  const auto1 = get("column-sums, 1 server, --split auto");
  const none1 = get("column-sums, 1 server, --split none");
  const fixed1 = get("column-sums, 1 server, --split 32MB");
  const auto2 = get("column-sums, 2 servers");
  const remote = get("column-sums --remote-paths, 1 server");
  const remote2 = get("column-sums --remote-paths, 2 servers");
  for (const s of [pandas, dask, auto1, none1, fixed1, auto2, remote, remote2])
    if (has(s)) figures.push(rate(s, bigMB));
  /** The peer's time over ours, against a floor of 5x (issue 11's and 21's target for both peers). */
  const against = (peerSeries: Series, ours: Series, name: string, note?: string) => {
    if (has(peerSeries))
      figures.push({
        name: `whole: ${name}`,
        value: peerSeries.wallMs / ours.wallMs,
        unit: "x",
        target: { value: 5, kind: "min" },
        ...(note ? { note } : {}),
      });
  };
  against(
    pandas,
    auto1,
    "1 server (2 workers, default --split) / pandas on one core",
    `4 x ${mb(data.bigBytes).toFixed(0)} MB; --split none: ${(pandas.wallMs / none1.wallMs).toFixed(2)}x`,
  );
  against(dask, auto2, "2 servers (1 worker each) / Dask LocalCluster(2)");
  // Dask's workers and pandas read the files by path; with --remote-paths rpcpool's servers do
  // too, and nothing crosses the connection but names and sums: the same terms as the peers'.
  against(
    dask,
    remote2,
    "2 servers (1 worker each) --remote-paths / Dask LocalCluster(2), both reading by path",
  );
  against(pandas, remote, "1 server (2 workers) --remote-paths / pandas on one core, both reading by path");
  const workers = 2;
  figures.push({
    name: "whole: --remote-paths / in-process parse rate x the server's worker threads",
    value: bigMB / (remote.wallMs / 1000) / (inProcess * workers),
    unit: "x",
    target: { value: 0.7, kind: "min" },
    note: `${(bigMB / (remote.wallMs / 1000)).toFixed(0)} MB/s against ${inProcess.toFixed(0)} MB/s x ${workers} (the Wasm kernel's rate)`,
  });
  // Issue 21 set its target against the plain-JS parse rate; the kernel raised the ceiling
  // itself, so both are shown.
  figures.push({
    name: "whole: --remote-paths / in-process plain-JS parse rate x the server's worker threads",
    value: bigMB / (remote.wallMs / 1000) / (inProcessJs * workers),
    unit: "x",
    target: { value: 0.7, kind: "min" },
    note: `${(bigMB / (remote.wallMs / 1000)).toFixed(0)} MB/s against ${inProcessJs.toFixed(0)} MB/s x ${workers} (the JS scanner alone)`,
  });
  // The server's part alone: the whole run less a tiny call's (start, connect, one call). For
  // scale only: the target stays on the whole process above.
  const remoteTiny = get("tiny --remote-paths call");
  const serverOnlyMs = remote.wallMs - remoteTiny.wallMs;
  figures.push({
    name: "whole: --remote-paths less a tiny --remote-paths call (the server's part) / in-process rate x threads",
    value: bigMB / (serverOnlyMs / 1000) / (inProcess * workers),
    unit: "x",
    note:
      `${(bigMB / (serverOnlyMs / 1000)).toFixed(0)} MB/s: ${remote.wallMs.toFixed(0)} ms less ` +
      `${remoteTiny.wallMs.toFixed(0)} ms; server CPU ${(median(remote.serverCpuMs) / bigMB).toFixed(2)} ms/MB`,
  });
  const lesson2 = get("lesson's 10 tables, column-sums on 2 servers");
  const lessonRemote = get("lesson's 10 tables, column-sums --remote-paths");
  const lessonPool = get("lesson's 10 tables, the lesson's");
  figures.push({
    name: `whole: ${lesson2.label}`,
    value: lesson2.wallMs,
    unit: "ms",
    note: lesson2.range(),
  });
  figures.push({
    name: `whole: ${lessonRemote.label}`,
    value: lessonRemote.wallMs,
    unit: "ms",
    note: lessonRemote.range(),
  });
  if (has(lessonPool)) {
    figures.push({
      name: `whole: ${lessonPool.label}`,
      value: lessonPool.wallMs,
      unit: "ms",
      note: lessonPool.range(),
    });
    figures.push({
      name: "whole: lesson's Pool(2) / rpcpool on 2 servers, the lesson's 10 tables",
      value: lessonPool.wallMs / lesson2.wallMs,
      unit: "x",
      target: { value: 10, kind: "min" },
    });
    figures.push({
      name: "whole: lesson's Pool(2) / rpcpool --remote-paths on 2 servers, the lesson's 10 tables, both reading by path",
      value: lessonPool.wallMs / lessonRemote.wallMs,
      unit: "x",
      target: { value: 10, kind: "min" },
    });
  }
  const splitFigure = (label: string, auto: Series, none: Series, fixed: Series): Figure => {
    const best = Math.min(none.wallMs, fixed.wallMs);
    return {
      name: `whole: --split auto / the better of none and 32MB, ${label}`,
      value: auto.wallMs / best,
      unit: "x",
      target: { value: 1.05, kind: "max" },
      note: `auto ${auto.wallMs.toFixed(0)} ms, none ${none.wallMs.toFixed(0)} ms, 32MB ${fixed.wallMs.toFixed(0)} ms`,
    };
  };
  figures.push(
    splitFigure(
      "one 105 MB file",
      get("column-sums, 1 server, one 105 MB file, --split auto"),
      get("column-sums, 1 server, one 105 MB file, --split none"),
      get("column-sums, 1 server, one 105 MB file, --split 32MB"),
    ),
    splitFigure(`${data.big.length} x 105 MB files`, auto1, none1, fixed1),
    splitFigure(
      `${data.small.length} small files`,
      get(`column-sums, 1 server, ${data.small.length} small files, --split auto`),
      get(`column-sums, 1 server, ${data.small.length} small files, --split none`),
      get(`column-sums, 1 server, ${data.small.length} small files, --split 32MB`),
    ),
  );
  const tiny = get("circles --radii 1,2 --servers (");
  const bare = get("node -e 0");
  const embedded = get("circles --radii 1,2, embedded");
  const floor = get("tiny call's floor");
  figures.push(
    { name: `whole: ${tiny.label}`, value: tiny.wallMs, unit: "ms", note: tiny.range() },
    { name: "whole: node -e 0", value: bare.wallMs, unit: "ms", note: bare.range() },
    {
      name: "whole: one tiny call / node -e 0",
      value: tiny.wallMs / bare.wallMs,
      unit: "x",
      target: { value: 1.5, kind: "max" },
    },
    {
      name: "whole: the tiny call's floor / node -e 0",
      value: floor.wallMs / bare.wallMs,
      unit: "x",
      note: `${floor.wallMs.toFixed(0)} ms (${floor.range()}): node:http2 and one Circles, no pool`,
    },
    { name: `whole: ${embedded.label}`, value: embedded.wallMs, unit: "ms", note: embedded.range() },
    {
      name: "whole: embedded default / the same call on running servers",
      value: embedded.wallMs / tiny.wallMs,
      unit: "x",
      target: { value: 2, kind: "max" },
    },
  );
  // Client CPU per MB: the whole client process (start-up included, as the issue measured it),
  // over the default --split on one server; the marginal cost per MB beyond a tiny call's CPU too.
  const startupCpu = get("circles --radii 1,2 --servers, client CPU").cpuMs;
  figures.push(
    {
      name: "whole: client CPU (user+sys) per MB streamed",
      value: auto1.cpuMs / bigMB,
      unit: "ms/MB",
      target: { value: 1.5, kind: "max" },
      note:
        `${(auto1.cpuMs / 1000).toFixed(2)} s for ${bigMB.toFixed(0)} MB (--split auto); ` +
        `--split none ${(none1.cpuMs / bigMB).toFixed(2)} ms/MB; ` +
        `less a tiny call's ${startupCpu.toFixed(0)} ms (start-up, connect): ${((none1.cpuMs - startupCpu) / bigMB).toFixed(2)} ms/MB`,
    },
    {
      name: "whole: server CPU per MB (1 server, --split none)",
      value: median(none1.serverCpuMs) / bigMB,
      unit: "ms/MB",
      note: "event loop and worker threads, from /proc",
    },
  );

  extra.skipped = skipped;
  extra.loadAverageAtEnd = loadavg();
  const shares = all.flatMap((s) => s.othersShare);
  if (shares.length)
    say(
      `  other processes took a median ${(100 * median(shares)).toFixed(0)}% (at most ${(100 * Math.max(...shares)).toFixed(0)}%) ` +
        "of the machine during the measured runs",
    );
  extra.runs = Object.fromEntries(
    all.map((s) => [
      s.label,
      {
        wallMs: s.runs.map((r) => Math.round(r.wallMs)),
        cpuMs: s.runs.map((r) => (r.cpuMs === undefined ? null : Math.round(r.cpuMs))),
        systemMs: s.runs.map((r) => (r.systemMs === undefined ? null : Math.round(r.systemMs))),
        serverCpuMs: s.serverCpuMs.map(Math.round),
        othersShare: s.othersShare.map((x) => Math.round(x * 100) / 100),
        waitedForQuietMs: s.waitedMs.map(Math.round),
        peer: s.details.length ? s.details : undefined,
      },
    ]),
  );
  return { figures, extra };
}

/**
 * The per-call targets of issue 11, from the figures of bench/call-overhead.ts: calls/s with 64
 * apply calls in flight from one client, and one call's p50 against a bare grpc-js call's.
 */
export function callTargets(callFigures: Figure[]): Figure[] {
  const value = (name: string) => callFigures.find((f) => f.name === name)?.value ?? Number.NaN;
  return [
    {
      name: "issue 11: 64 concurrent apply calls from one client",
      value: value("pool calls/s (64 applies in flight, coalesced)"),
      unit: "calls/s",
      target: { value: 30_000, kind: "min" },
      note: `bare grpc-js: ${Math.round(value("bare grpc-js calls/s (64 in flight)"))} calls/s`,
    },
    {
      name: "issue 21: 64 concurrent apply calls on 2 servers",
      value: value("pool calls/s (64 applies in flight, coalesced), 2 servers"),
      unit: "calls/s",
      target: { value: 30_000, kind: "min" },
    },
    {
      name: "issue 11: one apply call alone, p50 / bare grpc-js p50",
      value: value("pool call p50") / value("bare grpc-js unary call p50"),
      unit: "x",
      target: { value: 1.15, kind: "max" },
    },
  ];
}
