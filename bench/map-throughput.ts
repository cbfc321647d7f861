// Issue 21: `rpcpool map` over JSON lines as a user runs it, spawn to exit: tiny requests of the
// lesson's Means (`{"lists":[{"values":[k,1]}]}`, the mean of a 2-value list) from a file, on two
// rpcpool-server processes of one worker thread each (as the embedded default starts on a 2-core
// machine), replies read from the client's stdout by the bench as a pipe reader would. Requests/s
// for a small and a large input, and the client's peak resident set for both: `map` reads its input
// as a stream, so the peak should not grow with the line count (flat memory).
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { Figure } from "./figures.js";
import {
  clientProgram,
  median,
  mustRun,
  peakRssMiBOf,
  peakRssModule,
  type Run,
  type ServerProcess,
  startServerProcess,
} from "./whole-process.js";
import { Series, sample } from "./whole-programs.js";

export interface MapOptions {
  say: (line: string) => void;
  /** Where the inputs and the peak-RSS module are written (removed with the bench's directory). */
  dir: string;
  /** Input sizes, in lines. */
  lines: number[];
  rounds: number;
}

const method = "rpcpool.compute.v1.ComputeService/Means";
// The k of line i: the means differ from line to line, so the check below sees the order too.
const kOf = (i: number) => i % 1000;

async function writeRequests(path: string, lines: number): Promise<void> {
  const out = createWriteStream(path);
  const block = 10_000;
  for (let start = 0; start < lines; start += block) {
    let text = "";
    for (let i = start; i < Math.min(lines, start + block); i++)
      text += `{"lists":[{"values":[${kOf(i)},1]}]}\n`;
    if (!out.write(text)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  out.end();
  await finished(out);
}

/** Every reply, in input order, is its line's mean (a reply also names the server that served it). */
function checkReplies(run: Run, lines: number): void {
  const replies = run.stdout.split("\n");
  if (replies.at(-1) === "") replies.pop();
  if (replies.length !== lines) throw new Error(`map printed ${replies.length} replies for ${lines} lines`);
  for (let i = 0; i < lines; i++)
    if (!replies[i]!.startsWith(`{"means":[${(kOf(i) + 1) / 2}]`))
      throw new Error(`map's reply ${i + 1} is ${replies[i]!.slice(0, 200)}`);
}

export async function mapThroughput(options: MapOptions): Promise<{ figures: Figure[]; extra: unknown }> {
  const { say, dir } = options;
  const peak = peakRssModule(dir);
  const inputs = new Map<number, string>();
  for (const lines of [1000, ...options.lines]) {
    const path = join(dir, `means-${lines}.jsonl`);
    await writeRequests(path, lines);
    inputs.set(lines, path);
  }
  const servers: ServerProcess[] = [
    await startServerProcess(["--workers", "1"]),
    await startServerProcess(["--workers", "1"]),
  ];
  const list = servers.map((s) => s.address).join(",");
  const cpuOf = () => servers.reduce((sum, s) => sum + (s.cpuMs() ?? Number.NaN), 0);
  const run = (lines: number) =>
    mustRun(
      process.execPath,
      ["--require", peak, clientProgram, "map", method, inputs.get(lines)!, "--servers", list],
      {
        cpu: true,
      },
    );
  const series = new Map(options.lines.map((lines) => [lines, new Series(`rpcpool map, ${lines} lines`)]));
  const peaks = new Map<number, number[]>(options.lines.map((lines) => [lines, []]));
  try {
    // Warm-up: the servers' JIT, and the client's files in the page cache.
    checkReplies(await run(1000), 1000);
    for (let round = 1; round <= options.rounds; round++)
      for (const lines of options.lines) {
        const s = series.get(lines)!;
        await sample(s, async () => {
          const before = cpuOf();
          const done = await run(lines);
          const serverCpu = cpuOf() - before;
          s.serverCpuMs.push(serverCpu);
          return { run: done, ownCpuMs: done.cpuMs! + serverCpu };
        });
        const last = s.runs.at(-1)!;
        checkReplies(last, lines);
        peaks.get(lines)!.push(peakRssMiBOf(last.stderr));
        say(
          `  ${lines} lines, round ${round}: ${(last.wallMs / 1000).toFixed(2)} s, ` +
            `${Math.round(lines / (last.wallMs / 1000))} lines/s; CPU of the client ${((last.cpuMs ?? Number.NaN) / 1000).toFixed(2)} s, ` +
            `of the servers ${(s.serverCpuMs.at(-1)! / 1000).toFixed(2)} s; client peak ${peaks.get(lines)!.at(-1)!.toFixed(0)} MiB`,
        );
        // The replies are checked; their text need not stay in the bench's memory.
        last.stdout = "";
      }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  const figures: Figure[] = [];
  const most = (lines: number) => Math.max(...peaks.get(lines)!);
  for (const [lines, s] of series) {
    const cpu = `median CPU: client ${(s.cpuMs / 1000).toFixed(2)} s, servers ${(median(s.serverCpuMs) / 1000).toFixed(2)} s`;
    figures.push(
      {
        name: `map: tiny Means requests per second, ${lines} lines, 2 servers`,
        value: lines / (s.wallMs / 1000),
        unit: "lines/s",
        target: { value: 30_000, kind: "min" },
        note: `${s.range()}; ${cpu}`,
      },
      {
        name: `map: client peak RSS, ${lines} lines`,
        value: most(lines),
        unit: "MiB",
        note: "the largest of the runs",
      },
    );
  }
  const smallest = Math.min(...options.lines);
  const largest = Math.max(...options.lines);
  if (largest > smallest)
    figures.push({
      name: `map: client peak RSS, ${largest} lines / ${smallest} lines`,
      value: most(largest) / most(smallest),
      unit: "x",
      // Flat memory: five times the lines in about the same memory (some slack for the heap's growth).
      target: { value: 1.25, kind: "max" },
    });
  const extra = Object.fromEntries(
    [...series].map(([lines, s]) => [
      lines,
      {
        wallMs: s.runs.map((r) => Math.round(r.wallMs)),
        clientCpuMs: s.runs.map((r) => (r.cpuMs === undefined ? null : Math.round(r.cpuMs))),
        serverCpuMs: s.serverCpuMs.map(Math.round),
        clientPeakRssMiB: peaks.get(lines)!.map(Math.round),
        othersShare: s.othersShare.map((x) => Math.round(x * 100) / 100),
      },
    ]),
  );
  return { figures, extra };
}
