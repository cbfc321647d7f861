import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServerInterceptor,
  type ServerWritableStream,
  type ServiceDefinition,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverMetrics } from "./prometheus-server.js";

// The metrics' interceptor on a real grpc-js server and client over loopback: what each kind of
// call counts (messages both ways, its status, a cancelled call's Canceled) must not depend on how
// the interceptor is built (MeteredCall rather than grpc-js's builders).
const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: bytes.serialize,
  requestDeserialize: bytes.deserialize,
  responseSerialize: bytes.serialize,
  responseDeserialize: bytes.deserialize,
});
const definition: ServiceDefinition = {
  Echo: method("Echo", false, false),
  Fail: method("Fail", false, false),
  Hang: method("Hang", false, false),
  Three: method("Three", false, true),
  Gather: method("Gather", true, false),
};

const metrics = serverMetrics();
const server = new Server({ interceptors: [metrics.observer.interceptor as ServerInterceptor] });
let client: Client & Record<string, (...args: unknown[]) => unknown>;
let hung: () => void = () => {};
let hangStarted: () => void = () => {};
const hangStart = new Promise<void>((resolve) => {
  hangStarted = resolve;
});

beforeAll(async () => {
  server.addService(definition, {
    Echo: (call: { request: Buffer }, done: (e: null, r: Buffer) => void) => done(null, call.request),
    Fail: (_call: unknown, done: (e: { code: number; details: string }) => void) =>
      done({ code: status.INVALID_ARGUMENT, details: "no" }),
    Hang: (call: { on(e: string, f: () => void): void }) => {
      call.on("cancelled", () => hung());
      hangStarted();
    },
    Three: (call: ServerWritableStream<Buffer, Buffer>) => {
      for (let i = 0; i < 3; i++) call.write(Buffer.from([i]));
      call.end();
    },
    Gather: (call: { on(e: string, f: (b?: Buffer) => void): void }, done: (e: null, r: Buffer) => void) => {
      let n = 0;
      call.on("data", () => n++);
      call.on("end", () => done(null, Buffer.from([n])));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const Echo = makeGenericClientConstructor(definition, "Echo");
  client = new Echo(`127.0.0.1:${port}`, credentials.createInsecure()) as typeof client;
});

afterAll(() => {
  client?.close();
  server.forceShutdown();
});

const unary = (name: string) =>
  new Promise<void>((resolve) => client[name]!(Buffer.from("x"), () => resolve()));

/** A sample's value in the registry's text, or 0. */
async function sample(name: string, labels: Record<string, string>): Promise<number> {
  const text = await metrics.registry.metrics();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(" ").at(-1));
  }
  return 0;
}

describe("the metrics' interceptor (MeteredCall)", () => {
  it("counts a unary call's message each way, and a failed one's request only", async () => {
    await unary("Echo");
    await unary("Echo");
    await unary("Fail");
    const echo = { grpc_method: "Echo", grpc_type: "unary" };
    const fail = { grpc_method: "Fail", grpc_type: "unary" };
    expect(await sample("grpc_server_started_total", echo)).toBe(2);
    expect(await sample("grpc_server_msg_received_total", echo)).toBe(2);
    expect(await sample("grpc_server_msg_sent_total", echo)).toBe(2);
    expect(await sample("grpc_server_handled_total", { ...echo, grpc_code: "OK" })).toBe(2);
    expect(await sample("grpc_server_handling_seconds_count", echo)).toBe(2);
    expect(await sample("grpc_server_msg_received_total", fail)).toBe(1);
    expect(await sample("grpc_server_msg_sent_total", fail)).toBe(0);
    expect(await sample("grpc_server_handled_total", { ...fail, grpc_code: "InvalidArgument" })).toBe(1);
  });

  it("counts each message of a stream, either way", async () => {
    await new Promise<void>((resolve, reject) => {
      const stream = (client.Three as (r: Buffer) => NodeJS.EventEmitter)(Buffer.from("x"));
      stream.on("data", () => {});
      stream.on("error", reject);
      stream.on("end", () => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      const stream = (client.Gather as (f: (e: Error | null) => void) => NodeJS.WritableStream)((e) =>
        e ? reject(e) : resolve(),
      );
      for (let i = 0; i < 4; i++) stream.write(Buffer.from([i]));
      stream.end();
    });
    const three = { grpc_method: "Three", grpc_type: "server_stream" };
    const gather = { grpc_method: "Gather", grpc_type: "client_stream" };
    expect(await sample("grpc_server_msg_sent_total", three)).toBe(3);
    expect(await sample("grpc_server_msg_received_total", three)).toBe(1);
    expect(await sample("grpc_server_handled_total", { ...three, grpc_code: "OK" })).toBe(1);
    expect(await sample("grpc_server_msg_received_total", gather)).toBe(4);
    expect(await sample("grpc_server_msg_sent_total", gather)).toBe(1);
  });

  it("ends a call the client cancelled as Canceled, once", async () => {
    const cancelled = new Promise<void>((resolve) => {
      hung = resolve;
    });
    const call = (client.Hang as (r: Buffer, f: () => void) => { cancel(): void })(
      Buffer.from("x"),
      () => {},
    );
    await hangStart;
    call.cancel();
    await cancelled;
    const hang = { grpc_method: "Hang", grpc_type: "unary" };
    expect(await sample("grpc_server_handled_total", { ...hang, grpc_code: "Canceled" })).toBe(1);
    expect(await sample("grpc_server_handling_seconds_count", hang)).toBe(1);
    expect(await sample("grpc_server_msg_sent_total", hang)).toBe(0);
  });
});
