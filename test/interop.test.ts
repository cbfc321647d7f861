import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTransport } from "../dist/src/pool/transport/create-transport.js";
import type { ResolvedCall, Transport, TransportKind } from "../dist/src/pool/transport/transport.js";
import { methodsOf } from "../dist/src/rpc/method-spec.js";
import {
  SimpleRequest,
  StreamingInputCallRequest,
  StreamingOutputCallRequest,
  TestServiceDefinition,
  UnimplementedServiceDefinition,
} from "./gen/grpc/testing/test.js";
import { findPython, pythonInteropStubs } from "./support/interop-processes.js";
import { startInteropServer } from "./support/interop-server.js";
import { root } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// gRPC's interop test cases (grpc/grpc doc/interop-test-descriptions.md), run by both client
// transports (rpcpool's node:http2 one and grpc-js's) against two independent servers (grpc-js's,
// test/support/interop-server.ts, and Python's grpcio, test/python/interop_server.py): a 2x2 matrix.
// Compression: the clients send uncompressed and ask for identity (the http2 transport refuses a
// compressed reply as INTERNAL: see message-framer.spec.ts and transport-defects.test.ts), so the
// compression cases check the uncompressed half and that a server asked to compress still answers
// what the client can read.

const m = methodsOf(TestServiceDefinition);
const unimplementedService = methodsOf(UnimplementedServiceDefinition);

const python = findPython();
const pythonSkip = python
  ? undefined
  : "no python3 with grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools)";
if (pythonSkip) console.warn(`interop tests against the Python server skipped: ${pythonSkip}`);

const servers: Record<string, { address: string; close(): Promise<void> } | undefined> = {};
let tmp: ReturnType<typeof tempDir> | undefined;
let pythonServer: ChildProcess | undefined;

beforeAll(async () => {
  servers["grpc-js"] = await startInteropServer();
  if (!python) return;
  tmp = tempDir("rpcpool-interop-");
  pythonInteropStubs(python, tmp.dir);
  pythonServer = spawn(python, [join(root, "test/python/interop_server.py"), "--stubs", tmp.dir], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const [port] = (await once(createInterface({ input: pythonServer.stdout! }), "line")) as [string];
  servers.python = { address: `127.0.0.1:${port.trim()}`, close: async () => {} };
});

afterAll(async () => {
  await servers["grpc-js"]?.close();
  if (pythonServer) {
    pythonServer.stdin?.end();
    if (pythonServer.exitCode === null) await once(pythonServer, "exit");
  }
  tmp?.cleanup();
});

const call = (extra: Partial<ResolvedCall> = {}): ResolvedCall => ({
  deadline: Date.now() + 10_000,
  metadata: {},
  ...extra,
});

/** The error of a failed call (its code and details), or undefined when it succeeded. */
async function failure(run: () => Promise<unknown>): Promise<{ code: number; details: string } | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return { code: (error as { code: number }).code, details: (error as { details: string }).details };
  }
}

const payload = (size: number) => ({ type: 0, body: Buffer.alloc(size) });
const outputRequest = (sizes: number[], requestSize = 0) =>
  StreamingOutputCallRequest.fromPartial({
    responseParameters: sizes.map((size) => ({ size })),
    payload: payload(requestSize),
  });

const specialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

for (const server of ["grpc-js", "python"] as const) {
  for (const kind of ["http2", "grpc-js"] as TransportKind[]) {
    describe.skipIf(server === "python" && !python)(`${kind} transport -> ${server} server`, () => {
      let t: Transport;
      beforeAll(() => {
        t = createTransport(servers[server]!.address, { kind });
      });
      afterAll(() => t?.close());

      it("empty_unary", async () => {
        expect(await t.unary(m.emptyCall, {}, call())).toEqual({});
      });

      it("large_unary", async () => {
        const request = SimpleRequest.fromPartial({ responseSize: 314159, payload: payload(271828) });
        const reply = await t.unary(m.unaryCall, request, call());
        expect(reply.payload?.body.length).toBe(314159);
        expect(reply.payload?.body.every((byte: number) => byte === 0)).toBe(true);
      });

      it("client_streaming", async () => {
        const requests = [27182, 8, 1828, 45904].map((size) =>
          StreamingInputCallRequest.fromPartial({ payload: payload(size) }),
        );
        const reply = await t.clientStream(m.streamingInputCall, requests, call());
        expect(reply.aggregatedPayloadSize).toBe(74922);
      });

      it("server_streaming", async () => {
        const sizes: number[] = [];
        for await (const reply of t.serverStream(
          m.streamingOutputCall,
          outputRequest([31415, 9, 2653, 58979]),
          call(),
        )) {
          sizes.push(reply.payload?.body.length ?? 0);
        }
        expect(sizes).toEqual([31415, 9, 2653, 58979]);
      });

      it("ping_pong", async () => {
        const duplex = t.duplex(m.fullDuplexCall, call());
        const replies = duplex.replies[Symbol.asyncIterator]();
        const pairs = [
          [27182, 31415],
          [8, 9],
          [1828, 2653],
          [45904, 58979],
        ] as const;
        for (const [requestSize, responseSize] of pairs) {
          await duplex.send(outputRequest([responseSize], requestSize));
          const next = await replies.next();
          expect(next.value?.payload?.body.length).toBe(responseSize);
        }
        duplex.end();
        expect((await replies.next()).done).toBe(true);
      });

      it("empty_stream", async () => {
        const duplex = t.duplex(m.fullDuplexCall, call());
        duplex.end();
        const replies: unknown[] = [];
        for await (const reply of duplex.replies) replies.push(reply);
        expect(replies).toEqual([]);
      });

      it("cancel_after_begin", async () => {
        const controller = new AbortController();
        async function* nothing() {
          await new Promise((resolve) => controller.signal.addEventListener("abort", resolve));
        }
        const reply = t.clientStream(m.streamingInputCall, nothing(), call({ signal: controller.signal }));
        setTimeout(() => controller.abort(), 50);
        expect((await failure(() => reply))?.code).toBe(1);
      });

      it("cancel_after_first_response", async () => {
        const duplex = t.duplex(m.fullDuplexCall, call());
        const replies = duplex.replies[Symbol.asyncIterator]();
        await duplex.send(outputRequest([31415], 27182));
        expect((await replies.next()).value?.payload?.body.length).toBe(31415);
        duplex.cancel();
        expect((await failure(() => replies.next()))?.code).toBe(1);
      });

      it("timeout_on_sleeping_server", async () => {
        const duplex = t.duplex(m.fullDuplexCall, call({ deadline: Date.now() + 1 }));
        await duplex.send(outputRequest([], 27182)).catch(() => {});
        const result = await failure(async () => {
          for await (const _ of duplex.replies) {
          }
        });
        expect(result?.code).toBe(4);
      });

      it("status_code_and_message", async () => {
        const responseStatus = { code: 2, message: "test status message" };
        const unary = await failure(() =>
          t.unary(m.unaryCall, SimpleRequest.fromPartial({ responseStatus }), call()),
        );
        expect(unary).toEqual({ code: 2, details: "test status message" });
        const duplex = t.duplex(m.fullDuplexCall, call());
        await duplex.send(StreamingOutputCallRequest.fromPartial({ responseStatus }));
        duplex.end();
        const streamed = await failure(async () => {
          for await (const _ of duplex.replies) {
          }
        });
        expect(streamed).toEqual({ code: 2, details: "test status message" });
      });

      it("special_status_message", async () => {
        const responseStatus = { code: 2, message: specialMessage };
        const result = await failure(() =>
          t.unary(m.unaryCall, SimpleRequest.fromPartial({ responseStatus }), call()),
        );
        expect(result).toEqual({ code: 2, details: specialMessage });
      });

      it("unimplemented_method", async () => {
        expect((await failure(() => t.unary(m.unimplementedCall, {}, call())))?.code).toBe(12);
      });

      it("unimplemented_service", async () => {
        expect((await failure(() => t.unary(unimplementedService.unimplementedCall, {}, call())))?.code).toBe(
          12,
        );
      });

      it("custom_metadata", async () => {
        const metadata = {
          "x-grpc-test-echo-initial": "test_initial_metadata_value",
          "x-grpc-test-echo-trailing-bin": Buffer.from([0xab, 0xab, 0xab]),
        };
        const check = async (run: (c: ResolvedCall) => Promise<unknown>) => {
          let headers: Record<string, unknown> = {};
          let trailers: Record<string, unknown> = {};
          await run(
            call({
              metadata,
              onHeaders: (h) => {
                headers = h;
              },
              onTrailers: (h) => {
                trailers = h;
              },
            }),
          );
          expect(headers["x-grpc-test-echo-initial"]).toBe("test_initial_metadata_value");
          expect(Buffer.from(trailers["x-grpc-test-echo-trailing-bin"] as Buffer)).toEqual(
            Buffer.from([0xab, 0xab, 0xab]),
          );
        };
        await check((c) =>
          t.unary(
            m.unaryCall,
            SimpleRequest.fromPartial({ responseSize: 314159, payload: payload(271828) }),
            c,
          ),
        );
        await check(async (c) => {
          const duplex = t.duplex(m.fullDuplexCall, c);
          await duplex.send(outputRequest([314159], 271828));
          duplex.end();
          for await (const _ of duplex.replies) {
          }
        });
      });

      it("client_compressed_unary (uncompressed half; the probe on the grpc-js server)", async () => {
        if (server === "grpc-js") {
          // The server must refuse a request it expected compressed that came plain.
          const probe = SimpleRequest.fromPartial({
            expectCompressed: { value: true },
            responseSize: 314159,
          });
          expect((await failure(() => t.unary(m.unaryCall, probe, call())))?.code).toBe(3);
        }
        const plain = SimpleRequest.fromPartial({
          expectCompressed: { value: false },
          responseSize: 314159,
          payload: payload(271828),
        });
        expect((await t.unary(m.unaryCall, plain, call())).payload?.body.length).toBe(314159);
      });

      it("client_compressed_streaming (uncompressed half; the probe on the grpc-js server)", async () => {
        if (server === "grpc-js") {
          const probe = [
            StreamingInputCallRequest.fromPartial({
              expectCompressed: { value: true },
              payload: payload(27182),
            }),
          ];
          expect((await failure(() => t.clientStream(m.streamingInputCall, probe, call())))?.code).toBe(3);
        }
        const plain = [27182, 45904].map((size) =>
          StreamingInputCallRequest.fromPartial({
            expectCompressed: { value: false },
            payload: payload(size),
          }),
        );
        expect((await t.clientStream(m.streamingInputCall, plain, call())).aggregatedPayloadSize).toBe(73086);
      });

      it("server_compressed_unary (asked to compress, the server answers what the client accepts)", async () => {
        for (const compressed of [true, false]) {
          const request = SimpleRequest.fromPartial({
            responseCompressed: { value: compressed },
            responseSize: 314159,
            payload: payload(271828),
          });
          expect((await t.unary(m.unaryCall, request, call())).payload?.body.length).toBe(314159);
        }
      });

      it("server_compressed_streaming", async () => {
        const request = StreamingOutputCallRequest.fromPartial({
          responseParameters: [
            { size: 31415, compressed: { value: true } },
            { size: 92653, compressed: { value: false } },
          ],
        });
        const sizes: number[] = [];
        for await (const reply of t.serverStream(m.streamingOutputCall, request, call())) {
          sizes.push(reply.payload?.body.length ?? 0);
        }
        expect(sizes).toEqual([31415, 92653]);
      });
    });
  }
}
