import { Pool, type RunningServer, ServerError, startServer, ValueHandle } from "rpcpool";
import { methodsOf } from "rpcpool/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { FlakyServiceDefinition } from "./gen/rpcpool/test/v1/flaky.js";

// Data locality on real servers (in-process, real sockets): a task on a scattered value runs on
// the value's home; when the home fails it, the task must still end somewhere.
const running: RunningServer[] = [];
const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await Promise.all(running.splice(0).map((s) => s.close(0)));
});

const { store } = methodsOf(FlakyServiceDefinition);

describe("a task whose home failed it", () => {
  it("runs on the other server when that one stays busy past the home's cool-down", async () => {
    // "homed" fails once, on whichever server takes it first (its home); "long" keeps the other
    // server busy until well after the home's 50 ms cool-down is over.
    let failed = false;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const serve = () =>
      startServer({
        port: 0,
        workers: 1,
        services: [
          {
            definition: FlakyServiceDefinition,
            implementation: ({ identity }) => ({
              store: async ({ value }) => {
                if (value === "long") await gate;
                else if (!failed) {
                  failed = true;
                  setTimeout(openGate, 300);
                  throw new ServerError(14, "going away for a moment");
                }
                return { server: identity.server };
              },
              append: async () => ({ server: identity.server }),
            }),
          },
        ],
      });
    running.push(await serve(), await serve());
    const pool = await Pool.connect(
      running.map((s) => s.address),
      { cooldownMs: 50 },
    );
    pools.push(pool);
    const [handle] = await pool.scatter([Buffer.from("the value")]);
    const home = pool.locate(handle!).home;
    const other = running.map((s) => s.address).find((address) => address !== home);
    const run = pool.mapSettled(
      [handle!, "long"] as const,
      (input, server, signal) =>
        server.unary(store!, { value: input instanceof ValueHandle ? "homed" : input }, { signal }),
      { perServer: 1 },
    );
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<"hung">((resolve) => {
      timer = setTimeout(() => resolve("hung"), 5_000);
    });
    const outcomes = await Promise.race([run, hung]);
    clearTimeout(timer);
    openGate();
    expect(outcomes).not.toBe("hung");
    if (outcomes === "hung") return;
    expect(outcomes.map((o) => o.ok && o.value.server)).toEqual([other, other]);
    expect(outcomes[0]!.attempts).toEqual([home, other]);
  });
});
