import { type HostedService, Pool, type RunningServer, startServer } from "rpcpool";
import { afterEach, describe, expect, it } from "vitest";
import { FlakyServiceDefinition, FlakyServiceService } from "./gen/rpcpool/test/v1/flaky.js";

// A user's service hosted in-process on two servers, A and B. A's handlers hold the call until the
// test shuts A down under it: the server fails mid-call, as a crashed or killed one does.
const running: RunningServer[] = [];
const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await Promise.all(running.splice(0).map((s) => s.close(0)));
});

function flaky(onCall: () => Promise<void>): HostedService {
  return {
    definition: FlakyServiceDefinition,
    implementation: ({ unary, identity }) => ({
      store: unary(async () => {
        await onCall();
        return { server: identity.server };
      }),
      append: unary(async () => {
        await onCall();
        return { server: identity.server };
      }),
    }),
  };
}

/** Server A fails every call it takes; B answers. The pool knows A first, so A gets the first call. */
async function twoServers<D extends typeof FlakyServiceDefinition | typeof FlakyServiceService>(
  definition: D,
) {
  let failing!: RunningServer;
  const doomed = await startServer({
    port: 0,
    workers: 1,
    services: [
      flaky(async () => {
        // Shut down under the call: its client sees the server go away.
        setTimeout(() => failing.close(1), 20);
        await new Promise(() => {});
      }),
    ],
  });
  failing = doomed;
  const healthy = await startServer({ port: 0, workers: 1, services: [flaky(async () => {})] });
  running.push(doomed, healthy);
  const pool = await Pool.connect([doomed.address, healthy.address]);
  pools.push(pool);
  const service = pool.service(definition);
  return { service, doomed, healthy };
}

describe("retries follow the proto's idempotency_level", () => {
  it("retries a method marked IDEMPOTENT on another server, with no flag from the caller", async () => {
    const { service, doomed, healthy } = await twoServers(FlakyServiceDefinition);
    const events: string[] = [];
    const reply = await service.apply("store", { value: "x" }, { onEvent: (e) => events.push(e.type) });
    expect(reply.server).toBe(healthy.address);
    expect(events).toEqual(["started", "server-lost", "retried", "started", "done"]);
    expect(doomed.address).not.toBe(healthy.address);
  });

  it("does not retry a method whose proto says nothing: its first server may have done the work", async () => {
    const { service } = await twoServers(FlakyServiceDefinition);
    const error = await service.apply("append", { value: "x" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ codeName: expect.stringMatching(/^(UNAVAILABLE|CANCELLED)$/) });
  });

  it("retries an unmarked method when the caller says it may run twice", async () => {
    const { service, healthy } = await twoServers(FlakyServiceDefinition);
    const reply = await service.apply("append", { value: "x" }, { idempotent: true });
    expect(reply.server).toBe(healthy.address);
  });

  it("learns the same from the servers' Info when given the grpc-js definition, which carries no options", async () => {
    const { service, healthy } = await twoServers(FlakyServiceService);
    expect((await service.apply("store", { value: "x" })).server).toBe(healthy.address);
    const { service: again } = await twoServers(FlakyServiceService);
    await expect(again.apply("append", { value: "x" })).rejects.toMatchObject({
      codeName: expect.stringMatching(/^(UNAVAILABLE|CANCELLED)$/),
    });
  });
});
