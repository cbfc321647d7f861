import { type HostedService, Pool, type RunningServer, startServer } from "rpcpool";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CounterServiceDefinition, type InitRequest } from "./gen/rpcpool/test/session/v1/counter.js";
import { FlakyServiceDefinition } from "./gen/rpcpool/test/v1/flaky.js";

// The pool on either transport (ConnectOptions.transport.kind): rpcpool's node:http2 client, the
// default, or grpc-js's. The same calls, a unary one and a session (a stream both ways), on a real
// server; the interop cases of both transports are in interop.test.ts.

const store: HostedService = {
  definition: FlakyServiceDefinition,
  implementation: ({ identity }) => ({
    store: async () => ({ server: identity.server }),
    append: async () => ({ server: identity.server }),
  }),
};

const counter: HostedService = {
  definition: CounterServiceDefinition,
  sessionClass: () => () => {
    let total = 0;
    return {
      init: async ({ start }: InitRequest) => {
        total = start;
        return {};
      },
      add: async ({ value }: { value: number }) => {
        total += value;
        return { total };
      },
    };
  },
} as HostedService;

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ port: 0, workers: 1, services: [store, counter] });
});
afterAll(() => server.close(0));

for (const kind of ["http2", "grpc-js"] as const) {
  describe(`a pool on the ${kind} transport`, () => {
    it("calls a service and holds a session", async () => {
      const pool = await Pool.connect([server.address], { transport: { kind } });
      try {
        expect((await pool.service(FlakyServiceDefinition).apply("store", { value: "x" })).server).toBe(
          server.address,
        );
        const session = await pool.session();
        const object = await session.create(CounterServiceDefinition, { start: 10 });
        expect((await object.call("add", { value: 5 })).total).toBe(15);
        await session.close();
      } finally {
        await pool.close();
      }
    });
  });
}
