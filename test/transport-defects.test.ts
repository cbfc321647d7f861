import { once } from "node:events";
import { constants, type ServerHttp2Stream } from "node:http2";
import { createServer as createTcpServer, type Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { Pool } from "rpcpool";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Http2Transport } from "../dist/src/pool/transport/http2-transport.js";
import { FlakyServiceDefinition } from "./gen/rpcpool/test/v1/flaky.js";
import {
  bytesMethod,
  frame,
  grpcHeaders,
  type RawGrpcServer,
  rawGrpcServer,
  sendStatus,
} from "./support/raw-grpc-server.js";

// Each defect the review found in the node:http2 transport, scripted by a raw node:http2 server
// (test/support/raw-grpc-server.ts) that misbehaves on purpose; each test failed before its fix.

const unary = bytesMethod("/raw.Test/Unary");
const stream = bytesMethod("/raw.Test/Stream", true);

let raw: RawGrpcServer;
let transport: Http2Transport;
beforeAll(async () => {
  raw = await rawGrpcServer();
});
afterAll(() => raw.close());
afterEach(() => transport?.close());

function connect(options: ConstructorParameters<typeof Http2Transport>[1] = {}) {
  transport = new Http2Transport(raw.address, options);
  return transport;
}

const call = (ms = 10_000, metadata: Record<string, string | Buffer> = {}) => ({
  deadline: Date.now() + ms,
  metadata,
});

/** The call's failure as "CODE: message", or "OK". */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "OK";
  } catch (error) {
    return `${(error as { codeName: string }).codeName}: ${(error as Error).message}`;
  }
}

describe("replies and status", () => {
  it("a reader slower than the stream gets all 3,000 replies, and the status after the last", async () => {
    raw.handler = (s) => {
      grpcHeaders(s);
      for (let i = 0; i < 3000; i++) s.write(frame(`reply ${i} `.padEnd(100, ".")));
      sendStatus(s, { "grpc-status": "0" });
    };
    let trailersAt = -1;
    let count = 0;
    const replies = connect().serverStream(stream, Buffer.alloc(0), {
      ...call(),
      onTrailers: () => {
        trailersAt = count;
      },
    });
    for await (const reply of replies) {
      expect(reply.toString().startsWith(`reply ${count} `)).toBe(true);
      count++;
      // Slower than the socket: the server's whole reply, trailers included, arrives meanwhile.
      if (count % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      else await new Promise((resolve) => setImmediate(resolve));
    }
    expect(count).toBe(3000);
    expect(trailersAt).toBeGreaterThanOrEqual(0);
  });

  it("a 48 MiB reply is put together in linear time (it took over 60 s)", async () => {
    const size = 48 << 20;
    raw.handler = (s) => {
      grpcHeaders(s);
      const body = Buffer.alloc(size, 7);
      s.write(frame(body));
      sendStatus(s, { "grpc-status": "0" });
    };
    const reply = await connect().unary(unary, Buffer.alloc(0), call(20_000));
    expect(reply.length).toBe(size);
  }, 25_000);

  it("endless replies to a unary call are refused at the second one", async () => {
    let closed: Promise<unknown> | undefined;
    raw.handler = (s) => {
      grpcHeaders(s);
      closed = once(s, "close");
      const empty = frame(Buffer.alloc(0));
      const pump = () => {
        while (!s.destroyed && s.write(empty)) {}
        if (!s.destroyed) s.once("drain", pump);
      };
      pump();
    };
    const result = await outcome(connect().unary(unary, Buffer.alloc(0), call(8_000)));
    expect(result).toMatch(/^UNIMPLEMENTED: .*more than one reply/);
    await closed;
  }, 15_000);

  it("trailers without grpc-status are UNKNOWN (not NaN)", async () => {
    raw.handler = (s) => {
      grpcHeaders(s);
      s.write(frame("x"));
      sendStatus(s, { "grpc-message": "no code" });
    };
    expect(await outcome(connect().unary(unary, Buffer.alloc(0), call()))).toMatch(/^UNKNOWN: .*no code/);
  });

  it("a stream that ends without a status is INTERNAL", async () => {
    raw.handler = (s) => {
      s.respond({ ":status": 200, "content-type": "application/grpc" });
      s.end(frame("x"));
    };
    expect(await outcome(connect().unary(unary, Buffer.alloc(0), call()))).toMatch(/^INTERNAL: /);
  });
});

describe("compressed replies (the client asks for identity; some servers compress anyway)", () => {
  const compressedReply = (encoding: string, body: Buffer) => (s: ServerHttp2Stream) => {
    s.respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-encoding": encoding },
      { waitForTrailers: true },
    );
    s.write(frame(body, true));
    sendStatus(s, { "grpc-status": "0" });
  };
  it("a gzip reply is read", async () => {
    raw.handler = compressedReply("gzip", gzipSync(Buffer.from("hello gzip")));
    expect((await connect().unary(unary, Buffer.alloc(0), call())).toString()).toBe("hello gzip");
  });
  it("an encoding it cannot read is INTERNAL, and says which", async () => {
    raw.handler = compressedReply("snappy", Buffer.from("?"));
    expect(await outcome(connect().unary(unary, Buffer.alloc(0), call()))).toMatch(/^INTERNAL: .*snappy/);
  });
  it("a gzip reply that inflates past the limit is RESOURCE_EXHAUSTED", async () => {
    raw.handler = compressedReply("gzip", gzipSync(Buffer.alloc(1 << 20)));
    const result = await outcome(connect({ maxReceiveBytes: 1000 }).unary(unary, Buffer.alloc(0), call()));
    expect(result).toMatch(/^RESOURCE_EXHAUSTED: /);
  });
});

describe("RST_STREAM codes as gRPC says (doc/PROTOCOL-HTTP2.md)", () => {
  const cases: [string, number, string][] = [
    ["INTERNAL_ERROR", constants.NGHTTP2_INTERNAL_ERROR, "INTERNAL"],
    ["PROTOCOL_ERROR", constants.NGHTTP2_PROTOCOL_ERROR, "INTERNAL"],
    ["REFUSED_STREAM", constants.NGHTTP2_REFUSED_STREAM, "UNAVAILABLE"],
    ["CANCEL", constants.NGHTTP2_CANCEL, "CANCELLED"],
  ];
  for (const [name, code, status] of cases) {
    it(`${name} -> ${status}`, async () => {
      raw.handler = (s) => s.close(code);
      expect(await outcome(connect().unary(unary, Buffer.alloc(0), call()))).toMatch(
        new RegExp(`^${status}: `),
      );
    });
    it(`${name} after the reply headers -> ${status}`, async () => {
      raw.handler = (s) => {
        // Trailers pending: Node's close() sends no END_STREAM before the RST_STREAM.
        grpcHeaders(s);
        s.write(frame("partial"), () => s.close(code));
      };
      expect(await outcome(connect().unary(unary, Buffer.alloc(0), call()))).toMatch(
        new RegExp(`^${status}: `),
      );
    });
  }
});

describe("a server's RST_STREAM INTERNAL_ERROR through the pool", () => {
  it("fails a non-idempotent call once (INTERNAL), not four times as UNAVAILABLE", async () => {
    let appends = 0;
    raw.handler = (s, headers) => {
      if (String(headers[":path"]).endsWith("/Info")) {
        // An empty InfoResponse: a server with defaults, hosting everything.
        grpcHeaders(s);
        s.write(frame(Buffer.alloc(0)));
        sendStatus(s, { "grpc-status": "0" });
        return;
      }
      appends++;
      s.close(constants.NGHTTP2_INTERNAL_ERROR);
    };
    const pool = await Pool.connect([raw.address]);
    try {
      const result = await outcome(pool.service(FlakyServiceDefinition).apply("append", { value: "x" }));
      expect(result).toMatch(/^INTERNAL: /);
      expect(appends).toBe(1);
    } finally {
      await pool.close();
    }
  });
});

describe("replies that are not gRPC", () => {
  const reply =
    (status: number, headers: Record<string, string>, body = "") =>
    (s: ServerHttp2Stream) => {
      s.respond({ ":status": status, ...headers });
      s.end(body);
    };
  it("HTTP 200 text/html is UNKNOWN and says so (not a 'compressed message')", async () => {
    raw.handler = reply(200, { "content-type": "text/html" }, "<html><body>hello</body></html>");
    const result = await outcome(connect().unary(unary, Buffer.alloc(0), call()));
    expect(result).toMatch(/^UNKNOWN: .*text\/html/);
  });
  it("HTTP 404 is UNIMPLEMENTED", async () => {
    raw.handler = reply(404, { "content-type": "text/plain" }, "not found");
    expect(await outcome(connect().unary(unary, Buffer.alloc(0), call()))).toMatch(/^UNIMPLEMENTED: /);
  });
  it("HTTP 503 with grpc-message is UNAVAILABLE and keeps the server's words", async () => {
    raw.handler = reply(503, { "content-type": "text/plain", "grpc-message": "overloaded%20now" });
    expect(await outcome(connect().unary(unary, Buffer.alloc(0), call()))).toMatch(
      /^UNAVAILABLE: .*overloaded now/,
    );
  });
  it("HTTP 401 is UNAUTHENTICATED, 403 PERMISSION_DENIED, 400 INTERNAL, 418 UNKNOWN", async () => {
    const seen: string[] = [];
    for (const status of [401, 403, 400, 418]) {
      raw.handler = reply(status, { "content-type": "text/plain" });
      seen.push((await outcome(connect().unary(unary, Buffer.alloc(0), call()))).split(":")[0]!);
    }
    expect(seen).toEqual(["UNAUTHENTICATED", "PERMISSION_DENIED", "INTERNAL", "UNKNOWN"]);
  });
});

describe("connection", () => {
  it("raises the connection's receive window above HTTP/2's 64 KiB", async () => {
    raw.handler = (s) => {
      grpcHeaders(s);
      s.write(frame("x"));
      sendStatus(s, { "grpc-status": "0" });
    };
    const before = raw.sessions.length;
    await connect().unary(unary, Buffer.alloc(0), call());
    const session = raw.sessions[before]!;
    // The server's view of what it may send on the whole connection.
    expect(session.state.remoteWindowSize).toBeGreaterThanOrEqual(8 << 20);
  });

  it("after GOAWAY, the old session's calls keep their keepalive and complete", async () => {
    raw.handler = (s, _headers, session) => {
      grpcHeaders(s);
      session.goaway(constants.NGHTTP2_NO_ERROR, s.id!);
      // Silent for a while: the client's keepalive pings the session the call is on.
      setTimeout(() => {
        s.write(frame("late"));
        sendStatus(s, { "grpc-status": "0" });
      }, 1200);
    };
    const before = raw.sessions.length;
    const reply = await connect({
      keepaliveMs: 100,
      keepaliveMinIntervalMs: 0,
      keepaliveTimeoutMs: 5_000,
    }).unary(unary, Buffer.alloc(0), call());
    expect(reply.toString()).toBe("late");
    expect(raw.pings[before]).toBeGreaterThan(0);
  });

  it("a session's failure is told for its own calls only, not for a later session's", async () => {
    // A port nothing listens on: the first session fails with ECONNREFUSED.
    const probe = createTcpServer();
    probe.listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as { port: number }).port;
    probe.close();
    await once(probe, "close");
    const t = new Http2Transport(`127.0.0.1:${port}`);
    try {
      const first = await outcome(t.unary(unary, Buffer.alloc(0), call()));
      expect(first).toMatch(/^UNAVAILABLE: .*ECONNREFUSED/);
      // Then a server that takes the connection and drops it at once: another failure, its own.
      const dropping = createTcpServer((socket) => socket.destroy());
      dropping.listen(port, "127.0.0.1");
      await once(dropping, "listening");
      try {
        const second = await outcome(t.unary(unary, Buffer.alloc(0), call()));
        expect(second).toMatch(/^UNAVAILABLE: /);
        expect(second).not.toMatch(/ECONNREFUSED/);
      } finally {
        dropping.close();
      }
    } finally {
      t.close();
    }
  });

  it("a keepalive while TLS is still connecting does not kill the session", async () => {
    // A TCP server that accepts and never answers: the TLS handshake hangs until the deadline.
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    const port = (silent.address() as { port: number }).port;
    const tls = new Http2Transport(`127.0.0.1:${port}`, {
      tls: {},
      keepaliveMs: 50,
      keepaliveMinIntervalMs: 0,
    });
    try {
      const result = await outcome(tls.unary(unary, Buffer.alloc(0), call(1_000)));
      expect(result).toMatch(/^DEADLINE_EXCEEDED: /);
      // A handshake that takes longer than a ping's answer may ends the session, saying why.
      const impatient = new Http2Transport(`127.0.0.1:${port}`, {
        tls: {},
        keepaliveMs: 50,
        keepaliveMinIntervalMs: 0,
        keepaliveTimeoutMs: 300,
      });
      const dropped = await outcome(impatient.unary(unary, Buffer.alloc(0), call(10_000)));
      impatient.close();
      expect(dropped).toMatch(/^UNAVAILABLE: .*no connection .* within 300 ms/);
    } finally {
      tls.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe("request metadata", () => {
  it("reserved headers are refused as the caller's mistake, and nothing is sent", async () => {
    let calls = 0;
    raw.handler = (s) => {
      calls++;
      grpcHeaders(s);
      s.write(frame("x"));
      sendStatus(s, { "grpc-status": "0" });
    };
    const t = connect();
    for (const key of ["grpc-timeout", "content-type", "te", ":path", "grpc-encoding", "Upper"]) {
      expect(await outcome(t.unary(unary, Buffer.alloc(0), call(10_000, { [key]: "1S" })))).toMatch(
        /^INVALID_ARGUMENT: /,
      );
    }
    expect(calls).toBe(0);
    expect(await outcome(t.unary(unary, Buffer.alloc(0), call(10_000, { "x-ok": "fine" })))).toBe("OK");
  });

  it("a value a header cannot carry is INVALID_ARGUMENT, not UNAVAILABLE", async () => {
    const result = await outcome(connect().unary(unary, Buffer.alloc(0), call(10_000, { "x-bad": "a\nb" })));
    expect(result).toMatch(/^INVALID_ARGUMENT: /);
  });
});

describe("client streams", () => {
  it("a source that waits forever does not hold the caller once the deadline ended the call", async () => {
    raw.handler = (s) => {
      s.on("data", () => {});
    };
    async function* never() {
      await new Promise(() => {});
    }
    const t = connect();
    const result = await outcome(t.clientStream(unary, never(), call(300)));
    expect(result).toMatch(/^DEADLINE_EXCEEDED: /);
  }, 10_000);
});

describe("deadlines", () => {
  it("a deadline beyond 2^31-1 ms neither fires at once nor early", async () => {
    raw.handler = (s) => {
      grpcHeaders(s);
      setTimeout(() => {
        s.write(frame("slow"));
        sendStatus(s, { "grpc-status": "0" });
      }, 100);
    };
    const far = { deadline: Date.now() + 2 ** 31 + 60_000, metadata: {} };
    expect((await connect().unary(unary, Buffer.alloc(0), far)).toString()).toBe("slow");
    // The grpc-js transport too (grpc-js keeps its own timers).
    const { GrpcJsTransport } = await import("../dist/src/pool/transport/grpc-js-transport.js");
    const grpcJs = new GrpcJsTransport(raw.address);
    try {
      expect((await grpcJs.unary(unary, Buffer.alloc(0), far)).toString()).toBe("slow");
    } finally {
      grpcJs.close();
    }
  });
});

describe("the grpc-js transport on the same misbehaving server (the reference's codes)", () => {
  // [scenario, handler, grpc-js's code, the http2 transport's code]
  const scenarios: [string, (s: ServerHttp2Stream) => void, number, number][] = [
    ["RST INTERNAL_ERROR", (s) => s.close(constants.NGHTTP2_INTERNAL_ERROR), 13, 13],
    ["RST PROTOCOL_ERROR", (s) => s.close(constants.NGHTTP2_PROTOCOL_ERROR), 13, 13],
    ["RST REFUSED_STREAM", (s) => s.close(constants.NGHTTP2_REFUSED_STREAM), 14, 14],
    [
      "trailers without grpc-status",
      (s) => {
        grpcHeaders(s);
        s.write(frame("x"));
        sendStatus(s, { "grpc-message": "no code" });
      },
      2,
      2,
    ],
    [
      "no trailers at all",
      (s) => {
        s.respond({ ":status": 200, "content-type": "application/grpc" });
        s.end(frame("x"));
      },
      13,
      13,
    ],
    [
      "HTTP 503",
      (s) => {
        s.respond({ ":status": 503 });
        s.end();
      },
      14,
      14,
    ],
    [
      "HTTP 404",
      (s) => {
        s.respond({ ":status": 404 });
        s.end();
      },
      12,
      12,
    ],
    [
      // grpc-js reads one message of a unary call and holds the status until the next is read:
      // it waits for the deadline. The http2 transport refuses the second message at once.
      "two replies to a unary call",
      (s) => {
        grpcHeaders(s);
        s.write(frame("a"));
        s.write(frame("b"));
        sendStatus(s, { "grpc-status": "0" });
      },
      4,
      12,
    ],
  ];
  for (const [name, handler, reference, ours] of scenarios) {
    it(`${name}: grpc-js ${reference}, http2 ${ours}`, async () => {
      raw.handler = handler;
      const { GrpcJsTransport } = await import("../dist/src/pool/transport/grpc-js-transport.js");
      const grpcJs = new GrpcJsTransport(raw.address);
      try {
        const codes = [];
        for (const t of [grpcJs, connect()]) {
          codes.push(
            await t.unary(unary, Buffer.alloc(0), call(1_000)).then(
              () => 0,
              (e: { code: number }) => e.code,
            ),
          );
        }
        expect(codes).toEqual([reference, ours]);
      } finally {
        grpcJs.close();
      }
    });
  }
});
