import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  loadPackageDefinition,
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { encodeStatus, statusDetailsKey } from "rpcpool/protocol";
import { root } from "./run-program.js";

/**
 * A value store written apart from rpcpool's (grpc-js and proto-loader, from the .proto files) that
 * answers StoreService/Get as the test tells it to: a broken or hostile server, which rpcpool's own
 * cannot be made to be. Keep "computes" a fixed value; Get then:
 * - "endless": announces `announce` bytes and streams 1 MiB chunks for ever;
 * - "unavailable": fails with UNAVAILABLE (a server that is restarting);
 * - "missing": fails with FAILED_PRECONDITION, reason VALUE_MISSING (it does not hold the value);
 * - "hang": never answers (until the call ends).
 */
export type StoreLie = "endless" | "unavailable" | "missing" | "hang";

export interface HostileStore {
  address: string;
  lie: StoreLie;
  /** The size the endless Get announces. */
  announce: number;
  /** The value Keep reports (its handle and size). */
  readonly kept: Buffer;
  /** Get calls received, and the bytes the endless ones sent before they were cancelled. */
  gets: number;
  sentBytes: number;
  /** Resolves at the next Get call. */
  nextGet(): Promise<void>;
  close(): Promise<void>;
}

const proto = loadPackageDefinition(
  loadSync(["rpcpool/pool/v1/info.proto", "rpcpool/pool/v1/store.proto"], {
    includeDirs: [join(root, "proto")],
    longs: Number,
    defaults: true,
    enums: Number,
  }),
) as any;

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

export async function startHostileStore(lie: StoreLie): Promise<HostileStore> {
  const server = new Server();
  const kept = Buffer.from("a kept result only this server has");
  let waiting: Array<() => void> = [];
  const state: HostileStore = {
    address: "",
    lie,
    announce: 1 << 20,
    kept,
    gets: 0,
    sentBytes: 0,
    nextGet: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {},
  };
  server.addService(proto.rpcpool.pool.v1.InfoService.service, {
    info: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
      callback(null, {
        server: state.address,
        host: "hostile",
        pid: process.pid,
        cores: 1,
        workers: 1,
        methods: [],
      }),
  });
  server.addService(proto.rpcpool.pool.v1.StoreService.service, {
    keep: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
      callback(null, { handle: sha256(kept), size: kept.byteLength }),
    get: async (call: ServerWritableStream<{ handle: string }, unknown>) => {
      state.gets++;
      for (const resolve of waiting.splice(0)) resolve();
      waiting = [];
      let ended = false;
      call.on("cancelled", () => {
        ended = true;
      });
      if (state.lie === "unavailable") {
        call.emit("error", { code: status.UNAVAILABLE, details: "the store is restarting" });
        return;
      }
      if (state.lie === "missing") {
        const details = `value ${call.request.handle} is not in this server's store`;
        const metadata = new Metadata();
        metadata.set(
          statusDetailsKey,
          encodeStatus(status.FAILED_PRECONDITION, details, {
            errorInfo: {
              reason: "VALUE_MISSING",
              domain: "rpcpool",
              metadata: { handle: call.request.handle },
            },
          }),
        );
        call.emit("error", { code: status.FAILED_PRECONDITION, details, metadata });
        return;
      }
      if (state.lie === "hang") return;
      const chunk = Buffer.alloc(1 << 20, 7);
      let first = true;
      while (!ended) {
        const size = first ? state.announce : 0;
        first = false;
        state.sentBytes += chunk.byteLength;
        if (!call.write({ size, chunk })) await new Promise((resolve) => call.once("drain", resolve));
        // Endless, but never more than 4 GiB: a guard for the test machine, not a limit the pool relies on.
        if (state.sentBytes > 4 * 2 ** 30) break;
      }
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
  state.address = `127.0.0.1:${port}`;
  state.close = async () => {
    server.forceShutdown();
  };
  return state;
}
