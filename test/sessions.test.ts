import { setTimeout as sleep } from "node:timers/promises";
import {
  ClientError,
  type HostedService,
  Pool,
  type RunningServer,
  ServerError,
  type SessionCallContext,
  startServer,
} from "rpcpool";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AddRequest,
  type AskRequest,
  CounterServiceDefinition,
  CounterServiceService,
  type FailRequest,
  type InitRequest,
  ProgressServiceDefinition,
  SourceServiceDefinition,
  SourceServiceService,
} from "./gen/rpcpool/test/session/v1/counter.js";
import { rejection, until } from "./support/waits.js";

// Sessions over a real server on a real socket: the server in-process (so the test sees its side),
// the client a Pool as any user's. Server deaths and client crashes: sessions-failure.test.ts.

/** What the server side saw, for the test to check. */
interface Seen {
  made: number;
  released: string[];
  aborted: string[];
  holding: number;
}

function counterClass(seen: Seen): HostedService {
  return {
    definition: CounterServiceDefinition,
    sessionClass:
      ({ identity }) =>
      (object) => {
        let total = 0;
        seen.made++;
        object.signal.addEventListener("abort", () =>
          seen.released.push(String(object.signal.reason?.message)),
        );
        return {
          init: async ({ start }: InitRequest) => {
            if (start < 0) throw new ServerError(3, `start ${start} is negative`);
            total = start;
            return {};
          },
          add: async ({ value }: AddRequest) => {
            total += value;
            return { total, server: identity.server };
          },
          pull: async (_: unknown, context: SessionCallContext) => {
            const source = context.callbacks(SourceServiceDefinition);
            const progress = context.exposes(ProgressServiceDefinition)
              ? context.callbacks(ProgressServiceDefinition)
              : undefined;
            let pulled = 0;
            for (;;) {
              const next = await source.call("next", {});
              if (next.done) break;
              total += next.value;
              pulled++;
              await progress?.call("report", { pulled, total });
            }
            return { total, pulled };
          },
          hold: async (_: unknown, { signal }: SessionCallContext) => {
            seen.holding++;
            await new Promise((_resolve, reject) =>
              signal.addEventListener("abort", () => {
                seen.aborted.push(String(signal.reason?.message));
                reject(signal.reason);
              }),
            );
            return {};
          },
          fail: async ({ code, message, reason, bug }: FailRequest) => {
            if (bug) throw new TypeError("a bug's own words");
            throw new ServerError(code, message, {
              errorInfo: { reason, domain: "test", metadata: { total: String(total) } },
            });
          },
          ask: async ({ timeoutMs, cancelAfterMs }: AskRequest, context: SessionCallContext) => {
            const controller = new AbortController();
            if (cancelAfterMs > 0) setTimeout(() => controller.abort(), cancelAfterMs);
            const signal = controller.signal;
            try {
              const next = await context
                .callbacks(SourceServiceDefinition)
                .call("next", {}, { timeoutMs: timeoutMs > 0 ? timeoutMs : undefined, signal });
              return { code: 0, value: next.value };
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
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  await Promise.all(servers.splice(0).map((server) => server.close(0)));
});

async function setUp() {
  const seen: Seen = { made: 0, released: [], aborted: [], holding: 0 };
  const server = await startServer({ port: 0, workers: 1, services: [counterClass(seen)] });
  servers.push(server);
  const pool = await Pool.connect([server.address]);
  pools.push(pool);
  return { seen, server, pool };
}

describe("remote objects", () => {
  it("keep their state on the server between calls, each object its own", async () => {
    const { server, pool } = await setUp();
    const session = await pool.session();
    expect(session.server).toBe(server.address);
    expect(session.classes).toEqual(["rpcpool.test.session.v1.CounterService"]);
    const a = await session.create(CounterServiceDefinition, { start: 10 });
    const b = await session.create(CounterServiceDefinition);
    expect((await a.call("add", { value: 5 })).total).toBe(15);
    expect((await a.call("add", { value: 2 })).total).toBe(17);
    expect((await b.call("add", { value: 1 })).total).toBe(1);
    expect(server.sessions()).toEqual({ sessions: 1, objects: 2 });
    await session.close();
  });

  it("are released by the client, and all of them when the session ends", async () => {
    const { seen, server, pool } = await setUp();
    const session = await pool.session();
    const a = await session.create(CounterServiceDefinition);
    await session.create(CounterServiceDefinition);
    await session.create(CounterServiceDefinition);
    await a.release();
    expect(server.sessions().objects).toBe(2);
    expect(seen.released).toEqual([`object ${a.id} was released`]);
    const late = await rejection(a.call("add", { value: 1 }));
    expect(late.codeName).toBe("FAILED_PRECONDITION");
    await session.close();
    await until(() => server.sessions().sessions === 0, "the session is gone", 500);
    expect(server.sessions()).toEqual({ sessions: 0, objects: 0 });
    expect(seen.released).toHaveLength(3);
  });

  it("take either form of ts-proto's definitions, on both sides", async () => {
    const { pool } = await setUp();
    const session = await pool.session();
    session.expose(SourceServiceService, { next: async () => ({ value: 0, done: true }) });
    const counter = await session.create(CounterServiceService, { start: 4 });
    expect((await counter.call("add", { value: 1 })).total).toBe(5);
    expect(await counter.call("pull", {})).toEqual({ total: 5, pulled: 0 });
    await session.close();
  });

  it("refuse a failing constructor, an unknown class and a released object with codes", async () => {
    const { seen, server, pool } = await setUp();
    const session = await pool.session();
    const refused = await rejection(session.create(CounterServiceDefinition, { start: -1 }));
    expect(refused.codeName).toBe("INVALID_ARGUMENT");
    expect(refused.details).toBe("start -1 is negative");
    await until(() => server.sessions().objects === 0, "the failed object is released", 500);
    expect(seen.made).toBe(1);
    const unknown = await rejection(session.create(ProgressServiceDefinition));
    expect(unknown.codeName).toBe("NOT_FOUND");
    expect(unknown.details).toContain("rpcpool.test.session.v1.CounterService");
    await session.close();
  });
});

describe("callbacks", () => {
  it("let the server pull its input from the client and report progress to it", async () => {
    const { pool } = await setUp();
    const session = await pool.session();
    const numbers = [3, 4, 5];
    const reports: Array<{ pulled: number; total: number }> = [];
    session.expose(SourceServiceDefinition, {
      next: async () =>
        numbers.length > 0 ? { value: numbers.shift()!, done: false } : { value: 0, done: true },
    });
    session.expose(ProgressServiceDefinition, {
      report: async ({ pulled, total }) => {
        reports.push({ pulled, total });
        return {};
      },
    });
    const counter = await session.create(CounterServiceDefinition, { start: 100 });
    expect(await counter.call("pull", {})).toEqual({ total: 112, pulled: 3 });
    expect(reports).toEqual([
      { pulled: 1, total: 103 },
      { pulled: 2, total: 107 },
      { pulled: 3, total: 112 },
    ]);
    expect((await counter.call("add", { value: 1 })).total).toBe(113);
    await session.close();
  });

  it("to a service the client does not expose fail with UNIMPLEMENTED, passed back to the caller", async () => {
    const { pool } = await setUp();
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition);
    const error = await rejection(counter.call("pull", {}));
    expect(error.codeName).toBe("UNIMPLEMENTED");
    expect(error.details).toContain("rpcpool.test.session.v1.SourceService");
    await session.close();
  });

  it("pass the client's errors back through the server's method with their codes and details", async () => {
    const { pool } = await setUp();
    const session = await pool.session();
    session.expose(SourceServiceDefinition, {
      next: async () => {
        throw new ServerError(5, "no more input here", {
          errorInfo: { reason: "NO_INPUT", domain: "client", metadata: {} },
        });
      },
    });
    const counter = await session.create(CounterServiceDefinition);
    const error = await rejection(counter.call("pull", {}));
    expect(error.codeName).toBe("NOT_FOUND");
    expect(error.details).toBe("no more input here");
    expect(error.errorDetails.errorInfo?.reason).toBe("NO_INPUT");

    session.expose(SourceServiceDefinition, {
      next: async () => {
        throw new Error("a plain error");
      },
    });
    const plain = await rejection(counter.call("pull", {}));
    expect(plain.codeName).toBe("UNKNOWN");
    expect(plain.details).toBe("a plain error");
    await session.close();
  });
});

describe("errors, cancellation and deadlines", () => {
  it("carry a method's code, message and details; a bug is INTERNAL with nothing of it", async () => {
    const { pool } = await setUp();
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition, { start: 7 });
    const error = await rejection(
      counter.call("fail", { code: 9, message: "not now", reason: "BUSY", bug: false }),
    );
    expect(error.codeName).toBe("FAILED_PRECONDITION");
    expect(error.details).toBe("not now");
    expect(error.errorDetails.errorInfo).toEqual({
      reason: "BUSY",
      domain: "test",
      metadata: { total: "7" },
    });
    const bug = await rejection(counter.call("fail", { code: 0, message: "", reason: "", bug: true }));
    expect(bug.codeName).toBe("INTERNAL");
    expect(bug.details).not.toContain("a bug's own words");
    // The object lives on after its methods fail.
    expect((await counter.call("add", { value: 1 })).total).toBe(8);
    await session.close();
  });

  it("a client's cancel reaches the server's method as its signal", async () => {
    const { seen, pool } = await setUp();
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition);
    const controller = new AbortController();
    const held = counter.call("hold", {}, { signal: controller.signal });
    await until(() => seen.holding === 1, "the server holds the call", 500);
    controller.abort();
    expect((await rejection(held)).codeName).toBe("CANCELLED");
    await until(() => seen.aborted.length === 1, "the server's signal aborts", 500);
    expect(seen.aborted).toEqual(["cancelled by the caller"]);
    await session.close();
  });

  it("a client's deadline ends the call on both sides with DEADLINE_EXCEEDED", async () => {
    const { seen, pool } = await setUp();
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition);
    expect((await rejection(counter.call("hold", {}, { timeoutMs: 100 }))).codeName).toBe(
      "DEADLINE_EXCEEDED",
    );
    // (Both ends time the call: the server's own timer or the client's cancel aborts it first.)
    await until(() => seen.aborted.length === 1, "the server's signal aborts", 500);
    expect(["deadline exceeded", "cancelled by the caller"]).toContain(seen.aborted[0]);
    await session.close();
  });

  it("the server's cancel and deadline reach the client's callback as its signal", async () => {
    const { pool } = await setUp();
    const session = await pool.session();
    const callbackAborts: string[] = [];
    session.expose(SourceServiceDefinition, {
      next: (_request, { signal }) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => {
            callbackAborts.push(String(signal.reason?.message));
            reject(signal.reason);
          }),
        ),
    });
    const counter = await session.create(CounterServiceDefinition);
    expect(await counter.call("ask", { timeoutMs: 0, cancelAfterMs: 50 })).toEqual({ code: 1, value: 0 });
    expect(await counter.call("ask", { timeoutMs: 50, cancelAfterMs: 0 })).toEqual({ code: 4, value: 0 });
    // (At a deadline both ends give up on their own: whichever comes first aborts the callback.)
    await until(() => callbackAborts.length === 2, "both callbacks see their signals abort", 500);
    expect(callbackAborts[0]).toBe("cancelled by the caller");
    await session.close();
  });

  it("releasing an object cancels its calls in flight", async () => {
    const { seen, server, pool } = await setUp();
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition);
    const held = counter.call("hold", {});
    await until(() => seen.holding === 1, "the server holds the call", 500);
    await counter.release();
    expect((await rejection(held)).codeName).toBe("CANCELLED");
    expect(server.sessions().objects).toBe(0);
    await session.close();
  });
});

describe("limits", () => {
  it("bound a session's calls in flight and their deadlines as the server bounds plain calls", async () => {
    const seen: Seen = { made: 0, released: [], aborted: [], holding: 0 };
    const server = await startServer({
      port: 0,
      workers: 1,
      services: [counterClass(seen)],
      guard: { maxCallsPerConnection: 3, maxDeadlineMs: 60_000 },
    });
    servers.push(server);
    const pool = await Pool.connect([server.address]);
    pools.push(pool);
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition);
    const tooLong = await rejection(counter.call("add", { value: 1 }, { timeoutMs: 120_000 }));
    expect(tooLong.codeName).toBe("INVALID_ARGUMENT");
    expect(tooLong.details).toBe("the requested deadline (120000 ms) exceeds this server's cap of 60000 ms");
    const held = [counter.call("hold", {}), counter.call("hold", {}), counter.call("hold", {})];
    for (const call of held) call.catch(() => {});
    await until(() => seen.holding === 3, "the server holds three calls", 500);
    const refused = await rejection(counter.call("add", { value: 1 }));
    expect(refused.codeName).toBe("RESOURCE_EXHAUSTED");
    expect(refused.details).toBe("too many concurrent calls in this session (limit 3)");
    await session.close();
  });
});

describe("a session's end", () => {
  it("closing it cancels the calls in flight on both sides and releases the objects", async () => {
    const { seen, server, pool } = await setUp();
    const session = await pool.session();
    const counter = await session.create(CounterServiceDefinition);
    const held = counter.call("hold", {});
    await until(() => seen.holding === 1, "the server holds the call", 500);
    const error = rejection(held);
    await session.close();
    expect((await error).codeName).toBe("CANCELLED");
    expect((await session.ended).codeName).toBe("CANCELLED");
    await until(() => server.sessions().sessions === 0, "the session is gone", 500);
    expect(seen.aborted).toHaveLength(1);
    expect(server.sessions().objects).toBe(0);
  });

  it("a draining server finishes the calls in flight, refuses new ones, then ends the session with UNAVAILABLE", async () => {
    const { seen, server, pool } = await setUp();
    const session = await pool.session();
    let answer!: (value: { value: number; done: boolean }) => void;
    session.expose(SourceServiceDefinition, {
      next: () =>
        new Promise((resolve) => {
          answer = resolve;
        }),
    });
    const counter = await session.create(CounterServiceDefinition);
    const pulling = counter.call("pull", {});
    await until(() => answer !== undefined, "the server asks for input", 500);
    const closed = server.close(10_000);
    await sleep(50);
    const refused = await rejection(counter.call("add", { value: 1 }));
    expect(refused.codeName).toBe("UNAVAILABLE");
    answer({ value: 0, done: true });
    expect(await pulling).toEqual({ total: 0, pulled: 0 });
    expect((await session.ended).codeName).toBe("UNAVAILABLE");
    await closed;
    expect(seen.released).toHaveLength(1);
    servers.splice(0);
  });
});
