import { once } from "node:events";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { type HostedService, type RunningServer, ServerError, startServer } from "rpcpool";
import {
  decodeStatus,
  IdempotencyLevel as Idempotency,
  InfoRequest,
  InfoResponse,
  InvokeRequest,
  InvokeResponse,
  invalidArgument,
  type MethodSpec,
  statusDetailsKey,
} from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthCheck, reflectionList } from "./support/grpc-clients.js";
import { root } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// The framework's host with a service of the test's own, in this process ("rpcpool" is the built
// package, whose worker threads load compiled modules).

/** A method of test.host.v1.Probe whose messages travel as JSON. */
function method(name: string, kind: { requestStream?: boolean; responseStream?: boolean } = {}): MethodSpec {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const parse = (bytes: Buffer) => JSON.parse(bytes.toString());
  return {
    name: name[0]!.toLowerCase() + name.slice(1),
    path: `/test.host.v1.Probe/${name}`,
    requestStream: kind.requestStream ?? false,
    responseStream: kind.responseStream ?? false,
    requestSerialize: json,
    requestDeserialize: parse,
    responseSerialize: json,
    responseDeserialize: parse,
    idempotency: name === "Echo" ? "IDEMPOTENT" : "UNKNOWN",
  };
}

const probe: Record<string, MethodSpec> = {
  echo: method("Echo"),
  refuse: method("Refuse"),
  work: method("Work"),
  sum: method("Sum", { requestStream: true }),
  count: method("Count", { responseStream: true }),
  chat: method("Chat", { requestStream: true, responseStream: true }),
};

const tmp = tempDir("rpcpool-host-");
// A `#` and a space in the path: the module's URL must be made from the path, not glued to it.
const workerDir = join(tmp.dir, "a #dir");
mkdirSync(workerDir);
const workerModule = tmp.file(
  "a #dir/work.mjs",
  `import { threadId } from "node:worker_threads";
import { ServerError } from ${JSON.stringify(pathToFileURL(join(root, "dist/src/rpc/server-error.js")).href)};
export function square(x) { return { value: x * x, threadId }; }
export function forever() { for (;;) {} }
export async function refuse() { throw new ServerError(9, "not now", { errorInfo: { reason: "BUSY", domain: "t", metadata: {} } }); }
export function crash() { throw new RangeError("a bug in the worker"); }`,
);

const logged: string[] = [];
let generatorsClosed = 0;

const probeService: HostedService = {
  definition: probe,
  implementation: ({ runOnWorker, identity }) => ({
    echo: async (request: { text: string }) => ({ text: request.text, server: identity.server }),
    refuse: async (request: { how: string }) => {
      if (request.how === "invalid") {
        throw invalidArgument("t.csv: line 2, column 3: bad", {
          reason: "MALFORMED_TABLE",
          fields: { file: "t.csv", line: "2", column: "3" },
        });
      }
      if (request.how === "not-found") throw new ServerError(status.NOT_FOUND, "no such thing");
      // A bug, not a refusal: whatever its class, it must not reach the client in its own words.
      throw new RangeError("Invalid array length (a secret internal detail)");
    },
    work: async (request: { x?: number; run?: string }, { signal }) =>
      request.run
        ? runOnWorker(workerModule, request.run, [], { signal })
        : runOnWorker(workerModule, "square", [request.x], signal),
    sum: async (requests: AsyncIterable<{ n: number }>) => {
      let total = 0;
      for await (const request of requests) total += request.n;
      return { total };
    },
    count: async function* (request: { to: number }) {
      try {
        for (let i = 1; i <= request.to; i++) {
          yield { i };
          if (request.to > 1000) await sleep(5);
        }
      } finally {
        generatorsClosed++;
      }
    },
    chat: async function* (requests: AsyncIterable<{ text: string }>) {
      for await (const request of requests) yield { text: request.text.toUpperCase() };
    },
  }),
};

/** A client made at run time from the definition: its methods are looked up by name. */
type AnyClient = Client & Record<string, any>;

function clientOf(definition: Record<string, MethodSpec>, address: string): AnyClient {
  // grpc-js copies each method's attributes onto the client's function: leave out `name`.
  const grpcForm = Object.fromEntries(
    Object.entries(definition).map(([key, { name: _, idempotency: __, ...m }]) => [key, m]),
  );
  const Constructor = makeGenericClientConstructor(grpcForm, "Probe");
  return new Constructor(address, credentials.createInsecure()) as AnyClient;
}

function unaryCall<T>(client: AnyClient, name: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[name](
      request,
      new Metadata(),
      { deadline: Date.now() + 20_000 },
      (error: ServiceError, reply: T) => (error ? reject(error) : resolve(reply)),
    ),
  );
}

const frameworkDefinitions = {
  info: {
    name: "info",
    path: "/rpcpool.pool.v1.InfoService/Info",
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: InfoRequest) => Buffer.from(InfoRequest.encode(value).finish()),
    requestDeserialize: (bytes: Buffer) => InfoRequest.decode(bytes),
    responseSerialize: (value: InfoResponse) => Buffer.from(InfoResponse.encode(value).finish()),
    responseDeserialize: (bytes: Buffer) => InfoResponse.decode(bytes),
    idempotency: "NO_SIDE_EFFECTS",
  },
  invoke: {
    name: "invoke",
    path: "/rpcpool.pool.v1.BatchService/Invoke",
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: InvokeRequest) => Buffer.from(InvokeRequest.encode(value).finish()),
    requestDeserialize: (bytes: Buffer) => InvokeRequest.decode(bytes),
    responseSerialize: (value: InvokeResponse) => Buffer.from(InvokeResponse.encode(value).finish()),
    responseDeserialize: (bytes: Buffer) => InvokeResponse.decode(bytes),
    idempotency: "UNKNOWN",
  },
} satisfies Record<string, MethodSpec>;

let server: RunningServer;
let client: AnyClient;
let framework: AnyClient;

beforeAll(async () => {
  server = await startServer({ port: 0, workers: 2, services: [probeService], log: (m) => logged.push(m) });
  client = clientOf(probe, server.address);
  framework = clientOf(frameworkDefinitions, server.address);
});
afterAll(async () => {
  client?.close();
  framework?.close();
  await server?.close(5_000);
  tmp.cleanup();
});

describe("the host: any service, every call kind", () => {
  it("runs unary, client-streaming, server-streaming and bidi handlers written as async functions", async () => {
    expect(await unaryCall(client, "echo", { text: "hi" })).toEqual({ text: "hi", server: server.address });

    const uploaded = new Promise((resolve, reject) => {
      const upload = client.sum(new Metadata(), (error: ServiceError | null, reply: { total: number }) =>
        error ? reject(error) : resolve(reply),
      );
      for (const n of [1, 2, 3, 4]) upload.write({ n });
      upload.end();
    });
    expect(await uploaded).toEqual({ total: 10 });

    const counted: number[] = [];
    for await (const reply of client.count({ to: 5 })) counted.push(reply.i);
    expect(counted).toEqual([1, 2, 3, 4, 5]);

    const chat = client.chat();
    const heard: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      chat.on("data", (reply: { text: string }) => heard.push(reply.text));
      chat.on("end", resolve);
      chat.on("error", reject);
    });
    chat.write({ text: "a" });
    chat.write({ text: "b" });
    chat.end();
    await ended;
    expect(heard).toEqual(["A", "B"]);
  });

  it("sends a ServerError with its code, message and standard details; a bug as INTERNAL, logged", async () => {
    const refused = (await unaryCall(client, "refuse", { how: "invalid" }).catch((e) => e)) as ServiceError;
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.details).toBe("t.csv: line 2, column 3: bad");
    expect(refused.metadata.get("rpcpool-line")).toEqual(["2"]);
    const details = decodeStatus(refused.metadata.get(statusDetailsKey)[0] as Buffer);
    expect(details.details.errorInfo).toMatchObject({
      reason: "MALFORMED_TABLE",
      metadata: { file: "t.csv", line: "2", column: "3" },
    });
    const missing = (await unaryCall(client, "refuse", { how: "not-found" }).catch((e) => e)) as ServiceError;
    expect(missing.code).toBe(status.NOT_FOUND);

    const bug = (await unaryCall(client, "refuse", { how: "bug" }).catch((e) => e)) as ServiceError;
    expect(bug.code).toBe(status.INTERNAL);
    expect(bug.details).toBe("internal error (see the server's log)");
    expect(logged.join("\n")).toMatch(
      /RangeError: Invalid array length \(a secret internal detail\)\n\s+at /,
    );
  });

  it("stops a server stream the client cancels, and no longer counts it in flight", async () => {
    const before = generatorsClosed;
    const call = client.count({ to: 1_000_000 });
    await once(call, "data");
    call.on("error", () => {});
    call.cancel();
    for (let i = 0; i < 200 && generatorsClosed === before; i++) await sleep(10);
    expect(generatorsClosed).toBe(before + 1);
    const info = await unaryCall<InfoResponse>(framework, "info", {});
    expect(info.callsInFlight).toBe(0);
  });

  it("runs a module's export on the worker threads (a path with # in it), and stops it on abort", async () => {
    const result = await unaryCall<{ value: number; threadId: number }>(client, "work", { x: 12 });
    expect(result.value).toBe(144);
    expect(result.threadId).toBeGreaterThan(0);
    const call = client.work({ run: "forever" }, new Metadata(), { deadline: Date.now() + 300 }, () => {});
    const [finished] = (await once(call, "status")) as [{ code: status }];
    expect(finished.code).toBe(status.DEADLINE_EXCEEDED);
    // The looping worker was ended: both threads serve again.
    const again = await Promise.all(
      [1, 2, 3].map((x) => unaryCall<{ value: number }>(client, "work", { x })),
    );
    expect(again.map((r) => r.value)).toEqual([1, 4, 9]);
  });

  it("keeps a ServerError thrown on a worker thread a ServerError; any other error there is a bug", async () => {
    const refused = (await unaryCall(client, "work", { run: "refuse" }).catch((e) => e)) as ServiceError;
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.details).toBe("not now");
    const details = decodeStatus(refused.metadata.get(statusDetailsKey)[0] as Buffer);
    expect(details.details.errorInfo?.reason).toBe("BUSY");
    const crashed = (await unaryCall(client, "work", { run: "crash" }).catch((e) => e)) as ServiceError;
    expect(crashed.code).toBe(status.INTERNAL);
    expect(logged.join("\n")).toMatch(/a bug in the worker/);
  });
});

describe("the host's own services", () => {
  it("InfoService says what the server is and every method it hosts, with its idempotency", async () => {
    const info = await unaryCall<InfoResponse>(framework, "info", {});
    expect(info).toMatchObject({ server: server.address, pid: process.pid, workers: 2, callsInFlight: 0 });
    const byPath = Object.fromEntries(info.methods.map((m) => [m.path, m]));
    expect(byPath["/rpcpool.pool.v1.InfoService/Info"]!.idempotency).toBe(
      Idempotency.IDEMPOTENCY_NO_SIDE_EFFECTS,
    );
    expect(byPath["/test.host.v1.Probe/Echo"]!.idempotency).toBe(Idempotency.IDEMPOTENCY_IDEMPOTENT);
    expect(byPath["/test.host.v1.Probe/Refuse"]!.idempotency).toBe(Idempotency.IDEMPOTENCY_UNSPECIFIED);
    expect(byPath["/test.host.v1.Probe/Chat"]).toMatchObject({
      clientStreaming: true,
      serverStreaming: true,
    });
  });

  it("BatchService runs each item through its method's handler; each keeps its status and details", async () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
    const echoed = await unaryCall<InvokeResponse>(framework, "invoke", {
      method: "/test.host.v1.Probe/Echo",
      requests: ["a", "b"].map((text) => encode({ text })),
    });
    expect(echoed.results.map((r) => JSON.parse(r.response.toString()).text)).toEqual(["a", "b"]);
    expect(echoed.servedBy?.server).toBe(server.address);

    const refused = await unaryCall<InvokeResponse>(framework, "invoke", {
      method: "/test.host.v1.Probe/Refuse",
      requests: [encode({ how: "invalid" }), encode({ how: "not-found" }), Buffer.from("{")],
    });
    const [invalid, notFound, malformed] = refused.results;
    expect(invalid).toMatchObject({ code: status.INVALID_ARGUMENT, message: "t.csv: line 2, column 3: bad" });
    expect(decodeStatus(invalid!.statusDetails).details.errorInfo?.reason).toBe("MALFORMED_TABLE");
    expect(notFound).toMatchObject({ code: status.NOT_FOUND, message: "no such thing" });
    expect(notFound!.statusDetails.byteLength).toBe(0);
    expect(malformed!.code).toBe(status.INVALID_ARGUMENT);

    const unknown = (await unaryCall(framework, "invoke", { method: "/x.Y/Z", requests: [] }).catch(
      (e) => e,
    )) as ServiceError;
    expect(unknown.code).toBe(status.UNIMPLEMENTED);
  });

  it("serves health for each service and reflection of the framework's services", async () => {
    expect(server.services).toEqual([
      "rpcpool.pool.v1.InfoService",
      "rpcpool.pool.v1.BatchService",
      "rpcpool.pool.v1.SessionService",
      "rpcpool.pool.v1.StoreService",
      "rpcpool.pool.v1.StatsService",
      "test.host.v1.Probe",
    ]);
    expect(await healthCheck(server.address, "test.host.v1.Probe")).toBe("SERVING");
    expect(await reflectionList(server.address)).toEqual(
      expect.arrayContaining([
        "rpcpool.pool.v1.InfoService",
        "rpcpool.pool.v1.BatchService",
        "rpcpool.pool.v1.SessionService",
        "rpcpool.pool.v1.StoreService",
        "rpcpool.pool.v1.StatsService",
      ]),
    );
  });
});
