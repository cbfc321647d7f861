import { once } from "node:events";
import {
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";

/**
 * A gRPC server written on node:http2 by hand, so that a test can script what no real gRPC server
 * does on purpose: reset a stream with a chosen code, reply without a status or with HTML, send
 * GOAWAY in the middle of a call, or stream replies without end. Each test gives the handler.
 */
export type RawHandler = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  session: Http2Session,
) => void;

export interface RawGrpcServer {
  address: string;
  server: Http2Server;
  /** Sessions the server has had, in order. */
  sessions: Http2Session[];
  /** PING frames each session received (keepalive), by session index. */
  pings: number[];
  /** The handler of the next calls. */
  handler: RawHandler;
  close(): Promise<void>;
}

export async function rawGrpcServer(handler: RawHandler = () => {}): Promise<RawGrpcServer> {
  const server = createServer({ settings: { initialWindowSize: 4 << 20 } });
  const raw: RawGrpcServer = {
    address: "",
    server,
    sessions: [],
    pings: [],
    handler,
    async close() {
      for (const session of raw.sessions) if (!session.destroyed) session.destroy();
      server.close();
      await once(server, "close").catch(() => {});
    },
  };
  server.on("session", (session) => {
    const index = raw.sessions.push(session) - 1;
    raw.pings[index] = 0;
    session.on("ping", () => raw.pings[index]!++);
    session.on("error", () => {});
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    raw.handler(stream, headers, stream.session!);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  raw.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return raw;
}

/** One gRPC message: the flag byte (0, uncompressed), the length, the bytes. */
export function frame(bytes: Buffer | string, compressed = false): Buffer {
  const body = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/** The headers of a gRPC reply, trailers to follow. */
export function grpcHeaders(stream: ServerHttp2Stream): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
}

/** Ends the reply with these trailers (once the data written before has gone out). */
export function sendStatus(stream: ServerHttp2Stream, trailers: Record<string, string>): void {
  stream.once("wantTrailers", () => stream.sendTrailers(trailers));
  stream.end();
}

/**
 * A method of raw bytes both ways, for calls to the raw server (the transport needs only a path
 * and codecs).
 */
export function bytesMethod(path: string, responseStream = false) {
  return {
    path,
    name: path.slice(path.lastIndexOf("/") + 1),
    originalName: path.slice(path.lastIndexOf("/") + 1),
    idempotency: "UNKNOWN" as const,
    requestStream: false,
    responseStream,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (bytes: Buffer) => bytes,
  };
}
