import { once } from "node:events";
import { credentials, makeClientConstructor, status } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { type ClientError, Pool, startServer } from "rpcpool";
import { demoMethods, lessonServices } from "rpcpool/lesson";
import { BatchServiceDefinition, methodsOf, startLocalServer } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthCheck } from "./support/grpc-clients.js";
import { useServers } from "./support/local-servers.js";

const invoke = methodsOf(BatchServiceDefinition).invoke!;
const servers = useServers(1, {
  args: ["--max-calls", "40", "--max-batch-items", "500", "--max-health-watches", "45"],
});
let pool: Pool;
beforeAll(async () => {
  pool = await Pool.connect([servers.servers[0]!.address], { retries: 0 });
});
afterAll(() => pool.close());

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => "OK",
    (error: ClientError) => `${error.codeName}: ${error.details}`,
  );

/** A batch of `n` items of a DemoService method, sent as is. */
function batch(method: "sleep" | "spin", n: number, request: object, timeoutMs = 30_000) {
  const spec = demoMethods[method] as { path: string; requestSerialize(value: object): Buffer };
  const bytes = spec.requestSerialize(request);
  return pool.servers[0]!.unary(
    invoke,
    { method: spec.path, requests: Array.from({ length: n }, () => bytes) },
    { timeoutMs },
  );
}

/** Opens a grpc.health.v1 Watch stream, resolved once its first status came. */
async function openWatch(address: string) {
  const Health = makeClientConstructor(healthService, "Health");
  const client = new Health(address, credentials.createInsecure()) as any;
  const call = client.watch({ service: "" });
  // A refused Watch rejects (once's "error"); later errors (its end on close) are ignored.
  await once(call, "data");
  call.on("error", () => {});
  return {
    call,
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

describe("calls in flight are bounded server-wide", () => {
  it("caps the items of one batch (--max-batch-items) with RESOURCE_EXHAUSTED naming the cap", async () => {
    expect(await outcome(batch("sleep", 501, { milliseconds: 1 }))).toMatch(
      /^RESOURCE_EXHAUSTED: .*500 items.*--max-batch-items/,
    );
    expect(await outcome(batch("sleep", 500, { milliseconds: 1 }))).toBe("OK");
  });

  it("counts the items a batch runs as calls: beyond --max-calls they are refused, one by one", async () => {
    const reply = (await batch("sleep", 100, { milliseconds: 300 })) as {
      results: Array<{ code: number; message: string }>;
    };
    const refused = reply.results.filter((r) => r.code === 8);
    // The batch is one call: 39 items fit beside it.
    expect(reply.results.filter((r) => r.code === 0)).toHaveLength(39);
    expect(refused).toHaveLength(61);
    expect(refused[0]!.message).toMatch(/limit 40, --max-calls/);
  });

  it("gives health Watch streams a cap of their own (--max-health-watches): they never fill --max-calls", async () => {
    const address = servers.servers[0]!.address;
    const watches = await Promise.all(Array.from({ length: 45 }, () => openWatch(address)));
    try {
      // 45 Watches open on a --max-calls 40 server, and calls still go through.
      expect(await outcome(pool.servers[0]!.unary(demoMethods.sleep, { milliseconds: 1 }))).toBe("OK");
      await expect(openWatch(address)).rejects.toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
        details: "too many health Watch streams open on this server (limit 45, --max-health-watches)",
      });
    } finally {
      for (const watch of watches) watch.close();
    }
    // Closed watches give their places back.
    await expect
      .poll(() =>
        openWatch(address)
          .then((watch) => watch.close())
          .then(() => "open", String),
      )
      .toBe("open");
  });

  it("cancels a batch of spins in the time of the few running, and answers health meanwhile", async () => {
    // Each spin alone takes seconds: what ends the batch is its deadline, not its work.
    const spins = outcome(batch("spin", 500, { iterations: 2e9 }, 1000));
    expect(await spins).toMatch(/^DEADLINE_EXCEEDED/);
    expect(await healthCheck(servers.servers[0]!.address, "", 5000)).toBe("SERVING");
    expect(await outcome(pool.servers[0]!.unary(demoMethods.sleep, { milliseconds: 1 }))).toBe("OK");
  });
});

describe("malformed request bytes", () => {
  it("are INVALID_ARGUMENT (the client's fault), and give their place back", async () => {
    const garbled = { ...demoMethods.sleep, requestSerialize: () => Buffer.from([0x08, 0xff, 0xff]) };
    // More refusals than --max-calls: a refused call must not keep its place.
    for (let i = 0; i < 45; i++) {
      expect(await outcome(pool.servers[0]!.unary(garbled, { milliseconds: 1 }))).toMatch(
        /^INVALID_ARGUMENT: malformed request: its bytes do not parse/,
      );
    }
    expect(await outcome(pool.servers[0]!.unary(demoMethods.sleep, { milliseconds: 1 }))).toBe("OK");
  });
});

describe("the log of malformed requests", () => {
  it("is one line per refusal, at most 10 per 10 s", async () => {
    const logged: string[] = [];
    const server = await startServer({
      port: 0,
      workers: 1,
      services: await lessonServices(),
      log: (message) => logged.push(message),
    });
    const client = await Pool.connect([server.address], { retries: 0 });
    try {
      const garbled = { ...demoMethods.sleep, requestSerialize: () => Buffer.from([0x08, 0xff, 0xff]) };
      for (let i = 0; i < 30; i++) await outcome(client.servers[0]!.unary(garbled, { milliseconds: 1 }));
      expect(logged).toHaveLength(10);
      for (const line of logged) {
        expect(line).not.toContain("\n");
        expect(line).toMatch(/^\/rpcpool\.compute\.v1\.DemoService\/Sleep: refused a malformed request/);
      }
    } finally {
      await client.close();
      await server.close(1000);
    }
  });
});

describe("draining with an open health Watch", () => {
  it("ends the watch and exits promptly on SIGTERM, well within --grace", async () => {
    const server = await startLocalServer({ workers: 1, args: ["--grace", "120000"], stderr: "ignore" });
    const watch = await openWatch(server.address);
    const ended = new Promise<string>((resolve) => {
      watch.call.on("error", (error: { code: number }) => resolve(`error ${error.code}`));
      watch.call.on("end", () => resolve("end"));
    });
    const exited = once(server.process, "exit");
    server.process.kill("SIGTERM");
    // A drain held by the watch would last the whole 120 s grace: the test's own timeout is 30 s.
    const [code] = await exited;
    expect(code).toBe(0);
    expect(await ended).toMatch(/error 14|end/);
    watch.close();
  }, 30_000);
});
