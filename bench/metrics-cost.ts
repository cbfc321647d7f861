import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { performance } from "node:perf_hooks";
import { Pool } from "rpcpool";
import { ComputeServiceService, computeMethods, MeansRequest, TableOptions } from "rpcpool/lesson";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
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

/**
 * CPU (user + system, in us) a process has used: this one's, or a child's read from /proc. A
 * child's is the sum of its threads' schedstat (ns), not /proc/PID/stat's 10 ms clock ticks: a
 * round of 10,000 calls takes about 300 ms of the server's CPU, which ticks would read to 3%, as
 * much as the cost being measured. (A thread that ends mid-round would drop out; the server's
 * threads live as long as it does.)
 */
function cpuUs(pid?: number): number {
  if (pid === undefined) {
    const { user, system } = process.cpuUsage();
    return user + system;
  }
  let ns = 0;
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1000;
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
 * The metrics' own code per coalesced call, alone, in this process: what a batch item costs the
 * server's hooks (a clock read, one `unary` on the batch's meter) and the pool's (one
 * `unary` per item, a meter per round trip), in ns; the best of five runs, as machine noise only
 * adds. The server's interceptor runs once per round trip (about 66 items here) and is left out.
 */
async function hookNs(): Promise<{ server: number; client: number }> {
  const { serverMetrics } = await import("../src/host/metrics/prometheus-server.js");
  const { clientMetrics } = await import("../src/pool/metrics/prometheus-client.js");
  const server = serverMetrics().observer;
  const client = clientMetrics().observer;
  const path = "/rpcpool.compute.v1.ComputeService/Means";
  const batches = 20_000;
  const items = 64;
  const best = (run: () => void) => {
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      run();
      min = Math.min(min, ((performance.now() - start) * 1e6) / (batches * items));
    }
    return min;
  };
  const serverNs = best(() => {
    for (let b = 0; b < batches; b++) {
      const meter = server.batch(path);
      const from = performance.now();
      for (let i = 0; i < items; i++) meter.unary(0, (performance.now() - from) / 1000);
    }
  });
  const clientNs = best(() => {
    for (let b = 0; b < batches; b++) {
      const call = client.call("/rpcpool.pool.v1.BatchService/Invoke", false, false);
      call.sent();
      call.received();
      call.end(0);
      const meter = client.batch(path);
      const seconds = 0.001;
      for (let i = 0; i < items; i++) meter.unary(0, seconds);
    }
  });
  return { server: serverNs, client: clientNs };
}

/** The figures of one quantity, metrics off and on, as the JSON line carries them. */
export interface OffOn {
  off: number;
  on: number;
  /** The median of the rounds' on / off pairs (not on / off of the medians). */
  ratio: number;
  /** The same for the control, a second arm without metrics: how far two identical arms drift. */
  control: number;
}

export interface MetricsCost {
  figures: Figure[];
  /** For the JSON line of `npm run bench` (key `metricsCost`). */
  json: {
    rounds: number;
    coalescedCallsPerSecond: OffOn;
    columnSumsMBps: OffOn;
    columnSumsSeconds: OffOn;
    serverCpuUsPerCall: OffOn;
    clientCpuUsPerCall: OffOn;
    /** The metrics' own code per coalesced call (hookNs), and its share of the server's CPU per call. */
    hooksNsPerCall: { server: number; client: number; serverShare: number };
  };
}

type Arm = "off" | "control" | "on";
const arms: Arm[] = ["off", "control", "on"];
/** The orders of the three arms, one per round in turn: each goes first, second and third alike. */
const orders: Arm[][] = [
  ["off", "control", "on"],
  ["control", "on", "off"],
  ["on", "off", "control"],
  ["off", "on", "control"],
  ["on", "control", "off"],
  ["control", "off", "on"],
];

/**
 * The cost of metrics, side by side in one run: three servers alike but for --metrics on the
 * third (whose pool also counts its calls, pool.metrics()); the second, a control without metrics,
 * shows how far two identical arms drift apart on this machine. Rounds rotate the arms' order.
 * Each round takes the coalesced-calls figure (with the client's and the server's CPU per call)
 * and the column-sums figure; a ratio is the median of the rounds' pairs (target: within 3%).
 */
export async function metricsCost(options: {
  table: Buffer;
  calls: number;
  rounds: number;
  say: (line: string) => void;
}): Promise<MetricsCost> {
  const port = await freePort();
  const started: LocalServer[] = [];
  try {
    const workers = 2;
    const servers = {} as Record<Arm, LocalServer>;
    for (const arm of arms) {
      const args = arm === "on" ? ["--metrics", `127.0.0.1:${port}`] : [];
      const [server] = await startLocalServers(1, { workers, stderr: "ignore", args });
      started.push(server!);
      servers[arm] = server!;
    }
    const pools = {} as Record<Arm, Pool>;
    for (const arm of arms) pools[arm] = await Pool.connect([servers[arm].address]);
    await pools.on.metrics();
    const results = Object.fromEntries(
      arms.map((arm) => [
        arm,
        {
          calls: [] as number[],
          mbps: [] as number[],
          seconds: [] as number[],
          clientCpu: [] as number[],
          serverCpu: [] as number[],
        },
      ]),
    ) as Record<
      Arm,
      { calls: number[]; mbps: number[]; seconds: number[]; clientCpu: number[]; serverCpu: number[] }
    >;
    // Warm-up: worker threads started, code optimised, on every arm.
    for (const arm of arms) {
      await coalescedRound(pools[arm], Math.min(2000, options.calls));
      await columnSumsRound(pools[arm], options.table.subarray(0, options.table.indexOf(10, 4 << 20) + 1));
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = orders[round % orders.length]!;
      for (const arm of order) {
        const pid = servers[arm].process.pid;
        const client = cpuUs();
        const server = cpuUs(pid);
        results[arm].calls.push(await coalescedRound(pools[arm], options.calls));
        results[arm].clientCpu.push((cpuUs() - client) / options.calls);
        results[arm].serverCpu.push((cpuUs(pid) - server) / options.calls);
      }
      for (const arm of order) {
        const mbps = await columnSumsRound(pools[arm], options.table);
        results[arm].mbps.push(mbps);
        results[arm].seconds.push(options.table.length / 1e6 / mbps);
      }
      const last = (of: "calls" | "mbps") => arms.map((a) => results[a][of].at(-1)!.toFixed(0)).join(" / ");
      options.say(
        `  round ${round + 1}: coalesced calls/s off / control / on ${last("calls")}; column sums MB/s ${last("mbps")}`,
      );
    }
    // The server measured with metrics on did count: its scrape has the calls.
    const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (!/grpc_server_handled_total\{[^}]*grpc_method="Means"[^}]*\} [1-9]/.test(scrape))
      throw new Error("the server with --metrics counted no Means calls");
    const client = await (await pools.on.metrics()).metrics();
    if (!/grpc_client_handled_total\{[^}]*grpc_method="Means"/.test(client))
      throw new Error("the pool's metrics counted no Means calls");
    for (const arm of arms) await pools[arm].close();
    type Of = "calls" | "mbps" | "seconds" | "clientCpu" | "serverCpu";
    // Each round's arm against the "off" arm of the same round (taken seconds apart).
    const ratios = (arm: Arm, of: Of) => results[arm][of].map((v, i) => v / results.off[of][i]!);
    const spread = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `${sorted[Math.floor(sorted.length / 4)]!.toFixed(2)}-${sorted[Math.ceil((3 * sorted.length) / 4) - 1]!.toFixed(2)}`;
    };
    const ratio = (of: Of, name: string, unit: string, target?: Figure["target"]): Figure => ({
      name: `${name}, metrics on / off`,
      value: median(ratios("on", of)),
      unit: "x",
      note: `${median(results.off[of]).toFixed(1)} -> ${median(results.on[of]).toFixed(1)} ${unit}; pairs' middle half ${spread(ratios("on", of))}; the control without metrics: ${median(ratios("control", of)).toFixed(3)} (${spread(ratios("control", of))})`,
      target,
    });
    const within3 = { value: 0.97, kind: "min" as const };
    const offOn = (of: Of): OffOn => ({
      off: median(results.off[of]),
      on: median(results.on[of]),
      ratio: median(ratios("on", of)),
      control: median(ratios("control", of)),
    });
    const hooks = await hookNs();
    const serverCpu = offOn("serverCpu");
    const serverShare = hooks.server / 1000 / serverCpu.off;
    return {
      figures: [
        ratio("calls", "coalesced calls/s", "calls/s", within3),
        ratio("serverCpu", "coalesced calls: server CPU per call", "us"),
        ratio("clientCpu", "coalesced calls: client CPU per call", "us"),
        ratio("mbps", "column sums MB/s", "MB/s", within3),
        {
          name: "metrics' own code per coalesced call, server hooks alone",
          value: hooks.server,
          unit: "ns",
          note: `${(100 * serverShare).toFixed(2)}% of the server's ${serverCpu.off.toFixed(1)} us per call without metrics; the pool's hooks ${hooks.client.toFixed(0)} ns`,
        },
      ],
      json: {
        rounds: options.rounds,
        coalescedCallsPerSecond: offOn("calls"),
        columnSumsMBps: offOn("mbps"),
        columnSumsSeconds: offOn("seconds"),
        serverCpuUsPerCall: serverCpu,
        clientCpuUsPerCall: offOn("clientCpu"),
        hooksNsPerCall: { ...hooks, serverShare },
      },
    };
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}
