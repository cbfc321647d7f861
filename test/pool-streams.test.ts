import { ClientError, Pool, type PoolEvent } from "rpcpool";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type StreamingInputCallRequest,
  type StreamingOutputCallRequest,
  TestServiceDefinition,
} from "./gen/grpc/testing/test.js";
import { findPython, type InteropProcess, interopPrograms } from "./support/interop-processes.js";
import { until } from "./support/waits.js";

// Every call kind through `pool.service(D)`, against plain gRPC servers in processes of their own
// (grpc-js's and Python grpcio's interop servers, test/support/interop-processes.ts): replies,
// failover before the first reply, none after one, cancellation and deadlines.

const python = findPython();
const kinds: InteropProcess["kind"][] = python ? ["grpc-js", "python"] : ["grpc-js"];
if (!python) console.warn("pool stream tests against the Python server skipped: no python3 with grpcio");

let programs: Awaited<ReturnType<typeof interopPrograms>>;
beforeAll(async () => {
  programs = await interopPrograms(python);
}, 60_000);
afterAll(() => programs?.cleanup());

/** A request for replies of these sizes; `wait` delays a reply (microseconds: a hang, not a timing). */
const outputs = (
  sizes: Array<number | { size: number; wait: number }>,
  status?: { code: number; message: string },
): StreamingOutputCallRequest => ({
  responseType: 0,
  responseParameters: sizes.map((s) =>
    typeof s === "number"
      ? { size: s, intervalUs: 0, compressed: undefined }
      : { size: s.size, intervalUs: s.wait, compressed: undefined },
  ),
  payload: undefined,
  responseStatus: status,
});
const input = (size: number): StreamingInputCallRequest => ({
  payload: { type: 0, body: Buffer.alloc(size) },
  expectCompressed: undefined,
});
const tenSeconds = 10_000_000;
const unavailable = { code: 14, message: "the server says it is going away" };

async function* generated<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function sizesOf(replies: AsyncIterable<{ payload?: { body: Buffer } }>): Promise<number[]> {
  const sizes: number[] = [];
  for await (const reply of replies) sizes.push(reply.payload?.body.length ?? -1);
  return sizes;
}

async function errorOf(run: () => Promise<unknown>): Promise<ClientError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ClientError);
    return error as ClientError;
  }
  throw new Error("the call succeeded");
}

for (const kind of kinds) {
  describe(`call kinds through the pool, ${kind} server`, () => {
    let server: InteropProcess;
    let pool: Pool;
    beforeAll(async () => {
      server = await programs.start(kind);
      pool = await Pool.connect([server.address]);
    });
    afterAll(async () => {
      await pool?.close();
      await server?.kill();
    });

    it("streams replies, takes a stream of requests, and talks both ways", async () => {
      const test = pool.service(TestServiceDefinition);
      expect(await sizesOf(test.serverStream("streamingOutputCall", outputs([1, 2, 3])))).toEqual([1, 2, 3]);
      const reply = await test.clientStream("streamingInputCall", generated([input(3), input(5)]));
      expect(reply.aggregatedPayloadSize).toBe(8);
      expect((await test.clientStream("streamingInputCall", [input(4)])).aggregatedPayloadSize).toBe(4);

      const call = test.duplex("fullDuplexCall");
      const replies = call.replies[Symbol.asyncIterator]();
      await call.send(outputs([4]));
      expect((await replies.next()).value?.payload?.body.length).toBe(4);
      await call.send(outputs([7, 2]));
      expect((await replies.next()).value?.payload?.body.length).toBe(7);
      expect((await replies.next()).value?.payload?.body.length).toBe(2);
      call.end();
      expect((await replies.next()).done).toBe(true);
      // Every call has ended: the server is idle in the pool's books.
      expect(pool.servers.every((s) => (s as unknown as { inFlight: number }).inFlight === 0)).toBe(true);
    });

    it("refuses a method of another kind, naming it (and does not compile it)", async () => {
      const test = pool.service(TestServiceDefinition);
      // @ts-expect-error: UnaryCall is not a server-streaming method
      expect(() => test.serverStream("unaryCall", {})).toThrow(/unaryCall is a unary method/);
      // @ts-expect-error: StreamingOutputCall is not a client-streaming method
      await expect(() => test.clientStream("streamingOutputCall", [])).toThrow(
        /is a server-streaming method/,
      );
      // Checked by the compiler only (never run):
      const _compileOnly = async () => {
        // @ts-expect-error: a duplex call's requests are StreamingOutputCallRequests
        await test.duplex("fullDuplexCall").send(input(1));
        for await (const reply of test.serverStream("streamingOutputCall", outputs([]))) {
          // @ts-expect-error: the replies of StreamingOutputCall carry a payload, not a size
          reply.aggregatedPayloadSize;
        }
      };
    });

    it("cancels a stream with an AbortSignal after a reply, and when the loop is left early", async () => {
      const test = pool.service(TestServiceDefinition);
      const controller = new AbortController();
      const seen: number[] = [];
      const error = await errorOf(async () => {
        for await (const reply of test.serverStream(
          "streamingOutputCall",
          outputs([1, { size: 2, wait: tenSeconds }]),
          { signal: controller.signal },
        )) {
          seen.push(reply.payload!.body.length);
          controller.abort();
        }
      });
      expect(seen).toEqual([1]);
      expect(error.codeName).toBe("CANCELLED");

      for await (const _ of test.serverStream(
        "streamingOutputCall",
        outputs([1, { size: 2, wait: tenSeconds }]),
      ))
        break;
      const busy = () => (pool.servers[0] as unknown as { inFlight: number }).inFlight;
      await until(() => busy() === 0, "the left stream's call has ended");

      const duplex = test.duplex("fullDuplexCall", { signal: AbortSignal.abort() });
      expect((await errorOf(() => sizesOf(duplex.replies))).codeName).toBe("CANCELLED");

      // A client stream whose source waits, cancelled while it is on the server.
      const stop = new AbortController();
      const waiting = test.clientStream("streamingInputCall", never(), { signal: stop.signal });
      await until(() => busy() === 1, "the client stream is on the server");
      stop.abort();
      expect((await errorOf(() => waiting)).codeName).toBe("CANCELLED");

      // A duplex call cancelled after a reply.
      const chat = test.duplex("fullDuplexCall");
      const replies = chat.replies[Symbol.asyncIterator]();
      await chat.send(outputs([5]));
      expect((await replies.next()).value?.payload?.body.length).toBe(5);
      chat.cancel();
      expect((await errorOf(() => replies.next())).codeName).toBe("CANCELLED");
      await until(() => busy() === 0, "every cancelled call has ended");
    });

    it("ends a stream at its deadline, and does not move it (the deadline is the caller's)", async () => {
      const test = pool.service(TestServiceDefinition);
      const events: PoolEvent[] = [];
      const error = await errorOf(() =>
        sizesOf(
          test.serverStream("streamingOutputCall", outputs([{ size: 1, wait: tenSeconds }]), {
            timeoutMs: 200,
            idempotent: true,
            onEvent: (event) => events.push(event),
          }),
        ),
      );
      expect(error.codeName).toBe("DEADLINE_EXCEEDED");
      expect(events.filter((e) => e.type === "retried")).toEqual([]);
      const waiting = await errorOf(() =>
        test.clientStream("streamingInputCall", never(), { timeoutMs: 200 }),
      );
      expect(waiting.codeName).toBe("DEADLINE_EXCEEDED");
    });
  });
}

/** A request source that never yields (a client stream that waits for input). */
async function* never(): AsyncGenerator<StreamingInputCallRequest> {
  await new Promise(() => {});
}

const pairs: Array<[InteropProcess["kind"], InteropProcess["kind"]]> = python
  ? [
      ["python", "grpc-js"],
      ["grpc-js", "python"],
    ]
  : [["grpc-js", "grpc-js"]];

for (const [first, second] of pairs) {
  describe(`failover of stream calls, ${first} and ${second} servers`, () => {
    let a: InteropProcess;
    let b: InteropProcess;
    let pool: Pool;
    beforeAll(async () => {
      [a, b] = await Promise.all([programs.start(first), programs.start(second)]);
      // No cool-down: a server that failed is tried first again (idle servers go in list order).
      pool = await Pool.connect([a.address, b.address], { cooldownMs: 0 });
    });
    afterAll(async () => {
      await pool?.close();
      await Promise.all([a?.kill(), b?.kill()]);
    });

    it("a server that fails before the first reply: moved where the method may run again, else its error", async () => {
      const test = pool.service(TestServiceDefinition);
      const events: PoolEvent[] = [];
      const onEvent = (event: PoolEvent) => events.push(event);
      const moved = await errorOf(() =>
        sizesOf(
          test.serverStream("streamingOutputCall", outputs([], unavailable), {
            idempotent: true,
            retries: 1,
            onEvent,
          }),
        ),
      );
      // Both servers answer this request UNAVAILABLE: it went to one, then to the other.
      expect(moved.codeName).toBe("UNAVAILABLE");
      expect(events.filter((e) => e.type === "started").map((e) => (e as { server: string }).server)).toEqual(
        [a.address, b.address],
      );
      expect(events.filter((e) => e.type === "retried")).toHaveLength(1);

      // The proto does not mark the method idempotent: it may have run, so it is not run again.
      events.length = 0;
      const kept = await errorOf(() =>
        sizesOf(test.serverStream("streamingOutputCall", outputs([], unavailable), { onEvent })),
      );
      expect(kept.details).toMatch(
        /not run again: it may have run on .*StreamingOutputCall may not run twice/,
      );
      expect(events.filter((e) => e.type === "retried")).toEqual([]);
    });

    it("after a reply, a failure surfaces: the call is not moved", async () => {
      const test = pool.service(TestServiceDefinition);
      const events: PoolEvent[] = [];
      const seen: number[] = [];
      const error = await errorOf(async () => {
        for await (const reply of test.serverStream("streamingOutputCall", outputs([1, 2], unavailable), {
          idempotent: true,
          onEvent: (event) => events.push(event),
        }))
          seen.push(reply.payload!.body.length);
      });
      expect(seen).toEqual([1, 2]);
      expect(error.codeName).toBe("UNAVAILABLE");
      expect(error.details).toBe(unavailable.message);
      expect(events.filter((e) => e.type === "retried")).toEqual([]);

      // The same with a duplex call.
      const duplex = test.duplex("fullDuplexCall", {
        idempotent: true,
        onEvent: (event) => events.push(event),
      });
      await duplex.send(outputs([3]));
      await duplex.send(outputs([], unavailable));
      duplex.end();
      const replies: number[] = [];
      const duplexError = await errorOf(async () => {
        for await (const reply of duplex.replies) replies.push(reply.payload!.body.length);
      });
      expect(replies).toEqual([3]);
      expect(duplexError.codeName).toBe("UNAVAILABLE");
      expect(events.filter((e) => e.type === "retried")).toEqual([]);
    });

    it("a server killed after the first reply: its error surfaces, the call is not moved", async () => {
      const test = pool.service(TestServiceDefinition);
      const events: PoolEvent[] = [];
      const seen: number[] = [];
      const error = await errorOf(async () => {
        for await (const reply of test.serverStream(
          "streamingOutputCall",
          outputs([1, { size: 2, wait: tenSeconds }]),
          { idempotent: true, onEvent: (event) => events.push(event) },
        )) {
          seen.push(reply.payload!.body.length);
          const started = events.find((e) => e.type === "started") as { server: string };
          await (started.server === a.address ? a : b).kill();
        }
      });
      expect(seen).toEqual([1]);
      expect(error.codeName).toBe("UNAVAILABLE");
      expect(events.filter((e) => e.type === "retried")).toEqual([]);
    });
  });
}

describe("stream calls moved off a server that is down", () => {
  for (const kind of kinds) {
    it(`every kind moves from a dead server to a live ${kind} one, its requests sent again`, async () => {
      const [dead, live] = await Promise.all([programs.start(kind), programs.start(kind)]);
      const pool = await Pool.connect([dead.address, live.address], { cooldownMs: 0 });
      try {
        await dead.kill();
        const test = pool.service(TestServiceDefinition);
        const events: PoolEvent[] = [];
        // The pool's connection to the dead server may not have seen it die before a call goes
        // out on it (then the call may have reached it): `idempotent` lets it move either way.
        const options = { idempotent: true, onEvent: (event: PoolEvent) => events.push(event) };
        const moves = () =>
          events.filter((e) => e.type === "retried").map((e) => (e as { from: string }).from);

        expect(await sizesOf(test.serverStream("streamingOutputCall", outputs([1, 2]), options))).toEqual([
          1, 2,
        ]);
        expect(moves()).toEqual([dead.address]);

        events.length = 0;
        // A one-shot source: the requests the dead server's attempt read go to the live one again.
        const reply = await test.clientStream(
          "streamingInputCall",
          generated([input(3), input(5), input(7)]),
          options,
        );
        expect(reply.aggregatedPayloadSize).toBe(15);
        expect(moves()).toEqual([dead.address]);

        events.length = 0;
        const duplex = test.duplex("fullDuplexCall", options);
        await duplex.send(outputs([4]));
        await duplex.send(outputs([6]));
        duplex.end();
        expect(await sizesOf(duplex.replies)).toEqual([4, 6]);
        expect(moves()).toEqual([dead.address]);

        // Past the requests kept for another attempt (maxKeptRequests, 1024), a one-shot source's
        // call no longer moves: the dead server's failure is the call's.
        events.length = 0;
        const many = Array.from({ length: 1100 }, () => input(1));
        const error = await errorOf(() => test.clientStream("streamingInputCall", generated(many), options));
        expect(error.codeName).toBe("UNAVAILABLE");
        expect(moves()).toEqual([]);
        // An array is kept whole (it holds its requests anyway): it moves.
        expect((await test.clientStream("streamingInputCall", many, options)).aggregatedPayloadSize).toBe(
          1100,
        );
        expect(moves()).toEqual([dead.address]);
      } finally {
        await pool.close();
        await live.stop();
      }
    });
  }
});
