import { status } from "@grpc/grpc-js";
import { type HostedService, Pool, type RunningServer, ServerError, startServer } from "rpcpool";
import {
  BatchServiceDefinition,
  decodeStatus,
  type InvokeResponse,
  invalidArgument,
  type MethodSpec,
  methodsOf,
} from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatsServiceDefinition } from "../src/gen/rpcpool/pool/v1/stats.js";

// A batch item of a hosted service's method is its plain function called straight, with the
// batch's one context (src/host/batch-service.ts), not a grpc-js call of its own: these check
// that it still gets everything a call alone gets (context, errors, stats, cancellation).

/** A unary method of test.direct.v1.Probe whose messages travel as JSON. */
function method(name: string, serialize?: (value: unknown) => Buffer): MethodSpec {
  return {
    name: name[0]!.toLowerCase() + name.slice(1),
    path: `/test.direct.v1.Probe/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
    requestDeserialize: (bytes: Buffer) => JSON.parse(bytes.toString()),
    responseSerialize: serialize ?? ((value: unknown) => Buffer.from(JSON.stringify(value))),
    responseDeserialize: (bytes: Buffer) => JSON.parse(bytes.toString()),
    idempotency: "UNKNOWN",
  };
}

const probe: Record<string, MethodSpec> = {
  whoami: method("Whoami"),
  refuse: method("Refuse"),
  // A reply this codec cannot encode: a number where it wants text.
  strict: method("Strict", (value) => {
    const text = (value as { text: unknown }).text;
    if (typeof text !== "string") throw new TypeError("text: a string expected");
    return Buffer.from(JSON.stringify(value));
  }),
  wait: method("Wait"),
};

const logged: string[] = [];
const aborted: string[] = [];

/** Written as an object's methods: the batch path must keep each one's `this`. */
class Probe {
  readonly #tag = "the probe's own this";
  async whoami(request: { i: number }, context: Parameters<HostedServiceFn>[1]) {
    return {
      i: request.i,
      self: this.#tag,
      client: context.metadata.get("rpcpool-client")[0] ?? "",
      peer: context.peer,
      deadline: context.deadline === undefined ? "none" : "some",
      server: context.identity.server,
      workers: context.workers,
    };
  }
  async refuse(request: { how: string }) {
    if (request.how === "invalid") {
      throw invalidArgument("bad row", { reason: "MALFORMED_TABLE", fields: { line: "2" } });
    }
    if (request.how === "not-found") throw new ServerError(status.NOT_FOUND, "no such thing");
    if (request.how === "sync") throw new ServerError(status.FAILED_PRECONDITION, "thrown before any await");
    throw new RangeError("a secret internal detail");
  }
  async strict(request: { text: unknown }) {
    return { text: request.text };
  }
  async wait(request: { tag: string }, context: Parameters<HostedServiceFn>[1]) {
    await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve()));
    aborted.push(request.tag);
    throw context.signal.reason;
  }
}
type HostedServiceFn = (request: unknown, context: import("rpcpool").ServerCallContext) => Promise<unknown>;

const service: HostedService = { definition: probe, implementation: new Probe() as never };
const invoke = methodsOf(BatchServiceDefinition).invoke!;
const statsMethod = methodsOf(StatsServiceDefinition).stats!;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

let server: RunningServer;
let pool: Pool;
beforeAll(async () => {
  server = await startServer({ port: 0, workers: 1, services: [service], log: (m) => logged.push(m) });
  pool = await Pool.connect([server.address], { retries: 0 });
});
afterAll(async () => {
  await pool?.close();
  await server?.close(5_000);
});

function batch(
  path: string,
  requests: Buffer[],
  options: { metadata?: Record<string, string>; timeoutMs?: number } = {},
) {
  return pool.servers[0]!.unary(invoke, { method: path, requests }, { timeoutMs: 20_000, ...options });
}

describe("batch items called straight", () => {
  it("see the batch's metadata, peer and the server's tools, no deadline, and keep their `this`", async () => {
    const reply: InvokeResponse = await batch(
      probe.whoami!.path,
      [0, 1, 2].map((i) => json({ i })),
      { metadata: { "rpcpool-client": "alice" } },
    );
    const items = reply.results.map((result) => {
      expect(result.code).toBe(status.OK);
      return JSON.parse(result.response.toString());
    });
    expect(items.map((item) => item.i)).toEqual([0, 1, 2]);
    for (const item of items) {
      expect(item).toMatchObject({
        self: "the probe's own this",
        client: "alice",
        deadline: "none",
        server: server.address,
        workers: 1,
      });
      expect(item.peer).toMatch(/^(ipv4:)?127\.0\.0\.1:\d+$/);
    }
  });

  it("settle one by one: each its status and details, a bug INTERNAL and logged; the stats count each", async () => {
    const statsBefore = await pool.servers[0]!.unary(statsMethod, {}, { timeoutMs: 20_000 });
    const counted = (stats: typeof statsBefore, path: string) =>
      stats.methods.find((m) => m.method === path) ?? { completed: 0, failed: 0 };
    const reply = await batch(probe.refuse!.path, [
      json({ how: "invalid" }),
      json({ how: "not-found" }),
      json({ how: "sync" }),
      json({ how: "bug" }),
      Buffer.from("{"),
    ]);
    const [invalid, notFound, sync, bug, malformed] = reply.results;
    expect(invalid).toMatchObject({ code: status.INVALID_ARGUMENT, message: "bad row" });
    expect(decodeStatus(invalid!.statusDetails).details.errorInfo?.reason).toBe("MALFORMED_TABLE");
    expect(notFound).toMatchObject({ code: status.NOT_FOUND, message: "no such thing" });
    expect(notFound!.statusDetails.byteLength).toBe(0);
    expect(sync).toMatchObject({ code: status.FAILED_PRECONDITION, message: "thrown before any await" });
    expect(bug!.code).toBe(status.INTERNAL);
    expect(bug!.message).not.toContain("secret");
    expect(logged.some((line) => line.includes("a secret internal detail"))).toBe(true);
    expect(malformed!.code).toBe(status.INVALID_ARGUMENT);

    const encoded = await batch(probe.strict!.path, [json({ text: "fine" }), json({ text: 7 })]);
    expect(encoded.results[0]).toMatchObject({ code: status.OK });
    expect(JSON.parse(encoded.results[0]!.response.toString())).toEqual({ text: "fine" });
    expect(encoded.results[1]!.code).toBe(status.INTERNAL);
    expect(logged.some((line) => line.includes("text: a string expected"))).toBe(true);

    const statsAfter = await pool.servers[0]!.unary(statsMethod, {}, { timeoutMs: 20_000 });
    // The malformed request never reached the function: four items of Refuse counted, all failed.
    expect(
      counted(statsAfter, probe.refuse!.path).failed - counted(statsBefore, probe.refuse!.path).failed,
    ).toBe(4);
    expect(counted(statsAfter, probe.strict!.path)).toMatchObject({ completed: 1, failed: 1 });
  });

  it("hear the batch's cancellation through their signal, and are no longer in flight", async () => {
    const outcome = await batch(
      probe.wait!.path,
      ["a", "b"].map((tag) => json({ tag })),
      { timeoutMs: 300 },
    ).then(
      () => "OK",
      (error: { code: number }) => error.code,
    );
    expect(outcome).toBe(status.DEADLINE_EXCEEDED);
    // The server hears the deadline on its own clock: wait for it (a hang guard, not a timing).
    for (let i = 0; i < 200 && aborted.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(aborted.sort()).toEqual(["a", "b"]);
    const info = await pool.servers[0]!.refreshInfo();
    expect(info.callsInFlight).toBe(0);
  });
});
