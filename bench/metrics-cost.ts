import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { performance } from "node:perf_hooks";
import { type LocalServer, Pool, startLocalServers } from "rpcpool";
import { ComputeServiceService, computeMethods, MeansRequest, TableOptions } from "rpcpool/lesson";
import type { Figure } from "./figures.js";

/** A port free now on loopback (the --metrics port of the server measured with metrics on). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** CPU (user + system, in us) a process has used: this one's, or a child's read from /proc. */
function cpuUs(pid?: number): number {
  if (pid === undefined) {
    const { user, system } = process.cpuUsage();
    return user + system;
  }
  // Fields 14 and 15 of /proc/PID/stat (after the parenthesised name): utime, stime, in clock ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

/** `count` applies with 64 in flight (they coalesce into batches): calls/s. */
async function coalescedRound(pool: Pool, count: number): Promise<number> {
  const compute = pool.service(ComputeServiceService);
  const request = MeansRequest.fromPartial({ lists: [{ values: [1, 2, 3] }] });
  let issued = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (issued < count) {
        issued++;
        await compute.apply("means", request);
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

/** A table held in memory streamed to the pool's one server (column sums): MB/s. */
async function columnSumsRound(pool: Pool, table: Buffer): Promise<number> {
  async function* requests() {
    yield { options: TableOptions.fromPartial({ fileName: "bench.csv" }) };
    for (let i = 0; i < table.length; i += 256 << 10) yield { chunk: table.subarray(i, i + (256 << 10)) };
  }
  const start = performance.now();
  await pool.servers[0]!.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 600_000 });
  return table.length / 1e6 / ((performance.now() - start) / 1000);
}

/**
 * The cost of metrics, side by side in one run: two servers alike but for --metrics (and a pool
 * that counts its calls, pool.metrics(), against one that does not), measured in alternating
 * rounds (the order flips each round) so that a shared machine's drift hits both alike. The
 * figures are the medians of the rounds; the ratio is on / off (target: within 3%).
 */
export async function metricsCost(options: {
  table: Buffer;
  calls: number;
  rounds: number;
  say: (line: string) => void;
}): Promise<Figure[]> {
  const port = await freePort();
  const started: LocalServer[] = [];
  try {
    const workers = 2;
    const [off] = await startLocalServers(1, { workers, stderr: "ignore" });
    started.push(off!);
    const [on] = await startLocalServers(1, {
      workers,
      stderr: "ignore",
      args: ["--metrics", `127.0.0.1:${port}`],
    });
    started.push(on!);
    const pools = {
      off: await Pool.connect([off!.address]),
      on: await Pool.connect([on!.address]),
    };
    await pools.on.metrics();
    const results = {
      off: { calls: [] as number[], mbps: [] as number[], cpu: [] as number[] },
      on: { calls: [] as number[], mbps: [] as number[], cpu: [] as number[] },
    };
    // Warm-up: worker threads started, code optimised, on both.
    for (const pool of [pools.off, pools.on]) {
      await coalescedRound(pool, Math.min(2000, options.calls));
      await columnSumsRound(pool, options.table.subarray(0, options.table.indexOf(10, 4 << 20) + 1));
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const);
      for (const which of order) {
        const pid = (which === "on" ? on : off)!.process.pid;
        const cpu = cpuUs() + cpuUs(pid);
        results[which].calls.push(await coalescedRound(pools[which], options.calls));
        results[which].cpu.push((cpuUs() + cpuUs(pid) - cpu) / options.calls);
      }
      for (const which of order) results[which].mbps.push(await columnSumsRound(pools[which], options.table));
      options.say(
        `  round ${round + 1}: coalesced calls/s off ${results.off.calls.at(-1)!.toFixed(0)}, on ${results.on.calls.at(-1)!.toFixed(0)}; column sums MB/s off ${results.off.mbps.at(-1)!.toFixed(0)}, on ${results.on.mbps.at(-1)!.toFixed(0)}`,
      );
    }
    // The server measured with metrics on did count: its scrape has the calls.
    const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (!/grpc_server_handled_total\{[^}]*grpc_method="Means"[^}]*\} [1-9]/.test(scrape))
      throw new Error("the server with --metrics counted no Means calls");
    const client = await (await pools.on.metrics()).metrics();
    if (!/grpc_client_handled_total\{[^}]*grpc_method="Means"/.test(client))
      throw new Error("the pool's metrics counted no Means calls");
    await pools.off.close();
    await pools.on.close();
    // Each round's on / off, taken minutes apart at most: the median of these pairs is the figure
    // (a shared machine's load changes between rounds far more than metrics cost).
    const ratios = (of: "calls" | "mbps" | "cpu") => results.on[of].map((on, i) => on / results.off[of][i]!);
    const spread = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `${sorted[Math.floor(sorted.length / 4)]!.toFixed(2)}-${sorted[Math.ceil((3 * sorted.length) / 4) - 1]!.toFixed(2)}`;
    };
    const note = `median of ${options.rounds} alternating rounds`;
    return [
      { name: "coalesced calls/s, metrics off", value: median(results.off.calls), unit: "calls/s", note },
      {
        name: "coalesced calls/s, metrics on (server and pool)",
        value: median(results.on.calls),
        unit: "calls/s",
        note,
      },
      {
        name: "coalesced calls/s, metrics on / off",
        value: median(ratios("calls")),
        unit: "x",
        note: `median of each round's pair; middle half of the pairs ${spread(ratios("calls"))}`,
        target: { value: 0.97, kind: "min" },
      },
      {
        name: "coalesced calls: CPU per call (client + server), metrics off / on",
        value: median(results.off.cpu),
        unit: "us",
        note: `on: ${median(results.on.cpu).toFixed(1)} us; on / off ${median(ratios("cpu")).toFixed(3)} (median of the pairs, middle half ${spread(ratios("cpu"))}): less noisy than wall time`,
      },
      { name: "column sums MB/s, metrics off", value: median(results.off.mbps), unit: "MB/s", note },
      { name: "column sums MB/s, metrics on", value: median(results.on.mbps), unit: "MB/s", note },
      {
        name: "column sums MB/s, metrics on / off",
        value: median(ratios("mbps")),
        unit: "x",
        note: `median of each round's pair; middle half of the pairs ${spread(ratios("mbps"))}`,
        target: { value: 0.97, kind: "min" },
      },
    ];
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}
