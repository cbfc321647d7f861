import { afterEach, describe, expect, it } from "vitest";
import { ClientError } from "../rpc/client-error.js";
import { Status as status } from "../rpc/grpc-status.js";
import { settledInOrder } from "./outcome-streams.js";
import { ServerConnection } from "./server-connection.js";
import { TaskEngine } from "./task-engine.js";
import type { RunSettings } from "./task-run.js";

// Data locality and repair in the engine (docs/collectives.md), with tasks of the test's own: the
// connections are never called.
const made: ServerConnection[] = [];
function servers(n: number, cooldownMs?: number): ServerConnection[] {
  const list = Array.from(
    { length: n },
    (_, i) => new ServerConnection(`127.0.0.1:${2000 + i}`, { cooldownMs }),
  );
  made.push(...list);
  return list;
}
afterEach(() => {
  for (const s of made.splice(0)) s.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const settings = (over: Partial<RunSettings>): RunSettings => ({ retries: 3, listeners: [], ...over });

/** The run's outcomes, or "hung" when it has not ended within `ms` (a hang guard, not a timing). */
async function orHang<T>(run: Promise<T>, ms = 5_000): Promise<T | "hung"> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), ms);
  });
  try {
    return await Promise.race([run, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe("data locality", () => {
  it("runs each task on its input's home, waiting for room there rather than going elsewhere", async () => {
    const list = servers(3);
    const engine = new TaskEngine(() => list);
    // Inputs name their home: all but one on the first server, which takes one task at a time.
    const homes = [0, 0, 0, 0, 1, 0, 2, 0].map((i) => list[i]!.address);
    const outcomes = await settledInOrder(
      engine,
      homes.map((home, index) => ({ home, index })),
      async (input) => {
        await sleep(5);
        return input.index;
      },
      settings({ perServer: 1, homeOf: (input) => (input as { home: string }).home }),
    );
    expect(outcomes.map((o) => o.ok && o.server)).toEqual(homes);
    // Inputs without a home go anywhere.
    const free = await settledInOrder(
      engine,
      [1, 2, 3, 4, 5, 6],
      async (i) => i,
      settings({ homeOf: () => undefined }),
    );
    expect(new Set(free.map((o) => o.server)).size).toBeGreaterThan(1);
  });

  it("moves a task off a home that failed, to a server that can take it", async () => {
    const [a, b] = servers(2);
    const engine = new TaskEngine(() => [a!, b!]);
    const outcomes = await settledInOrder(
      engine,
      [0, 1, 2],
      async (i, server) => {
        if (server === a) throw new ClientError(status.UNAVAILABLE, "gone");
        return i;
      },
      settings({ homeOf: () => a!.address }),
    );
    expect(outcomes.map((o) => o.ok && o.server)).toEqual([b!.address, b!.address, b!.address]);
  });
});

describe("a home that failed its task", () => {
  it("is given up while the other server stays busy past the home's cool-down: the run ends", async () => {
    // a is the task's home and fails it once; b is busy with a long task until after a's
    // cool-down, then free. a must not wait for b to try the task first, nor b for a.
    const [a, b] = servers(2, 30);
    const engine = new TaskEngine(() => [a!, b!]);
    let homeFailed = false;
    const run = settledInOrder(
      engine,
      ["homed", "long"],
      async (input, server) => {
        if (input === "long") {
          await sleep(150);
          return input;
        }
        if (server === a && !homeFailed) {
          homeFailed = true;
          throw new ClientError(status.UNAVAILABLE, "gone for a moment");
        }
        return input;
      },
      settings({ perServer: 1, homeOf: (input) => (input === "homed" ? a!.address : undefined) }),
    );
    const outcomes = await orHang(run);
    expect(outcomes).not.toBe("hung");
    if (outcomes === "hung") return;
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(outcomes[0]!.attempts).toEqual([a!.address, b!.address]);
    await run;
  });

  it("is given up when every server is cooling: the task goes to one that has not failed it", async () => {
    const [a, b] = servers(2);
    const engine = new TaskEngine(() => [a!, b!]);
    const failed = new Set<string>();
    // Each server fails the first task it gets, so both cool (5 s) with a task each to retry.
    const outcomes = await orHang(
      settledInOrder(
        engine,
        ["homed", "free"],
        async (input, server) => {
          await sleep(input === "homed" ? 10 : 1);
          if (!failed.has(server.address)) {
            failed.add(server.address);
            throw new ClientError(status.UNAVAILABLE, "gone for a moment");
          }
          return input;
        },
        settings({ perServer: 1, homeOf: (input) => (input === "homed" ? a!.address : undefined) }),
      ),
    );
    expect(outcomes).not.toBe("hung");
    if (outcomes === "hung") return;
    expect(outcomes.map((o) => o.ok && o.attempts)).toEqual([
      [a!.address, b!.address],
      [b!.address, a!.address],
    ]);
  });
});

describe("a server unable to run a task (unable-here.ts)", () => {
  const unable = () =>
    new ClientError(status.FAILED_PRECONDITION, "this server serves no files", {
      errorDetails: { errorInfo: { reason: "NO_DATA_ROOT", domain: "rpcpool", metadata: {} } },
    });

  it("moves the task to a server that can, without cooling the one that refused", async () => {
    const [a, b] = servers(2);
    const engine = new TaskEngine(() => [a!, b!]);
    const outcomes = await settledInOrder(
      engine,
      [0, 1, 2, 3],
      async (i, server) => {
        if (server === a) throw unable();
        return i;
      },
      settings({ perServer: 1, retries: 0 }),
    );
    expect(outcomes.map((o) => o.ok && o.server)).toEqual([b, b, b, b].map((s) => s!.address));
    expect(a!.cooling).toBe(false);
  });

  it("fails a task every server left has refused, naming them, when the one that could is dropped", async () => {
    const [a, b] = servers(2);
    const members = [a!, b!];
    const engine = new TaskEngine(() => members);
    const run = settledInOrder(
      engine,
      ["long", "file"],
      async (input, server) => {
        if (server === a) throw unable();
        // b leaves the pool while it runs its first task; "file" waits in the queue, refused by a.
        await sleep(30);
        members.splice(members.indexOf(b!), 1);
        return input;
      },
      settings({ perServer: 1 }),
    );
    const outcomes = await orHang(run);
    expect(outcomes).not.toBe("hung");
    if (outcomes === "hung") return;
    const refused = outcomes.find((o) => !o.ok);
    expect(!refused?.ok && refused?.error.details).toBe(
      `this server serves no files (the only server of the pool refused it: ${a!.address})`,
    );
  });
});

describe("repair", () => {
  it("runs a task again on the same server once `recover` repaired it, without an attempt elsewhere", async () => {
    const [a, b] = servers(2);
    const repaired = new Set<string>();
    const engine = new TaskEngine(
      () => [a!, b!],
      async (error, server) => {
        if ((error as ClientError).code !== status.FAILED_PRECONDITION) return false;
        repaired.add(server.address);
        return true;
      },
    );
    const outcomes = await settledInOrder(
      engine,
      [0, 1, 2, 3],
      async (i, server) => {
        if (!repaired.has(server.address)) throw new ClientError(status.FAILED_PRECONDITION, "value missing");
        return i;
      },
      settings({}),
    );
    expect(outcomes.every((o) => o.ok && o.attempts.length === 1)).toBe(true);
  });

  it("gives up after a few repairs, and fails with what `recover` throws", async () => {
    const [a] = servers(1);
    let calls = 0;
    const loops = new TaskEngine(
      () => [a!],
      async () => true,
    );
    const [looped] = await settledInOrder(
      loops,
      [0],
      async () => {
        calls++;
        throw new ClientError(status.FAILED_PRECONDITION, "value missing");
      },
      settings({}),
    );
    expect(looped!.ok).toBe(false);
    expect(calls).toBe(4);
    const lost = new TaskEngine(
      () => [a!],
      async () => {
        throw new ClientError(status.FAILED_PRECONDITION, "value 00 is lost");
      },
    );
    const [failed] = await settledInOrder(
      lost,
      [0],
      async () => {
        throw new ClientError(status.FAILED_PRECONDITION, "value missing");
      },
      settings({}),
    );
    expect(!failed!.ok && failed!.error.details).toBe("value 00 is lost");
  });
});
