import { once } from "node:events";
import { createServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { Pool, type PoolEvent, type RunningServer, ServerError, startServer } from "rpcpool";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimpleRequest, type SimpleResponse, TestServiceDefinition } from "./gen/grpc/testing/test.js";
import { findPython, type InteropProcess, interopPrograms } from "./support/interop-processes.js";

// Plain gRPC servers in a pool: servers with no rpcpool.pool.v1.InfoService (grpc-js's and Python
// grpcio's interop servers, in processes of their own) next to an rpcpool server hosting the same
// proto. Each plain one is one worker; what may run twice is read from the client's definition.

const python = findPython();
if (!python) console.warn("the Python plain server is left out: no python3 with grpcio");

let programs: Awaited<ReturnType<typeof interopPrograms>>;
const plain: InteropProcess[] = [];
let rpcpool: RunningServer;
let pool: Pool;
const warnings: string[] = [];

beforeAll(async () => {
  programs = await interopPrograms(python);
  plain.push(await programs.start("grpc-js"));
  if (python) plain.push(await programs.start("python"));
  rpcpool = await startServer({
    host: "127.0.0.1",
    port: 0,
    workers: 1,
    services: [
      {
        // Only UnaryCall: a definition narrowed to the one method this server implements.
        definition: {
          ...TestServiceDefinition,
          methods: { unaryCall: TestServiceDefinition.methods.unaryCall },
        },
        implementation: {
          async unaryCall(request: SimpleRequest): Promise<SimpleResponse> {
            const echo = request.responseStatus;
            if (echo && echo.code !== 0) throw new ServerError(echo.code, echo.message);
            return {
              payload: { type: 0, body: Buffer.alloc(request.responseSize) },
              username: "",
              oauthScope: "",
            };
          },
        },
      },
    ],
  });
  pool = await Pool.connect([...plain.map((s) => s.address), rpcpool.address], {
    onWarning: (warning) => warnings.push(warning),
  });
}, 60_000);

afterAll(async () => {
  await pool?.close();
  await rpcpool?.close();
  await programs?.cleanup();
});

const sized = (responseSize: number, responseStatus?: { code: number; message: string }): SimpleRequest => ({
  responseType: 0,
  responseSize,
  payload: undefined,
  fillUsername: false,
  fillOauthScope: false,
  responseCompressed: undefined,
  responseStatus,
  expectCompressed: undefined,
});

/** The interop definition with UnaryCall marked IDEMPOTENT, as a proto's `option idempotency_level` does. */
const idempotentDefinition = {
  ...TestServiceDefinition,
  methods: {
    ...TestServiceDefinition.methods,
    unaryCall: { ...TestServiceDefinition.methods.unaryCall, options: { idempotencyLevel: "IDEMPOTENT" } },
  },
} as const;

describe("plain gRPC servers in a pool", () => {
  it("connects to servers without InfoService, each one worker, with no warning", () => {
    expect(warnings).toEqual([]);
    expect(pool.servers.map((s) => s.address)).toEqual([...plain.map((s) => s.address), rpcpool.address]);
    expect(pool.servers.map((s) => s.plain)).toEqual([...plain.map(() => true), false]);
    expect(pool.slots()).toBe(plain.length + 1);
  });

  it("spreads a map over the plain servers and the rpcpool server, results in input order", async () => {
    const served = new Set<string>();
    const onEvent = (event: PoolEvent) => {
      if (event.type === "done") served.add(event.server);
    };
    const test = pool.service(TestServiceDefinition);
    const sizes = Array.from({ length: 60 }, (_, i) => i);
    const replies = await test.map(
      "unaryCall",
      sizes.map((size) => sized(size)),
      { onEvent },
    );
    expect(replies.map((r) => r.payload!.body.length)).toEqual(sizes);
    expect(served).toEqual(new Set([...plain.map((s) => s.address), rpcpool.name]));

    // In chunks: the rpcpool server takes each as one BatchService call, the plain ones call by call.
    served.clear();
    const chunked = await test.map(
      "unaryCall",
      sizes.map((size) => sized(size)),
      { chunksize: 4, onEvent },
    );
    expect(chunked.map((r) => r.payload!.body.length)).toEqual(sizes);
    expect(served.size).toBe(plain.length + 1);
  });

  it("keeps a failed item's own error in a chunk a plain server ran call by call", async () => {
    const test = pool.service(TestServiceDefinition);
    const outcomes = await test.mapSettled(
      "unaryCall",
      [sized(1), sized(2, { code: 3, message: "bad size" }), sized(3)],
      { chunksize: 3, servers: pool.servers.slice(0, 1) },
    );
    expect(outcomes.map((o) => (o.ok ? o.value.payload!.body.length : o.error.codeName))).toEqual([
      1,
      "INVALID_ARGUMENT",
      3,
    ]);
  });

  it("runs a failed call again as the client's definition says it may", async () => {
    const first = pool.servers.slice(0, 1);
    // Only the first plain server is asked, and it says UNAVAILABLE: a definition that marks the
    // method IDEMPOTENT lets the pool try it again (on the same server, after a back-off); the
    // generated one, with no option, does not.
    const events: PoolEvent[] = [];
    const onEvent = (event: PoolEvent) => events.push(event);
    const unavailable = sized(1, { code: 14, message: "going away" });
    await expect(
      pool.service(idempotentDefinition).apply("unaryCall", unavailable, { servers: first, onEvent }),
    ).rejects.toMatchObject({ codeName: "UNAVAILABLE" });
    expect(events.filter((e) => e.type === "retried").length).toBeGreaterThan(0);

    events.length = 0;
    const error = await pool
      .service(TestServiceDefinition)
      .apply("unaryCall", unavailable, { servers: first, onEvent })
      .catch((e) => e);
    expect(error.details).toMatch(/not run again/);
    expect(events.filter((e) => e.type === "retried")).toEqual([]);
  });

  it("offers plain servers none of rpcpool's own services", async () => {
    const only = await Pool.connect([plain[0]!.address]);
    try {
      await expect(only.session()).rejects.toMatchObject({ codeName: "UNIMPLEMENTED" });
    } finally {
      await only.close();
    }
  });

  it("still refuses a web server: its 404 is no gRPC server's UNIMPLEMENTED", async () => {
    const web = createServer((_, response) => {
      response.writeHead(404, { "content-type": "text/html" });
      response.end("<h1>not found</h1>");
    });
    web.listen(0, "127.0.0.1");
    await once(web, "listening");
    try {
      const address = `127.0.0.1:${(web.address() as AddressInfo).port}`;
      await expect(Pool.connect([address])).rejects.toMatchObject({ codeName: "UNAVAILABLE" });
    } finally {
      web.close();
    }
  });
});
