import { performance } from "node:perf_hooks";
import {
  credentials,
  Metadata,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import { startLocalServers } from "../src/client/local-servers.js";
import { Pool } from "../src/client/pool.js";
import { DemoServiceService, InfoRequest } from "../src/gen/rpcpool/compute/v1/demo.js";
import { type Figure, percentile } from "./figures.js";

const echo: ServiceDefinition = {
  ping: {
    path: "/bench.Echo/Ping",
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

/** Latency samples (µs) of `count` calls one after another, and calls/s with `inFlight` at once. */
async function measure(call: () => Promise<unknown>, count: number, inFlight: number) {
  for (let i = 0; i < 300; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await call();
    samples.push((performance.now() - start) * 1000);
  }
  samples.sort((a, b) => a - b);
  const start = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (done < count) {
        done++;
        await call();
      }
    }),
  );
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    perSecond: count / ((performance.now() - start) / 1000),
  };
}

/**
 * A trivial call through the pool against a bare grpc-js unary call, in the same run: both on
 * loopback, same machine, same number of calls.
 */
export async function callOverhead(count = 3000): Promise<Figure[]> {
  const bareServer = new Server();
  bareServer.addService(echo, {
    ping: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => cb(null, call.request),
  });
  const port = await new Promise<number>((resolve, reject) =>
    bareServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const Echo = makeGenericClientConstructor(echo, "Echo");
  const bareClient = new Echo(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
    ping(r: Buffer, m: Metadata, o: object, cb: (e: Error | null, r: Buffer) => void): void;
    close(): void;
  };
  const payload = Buffer.from([]);
  const bare = await measure(
    () =>
      new Promise((resolve, reject) =>
        bareClient.ping(payload, new Metadata(), {}, (e, r) => (e ? reject(e) : resolve(r))),
      ),
    count,
    64,
  );
  bareClient.close();
  bareServer.forceShutdown();

  const [server] = await startLocalServers(1, { workers: 1, stderr: "ignore" });
  const pool = await Pool.connect([server!.address]);
  const demo = pool.service(DemoServiceService);
  const request = InfoRequest.fromPartial({});
  const pooled = await measure(() => demo.apply("info", request), count, 64);
  await pool.close();
  await server!.stop();
  return [
    { name: "bare grpc-js unary call p50", value: bare.p50, unit: "us" },
    { name: "bare grpc-js unary call p99", value: bare.p99, unit: "us" },
    { name: "bare grpc-js calls/s (64 in flight)", value: bare.perSecond, unit: "calls/s" },
    {
      name: "pool call p50",
      value: pooled.p50,
      unit: "us",
      note: "DemoService.Info through pool.service().apply",
    },
    { name: "pool call p99", value: pooled.p99, unit: "us" },
    { name: "pool calls/s (64 in flight)", value: pooled.perSecond, unit: "calls/s" },
    {
      name: "pool / bare p50 latency",
      value: pooled.p50 / bare.p50,
      unit: "x",
      target: { value: 1.2, kind: "max" },
    },
    {
      name: "pool p50 against RPyC's 190 us",
      value: pooled.p50,
      unit: "us",
      target: { value: 190, kind: "max" },
    },
  ];
}
