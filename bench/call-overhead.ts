import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { credentials, Metadata, makeGenericClientConstructor } from "@grpc/grpc-js";
import { Pool } from "rpcpool";
import { ComputeServiceService, computeMethods, MeansRequest } from "rpcpool/lesson";
import { startLocalServers } from "rpcpool/protocol";
import { echoService } from "./bare-echo-server.js";
import type { Figure } from "./figures.js";
import { measure } from "./interleaved-calls.js";

/**
 * The calls/s figures are the median of the interleaved rounds (each round's burst of calls at 64 in
 * flight): a round that another process of the shared cores slowed, or a lucky one, does not decide
 * it. The best round and the average over all rounds are in the note.
 */
function rounds(m: { bestPerSecond: number; perSecond: number }): string {
  return `median of 10 rounds of 4x the sequential calls each; best ${Math.round(m.bestPerSecond)}/s, all rounds together ${Math.round(m.perSecond)}/s`;
}

/** `count` calls with `width` of them in flight at once. */
async function inFlight(call: () => Promise<unknown>, count: number, width: number): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (started < count) {
        started++;
        await call();
      }
    }),
  );
}

/** The bare echo server in a process of its own, like the rpcpool server it is compared with. */
async function startBareServer() {
  const program = fileURLToPath(new URL("./bare-echo-server.js", import.meta.url));
  const child = spawn(process.execPath, [program], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once("line", resolve),
  );
  return { address: line.replace("listening on ", ""), stop: () => child.kill() };
}

/**
 * A trivial call (the mean of one short list) through the pool against a bare grpc-js unary call
 * (an echo server with no interceptor or codec), both to a server process of its own on loopback,
 * in the same run. A third figure, the generated client straight to the rpcpool server, tells the
 * pool's client-side share from the server's. The pool's calls/s with 64 applies in flight is
 * measured on one 1-thread server and on two (issue 21's target is on two).
 */
export async function callOverhead(count = 3000): Promise<Figure[]> {
  const bareServer = await startBareServer();
  const Echo = makeGenericClientConstructor(echoService, "Echo");
  const bareClient = new Echo(bareServer.address, credentials.createInsecure()) as unknown as {
    ping(r: Buffer, m: Metadata, o: object, cb: (e: Error | null, r: Buffer) => void): void;
    close(): void;
  };
  const payload = Buffer.from(MeansRequest.encode({ lists: [{ values: [1, 2, 3] }] }).finish());
  // Issue 21's setup: 1 worker thread a server, one server and two (a pool of its own for each).
  const servers = await startLocalServers(3, { workers: 1, stderr: "ignore" });
  const server = servers[0]!;
  const pool = await Pool.connect([server.address]);
  const pool2 = await Pool.connect(servers.slice(1).map((s) => s.address));
  const compute = pool.service(ComputeServiceService);
  const compute2 = pool2.service(ComputeServiceService);
  const request = MeansRequest.fromPartial({ lists: [{ values: [1, 2, 3] }] });
  const connection = pool.servers[0]!;
  // measure() warms up with calls one after another: the coalesced path (batches) is warmed
  // here, so its first rounds do not time the JIT.
  for (const service of [compute, compute2]) await inFlight(() => service.apply("means", request), 5000, 64);
  const [bare, direct, pooled, pooled2] = await measure(
    [
      () =>
        new Promise((resolve, reject) =>
          bareClient.ping(payload, new Metadata(), {}, (e, r) => (e ? reject(e) : resolve(r))),
        ),
      () => connection.unary(computeMethods.means, request),
      () => compute.apply("means", request),
      () => compute2.apply("means", request),
    ],
    count,
    64,
    10,
    500,
    // Bursts of 4x a round's sequential calls (2,000 in the whole bench): a burst of 500 at 64 in
    // flight lasted 10-20 ms, short enough for a moment of the other processes on the two cores
    // (or the burst's own start and end) to decide a round.
    4 * Math.ceil(count / 10),
  );
  bareClient.close();
  bareServer.stop();
  await pool.close();
  await pool2.close();
  await Promise.all(servers.map((s) => s.stop()));
  return [
    { name: "bare grpc-js unary call p50", value: bare!.p50, unit: "us", note: "echo server, own process" },
    {
      name: "bare grpc-js call: client CPU per call",
      value: bare!.cpuPerCall,
      unit: "us",
      note: "what bounds latency on this stack, before the server's share and the wake-ups",
    },
    { name: "pool call: client CPU per call", value: pooled!.cpuPerCall, unit: "us" },
    { name: "bare grpc-js unary call p99", value: bare!.p99, unit: "us" },
    {
      name: "bare grpc-js calls/s (64 in flight)",
      value: bare!.medianPerSecond,
      unit: "calls/s",
      note: rounds(bare!),
    },
    {
      name: "generated client to the rpcpool server p50",
      value: direct!.p50,
      unit: "us",
      note: "ComputeService.Means without the pool",
    },
    {
      name: "pool call p50",
      value: pooled!.p50,
      unit: "us",
      note: "ComputeService.Means through pool.service().apply",
    },
    { name: "pool call p99", value: pooled!.p99, unit: "us" },
    {
      name: "pool calls/s (64 applies in flight, coalesced)",
      value: pooled!.medianPerSecond,
      unit: "calls/s",
      note: `one 1-thread server; plain concurrent applies that wait for room travel as one BatchService round trip; ${rounds(pooled!)}`,
      target: { value: 30_000, kind: "min" },
    },
    {
      name: "pool calls/s (64 applies in flight, coalesced), 2 servers",
      value: pooled2!.medianPerSecond,
      unit: "calls/s",
      note: `issue 21's setup: two 1-thread servers, each a process of its own; 64 in flight go as two batches of 32; ${rounds(pooled2!)}`,
      target: { value: 30_000, kind: "min" },
    },
    {
      name: "pool / bare p50 latency",
      value: pooled!.p50 / bare!.p50,
      unit: "x",
      target: { value: 1.15, kind: "max" },
    },
    {
      name: "pool p50 against RPyC's 190 us",
      value: pooled!.p50,
      unit: "us",
      target: { value: 190, kind: "max" },
    },
  ];
}
