import { setTimeout as sleep } from "node:timers/promises";
import { Server, ServerCredentials, type ServerDuplexStream } from "@grpc/grpc-js";
import {
  ClientError,
  type HostedService,
  Pool,
  type RunningServer,
  type ServerOptions,
  type SessionCallContext,
  startServer,
} from "rpcpool";
import { TableSourceServiceDefinition } from "rpcpool/lesson";
import { InfoResponse, InfoServiceService } from "rpcpool/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { OpenRequest, OpenResponse } from "../src/gen/rpcpool/pool/v1/session.js";
import { CounterServiceDefinition, SourceServiceDefinition } from "./gen/rpcpool/test/session/v1/counter.js";
import { RawSession } from "./support/raw-session.js";
import { rejection, until } from "./support/waits.js";

// A session's bounds (issues 16 and 17), over a real server on a real socket: calls in flight,
// calls given up, objects on the whole server, sessions per connection, exposed names, callbacks
// that never answer, releases that fail, and the listeners a flood of calls leaves on a signal.

/** A counter whose `hold` ignores its signal (work that is slow to stop) until `letGo()`. */
function stubbornClass(state: { holding: number; letGo: () => void }): HostedService {
  let release!: () => void;
  let held = new Promise<void>((resolve) => {
    release = resolve;
  });
  state.letGo = () => {
    release();
    held = new Promise<void>((resolve) => {
      release = resolve;
    });
  };
  return {
    definition: CounterServiceDefinition,
    sessionClass: () => () => {
      let total = 0;
      return {
        init: async () => ({}),
        add: async ({ value }: { value: number }) => ({ total: (total += value), server: "" }),
        hold: async () => {
          state.holding++;
          await held;
          return {};
        },
        // Asks the client for 30 numbers at once: a flood of callbacks on one call's signal.
        pull: async (_: unknown, context: SessionCallContext) => {
          const source = context.callbacks(SourceServiceDefinition);
          const values = await Promise.all(Array.from({ length: 30 }, () => source.call("next", {})));
          return { total: values.reduce((sum, next) => sum + Number(next.value), 0), pulled: 30 };
        },
        ask: async (_: unknown, context: SessionCallContext) => {
          try {
            await context.callbacks(SourceServiceDefinition).call("next", {});
            return { code: 0, value: 0 };
          } catch (error) {
            if (error instanceof ClientError) return { code: error.code, value: 0 };
            throw error;
          }
        },
      };
    },
  };
}

const servers: RunningServer[] = [];
const pools: Pool[] = [];
afterEach(async () => {
  state.letGo();
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  await Promise.all(servers.splice(0).map((server) => server.close(0)));
});
const state = { holding: 0, letGo: () => {} };

async function setUp(options: Partial<ServerOptions> = {}) {
  state.holding = 0;
  const server = await startServer({ port: 0, workers: 1, services: [stubbornClass(state)], ...options });
  servers.push(server);
  const pool = await Pool.connect([server.address]);
  pools.push(pool);
  return { server, pool };
}

describe("calls in flight in a session", () => {
  it("are let in up to the limit, not one more", async () => {
    // --max-calls-per-connection bounds a session's calls as it bounds a connection's.
    const { pool } = await setUp({ guard: { maxCallsPerConnection: 3 } });
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition);
    const calls = Array.from({ length: 5 }, () => counter.call("hold", {}).catch((e: unknown) => e));
    const refused = (await Promise.all(calls.slice(3))) as ClientError[];
    expect(refused.map((e) => e.codeName)).toEqual(["RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED"]);
    expect(refused[0]!.details).toContain("limit 3");
    expect(state.holding).toBe(3);
    state.letGo();
    expect(await Promise.all(calls.slice(0, 3))).toEqual([{}, {}, {}]);
  });

  it("leave the count when given up, even while their work goes on", async () => {
    const { pool } = await setUp({ guard: { maxCallsPerConnection: 2 } });
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition);
    const controller = new AbortController();
    const given = [1, 2].map(() => counter.call("hold", {}, { signal: controller.signal }));
    await until(() => state.holding === 2, "both holds run");
    controller.abort();
    for (const call of given) expect((await rejection(call)).codeName).toBe("CANCELLED");
    // The holds still run on the server (they ignore their signals), but nobody waits for them.
    expect((await counter.call("add", { value: 2 })).total).toBe(2);
    expect(
      (await Promise.all([counter.call("add", { value: 1 }), counter.call("add", { value: 1 })])).length,
    ).toBe(2);
  });
});

describe("a callback the client never answers", () => {
  it("fails with DEADLINE_EXCEEDED after the server's default when the call has no deadline", async () => {
    const { pool } = await setUp({ sessions: { callbackTimeoutMs: 200 } });
    const session = await pool.session();
    session.expose(SourceServiceDefinition, { next: () => new Promise(() => {}) });
    const counter = await session.create(CounterServiceDefinition);
    // No deadline on the call (Infinity): only the server's default can end the callback. The
    // signal is a hang guard.
    const answer = await counter.call(
      "ask",
      { timeoutMs: 0, cancelAfterMs: 0 },
      { timeoutMs: Number.POSITIVE_INFINITY, signal: AbortSignal.timeout(20_000) },
    );
    expect(answer.code).toBe(4); // DEADLINE_EXCEEDED
  });
});

describe("a flood of calls and callbacks on one object", () => {
  it("leaves no MaxListenersExceededWarning", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    try {
      const { pool } = await setUp();
      const session = await pool.session();
      let n = 0;
      session.expose(SourceServiceDefinition, { next: async () => ({ value: ++n, done: false }) });
      const counter = await session.create(CounterServiceDefinition);
      const signal = new AbortController().signal;
      const holds = Array.from({ length: 30 }, () => counter.call("hold", {}, { signal }));
      await until(() => state.holding === 30, "30 holds run on one object");
      expect((await counter.call("pull", {})).total).toBe((30 * 31) / 2);
      state.letGo();
      await Promise.all(holds);
      await sleep(50); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.includes("MaxListeners"))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("release()", () => {
  it("is not done until the server has released the object; a failed one can be retried", async () => {
    const { server, pool } = await setUp();
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition);
    const failed = await rejection(counter.release({ signal: AbortSignal.abort() }));
    expect(failed.codeName).toBe("CANCELLED");
    expect(counter.released).toBe(false);
    expect(server.sessions().objects).toBe(1);
    expect((await counter.call("add", { value: 1 })).total).toBe(1);
    const releasing = counter.release();
    expect(counter.released).toBe(false);
    expect((await rejection(counter.call("add", { value: 1 }))).codeName).toBe("FAILED_PRECONDITION");
    await releasing;
    expect(counter.released).toBe(true);
    expect(server.sessions().objects).toBe(0);
  });
});

describe("a server's sessions", () => {
  it("hold at most --max-session-objects objects, all sessions together", async () => {
    const { server, pool } = await setUp({ sessions: { maxObjects: 3 } });
    const [one, two] = [await pool.session(), await pool.session()];
    await one.create(CounterServiceDefinition);
    const kept = await one.create(CounterServiceDefinition);
    await two.create(CounterServiceDefinition);
    const refused = await rejection(two.create(CounterServiceDefinition));
    expect(refused.codeName).toBe("RESOURCE_EXHAUSTED");
    expect(refused.details).toContain("(limit 3, --max-session-objects)");
    await kept.release();
    await two.create(CounterServiceDefinition);
    await one.close();
    await until(() => server.sessions().objects === 2, "the closed session's object is released");
  });

  it("are at most --max-sessions-per-connection on one connection", async () => {
    const { pool } = await setUp({ sessions: { maxSessionsPerConnection: 2 } });
    const first = await pool.session();
    await pool.session();
    const refused = await rejection(pool.session());
    expect(refused.codeName).toBe("RESOURCE_EXHAUSTED");
    expect(refused.details).toContain("(limit 2, --max-sessions-per-connection)");
    // Another connection has its own.
    const other = await Pool.connect([servers[0]!.address]);
    pools.push(other);
    await other.session();
    await first.close();
    await pool.session();
  });
});

describe("exposed services", () => {
  for (const [what, names] of [
    ["a name too long", ["x".repeat(2000)]],
    ["too many names", Array.from({ length: 300 }, (_, i) => `acme.v1.Service${i}`)],
  ] as const) {
    it(`end the session with RESOURCE_EXHAUSTED: ${what}`, async () => {
      const { server } = await setUp();
      const raw = new RawSession(server.address);
      try {
        await raw.next((frame) => frame.opened !== undefined);
        raw.send({ expose: { services: [...names] } });
        // A create behind it: answered (NOT_FOUND) only if the session lives on.
        raw.send({ create: { id: 1, className: "acme.v1.Nothing" } });
        const outcome = await Promise.race([
          raw.ended.then((end) => `ended ${end.code}: ${end.details}`),
          raw.next((frame) => frame.reply !== undefined).then(() => "answered"),
        ]);
        expect(outcome).toMatch(/^ended 8: the session exposes /);
        await until(() => server.sessions().sessions === 0, "the session is gone");
      } finally {
        raw.close();
      }
    });
  }
});

describe("a server that asks for callbacks and does not read the answers", () => {
  it("gets no more answered on the client than 4 MiB waiting to be sent, until it reads", async () => {
    // A server of its own (grpc-js, frame by frame): it floods the client with callback calls whose
    // answers are 200 KB each, and reads nothing until told to.
    let open!: ServerDuplexStream<OpenRequest, OpenResponse>;
    const fake = new Server();
    const opened = new Promise<void>((resolve) => {
      fake.register(
        "/rpcpool.pool.v1.SessionService/Open",
        (call: ServerDuplexStream<OpenRequest, OpenResponse>) => {
          open = call;
          call.write({ opened: { server: "fake", classes: [] } });
          resolve();
        },
        (frame: OpenResponse) => Buffer.from(OpenResponse.encode(frame).finish()),
        (bytes: Buffer) => OpenRequest.decode(bytes),
        "bidi",
      );
    });
    fake.addService(InfoServiceService, {
      info: (_call: unknown, reply: (error: null, info: InfoResponse) => void) =>
        reply(null, InfoResponse.fromPartial({ server: "fake" })),
    });
    const port = await new Promise<number>((resolve, reject) =>
      fake.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const pool = await Pool.connect([`127.0.0.1:${port}`]);
    pools.push(pool);
    try {
      const session = await pool.session();
      await opened;
      let asked = 0;
      const chunk = Buffer.alloc(200_000, 1);
      session.expose(TableSourceServiceDefinition, {
        nextChunk: async () => {
          asked++;
          return { chunk };
        },
      });
      const calls = 200;
      for (let id = 1; id <= calls; id++) {
        open.write({
          call: {
            id,
            method: "/rpcpool.compute.v1.TableSourceService/NextChunk",
            objectId: 0,
            request: Buffer.alloc(0),
            timeoutMs: 0,
          },
        });
      }
      await until(() => asked >= 10, "the client answers the first callbacks");
      await sleep(500); // what the client would answer, given the time
      // 4 MiB of 200 KB answers, and those that went into the connection's windows.
      expect(asked).toBeLessThan(40);
      let replies = 0;
      open.on("data", (frame: OpenRequest) => {
        if (frame.reply) replies++;
      });
      await until(() => replies === calls, "every callback is answered once the server reads");
      expect(asked).toBe(calls);
    } finally {
      open?.end();
      await pool.close();
      fake.forceShutdown();
    }
  });
});
