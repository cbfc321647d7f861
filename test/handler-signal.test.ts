import { setTimeout as sleep } from "node:timers/promises";
import { type Client, credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import { type HostedService, type RunningServer, startServer } from "rpcpool";
import type { MethodSpec } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A handler's `context.signal` aborts when its client cancels or its deadline passes (docs/api.md),
// not after a call that succeeded: grpc-js reports "cancelled" when a call's stream closes, even
// after its reply was sent, and a handler that kept the signal (for clean-up, or work it started
// and left running) saw it abort after every call.

function method(name: string, responseStream = false): MethodSpec {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const parse = (bytes: Buffer) => JSON.parse(bytes.toString());
  return {
    name: name[0]!.toLowerCase() + name.slice(1),
    path: `/test.signal.v1.Probe/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: json,
    requestDeserialize: parse,
    responseSerialize: json,
    responseDeserialize: parse,
    idempotency: "UNKNOWN",
  };
}
const probe = { quick: method("Quick"), slow: method("Slow"), stream: method("Stream", true) };

/** The signal each call's handler saw, by the request's id. */
const signals = new Map<string, AbortSignal>();
const service: HostedService = {
  definition: probe,
  implementation: () => ({
    quick: async (request: { id: string }, { signal }) => {
      signals.set(request.id, signal);
      return { ok: true };
    },
    slow: async (request: { id: string }, { signal }) => {
      signals.set(request.id, signal);
      await sleep(30_000, undefined, { signal }).catch(() => {});
      return { ok: !signal.aborted };
    },
    stream: async function* (request: { id: string }, { signal }) {
      signals.set(request.id, signal);
      yield { i: 1 };
      yield { i: 2 };
    },
  }),
};

let server: RunningServer;
let client: Client & Record<string, any>;
beforeAll(async () => {
  server = await startServer({ port: 0, workers: 1, services: [service], log: () => {} });
  const grpcForm = Object.fromEntries(
    Object.entries(probe).map(([key, { name: _, idempotency: __, ...m }]) => [key, m]),
  );
  client = new (makeGenericClientConstructor(grpcForm, "Probe"))(
    server.address,
    credentials.createInsecure(),
  ) as Client & Record<string, any>;
});
afterAll(async () => {
  client?.close();
  await server?.close(1_000);
});

const unaryCall = (name: string, request: object, deadlineMs = 10_000) =>
  new Promise<unknown>((resolve, reject) =>
    client[name](request, { deadline: Date.now() + deadlineMs }, (error: Error | null, reply: unknown) =>
      error ? reject(error) : resolve(reply),
    ),
  );

describe("a handler's signal", () => {
  it("stays unaborted after a unary call and a server stream that succeeded", async () => {
    await unaryCall("quick", { id: "unary" });
    const replies: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.stream({ id: "stream" });
      call.on("data", (reply: unknown) => replies.push(reply));
      call.on("end", resolve);
      call.on("error", reject);
    });
    expect(replies).toHaveLength(2);
    // Long after the calls ended (grpc-js's late "cancelled" comes within a few ms).
    await sleep(300);
    expect(signals.get("unary")!.aborted).toBe(false);
    expect(signals.get("stream")!.aborted).toBe(false);
  });

  it("aborts when the client cancels the call, and when its deadline passes", async () => {
    const call = client.slow({ id: "cancelled" }, () => {});
    await expect.poll(() => signals.has("cancelled")).toBe(true);
    call.cancel();
    await expect.poll(() => signals.get("cancelled")!.aborted).toBe(true);
    await expect(unaryCall("slow", { id: "deadline" }, 300)).rejects.toThrow(/DEADLINE_EXCEEDED/);
    await expect.poll(() => signals.get("deadline")?.aborted).toBe(true);
  });
});
