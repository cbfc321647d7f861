import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  defineService,
  type RunningServer,
  type ServerCallContext,
  ServerError,
  type ServiceImplementation,
  Status,
  startServer,
} from "rpcpool";
import { grpcServiceOf } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CountResponse,
  type EchoResponse,
  type SplitResponse,
  WordsServiceDefinition,
} from "./gen/rpcpool/test/v1/words.js";
import { root } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// A user's own service written as ServiceImplementation: plain functions of every call kind,
// hosted by startServer, called by grpc-js and by a Python grpcio client.

const contexts: ServerCallContext[] = [];

const implementation: ServiceImplementation<typeof WordsServiceDefinition> = {
  async count(request, context) {
    contexts.push(context);
    const words = request.text.split(" ").filter(Boolean);
    if (request.text === "refuse") throw new ServerError(Status.INVALID_ARGUMENT, "no words to count");
    // A reply that cannot be encoded: a bug the server's log must name (JS callers skip the types).
    if (request.text === "bad") return { count: "three" as unknown as number, server: "s" };
    // Partial: mean, max, server, words and longest are left out.
    return { count: words.length };
  },
  async *split(request) {
    for (const word of request.text.split(" ")) yield { word, length: word.length };
  },
  async total(requests) {
    let count = 0;
    for await (const request of requests) count += request.text.split(" ").length;
    return { count };
  },
  async *echo(words) {
    // A nested partial: length left out.
    for await (const { word } of words) yield { word: word.toUpperCase() };
  },
};

const logged: string[] = [];
let server: RunningServer;
type WordsClient = Client & Record<string, any>;
let client: WordsClient;

beforeAll(async () => {
  server = await startServer({
    address: "127.0.0.1:0",
    workers: 1,
    name: "words-1",
    log: (line) => logged.push(line),
    services: [
      defineService(WordsServiceDefinition, implementation, {
        protoFiles: ["rpcpool/test/v1/words.proto"],
        includeDirs: [join(root, "test", "proto")],
      }),
    ],
  });
  const Constructor = makeGenericClientConstructor(grpcServiceOf(WordsServiceDefinition), "Words");
  client = new Constructor(server.address, credentials.createInsecure()) as WordsClient;
});

afterAll(async () => {
  client?.close();
  await server?.close(1_000);
});

const count = (text: string, deadline = Date.now() + 10_000) =>
  new Promise<CountResponse>((resolve, reject) =>
    client.count(
      { text },
      new Metadata(),
      { deadline },
      (error: ServiceError | null, reply: CountResponse) => (error ? reject(error) : resolve(reply)),
    ),
  );

function collect<T>(stream: NodeJS.ReadableStream): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    stream.on("data", (item: T) => items.push(item));
    stream.on("error", reject);
    stream.on("end", () => resolve(items));
  });
}

describe("a service written as ServiceImplementation", () => {
  it("is named from its definition (health and reflection need no hand-written name)", () => {
    expect(server.services).toContain("rpcpool.test.v1.WordsService");
    // Listening where `address` said, on the port it picked.
    expect(server.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  });

  it("answers a partial reply with the proto's defaults, never NaN or 'undefined'", async () => {
    expect(await count("a bb ccc")).toEqual({
      count: 3,
      mean: 0,
      max: 0,
      server: "",
      words: [],
      longest: undefined,
    });
  });

  it("serves every call kind from plain functions", async () => {
    expect(await collect<SplitResponse>(client.split({ text: "a bb" }))).toEqual([
      { word: "a", length: 1 },
      { word: "bb", length: 2 },
    ]);
    const total = new Promise<CountResponse>((resolve, reject) => {
      const call = client.total((error: ServiceError | null, reply: CountResponse) =>
        error ? reject(error) : resolve(reply),
      );
      call.write({ text: "a b" });
      call.write({ text: "c" });
      call.end();
    });
    expect((await total).count).toBe(3);
    const echo = client.echo();
    const echoed = collect<EchoResponse>(echo);
    echo.write({ word: "hi", length: 2 });
    echo.end();
    expect(await echoed).toEqual([{ word: "HI", length: 0 }]);
  });

  it("gives handlers the call's deadline and the server's tools on their context", async () => {
    const deadline = Date.now() + 60_000;
    await count("x", deadline);
    const context = contexts.at(-1)!;
    expect(context.deadline).toBeInstanceOf(Date);
    // grpc-js sends the deadline as a timeout in whole units: it comes back within a second or so.
    expect(Math.abs(context.deadline!.getTime() - deadline)).toBeLessThan(2_000);
    expect(context.identity.server).toBe("words-1");
    expect(context.workers).toBe(1);
    expect(typeof context.runOnWorker).toBe("function");
    expect(context.store.has("no-such-handle")).toBe(false);
    expect(context.signal.aborted).toBe(false);
  });

  it("sends a ServerError's named status", async () => {
    await expect(count("refuse")).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: "no words to count",
    });
  });

  it("answers INTERNAL to a reply that cannot be encoded, and logs the method and the field", async () => {
    await expect(count("bad")).rejects.toMatchObject({ code: Status.INTERNAL });
    expect(logged.join("\n")).toMatch(/rpcpool\.test\.v1\.WordsService\/Count: reply field "count": /);
    // The server goes on serving.
    expect((await count("a")).count).toBe(1);
  });
});

describe("startServer refuses", () => {
  it("an address that is not HOST:PORT", async () => {
    await expect(startServer({ address: "localhost", services: [] })).rejects.toThrow(/not HOST:PORT/);
  });

  it("a service missing a handler, naming the method", async () => {
    const { echo: _, ...partial } = implementation;
    await expect(
      startServer({
        workers: 1,
        services: [{ definition: WordsServiceDefinition, implementation: partial as typeof implementation }],
      }),
    ).rejects.toThrow(/no handler for rpcpool\.test\.v1\.WordsService\/Echo/);
  });

  it("a handler for a method the definition does not have", async () => {
    await expect(
      startServer({
        workers: 1,
        services: [
          {
            definition: WordsServiceDefinition,
            implementation: { ...implementation, cuont: async () => ({}) },
          },
        ],
      }),
    ).rejects.toThrow(/does not have: cuont/);
  });
});

/** A python3 that has grpcio and grpc_tools (Debian's packages are seen by /usr/bin/python3 only). */
const python = [process.env.RPCPOOL_PYTHON, "python3", "/usr/bin/python3"]
  .filter((candidate): candidate is string => Boolean(candidate))
  .find((candidate) => spawnSync(candidate, ["-c", "import grpc, grpc_tools.protoc"]).status === 0);

describe.skipIf(!python)("a Python grpcio client", () => {
  it("reads the fields a handler left out as the proto's defaults", async () => {
    const tmp = tempDir("rpcpool-words-py-");
    try {
      const stubs = join(tmp.dir, "stubs");
      mkdirSync(stubs);
      execFileSync(python!, [
        "-m",
        "grpc_tools.protoc",
        "-I",
        join(root, "test", "proto"),
        `--python_out=${stubs}`,
        `--grpc_python_out=${stubs}`,
        join(root, "test", "proto", "rpcpool", "test", "v1", "words.proto"),
      ]);
      // Not execFileSync: the server runs in this process, and must answer while Python waits.
      const { stdout: out } = await promisify(execFile)(
        python!,
        [join(root, "test", "python", "words_client.py"), stubs, server.address, "a bb"],
        {
          encoding: "utf8",
          timeout: 30_000,
        },
      );
      expect(JSON.parse(out)).toEqual({
        count: 2,
        mean: 0,
        max: 0,
        server: "",
        words: [],
        hasLongest: false,
        longest: { word: "", length: 0 },
      });
    } finally {
      tmp.cleanup();
    }
  });
});
