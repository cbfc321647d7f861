import { join } from "node:path";
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServerReadableStream,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { root } from "./run-program.js";

/**
 * A gRPC server written apart from rpcpool's (grpc-js and proto-loader, from the .proto files),
 * that speaks the lesson's contract but answers what the test tells it to: honest replies, replies
 * with fields missing, short lists, NaN, or none at all. It stands in for a broken or hostile
 * server, which rpcpool's own cannot be made to be.
 */
export type Lie =
  | "honest"
  | "no-served-by"
  | "short"
  | "nan"
  | "wrong-bytes"
  | "wrong-columns"
  | "short-batch"
  | "hang";

export interface LyingServer {
  address: string;
  /** What it answers from now on. */
  lie: Lie;
  /** With lie "hang": columnSums calls answered honestly before it holds the rest (default 0). */
  answerFirst: number;
  /** Calls it has answered (or held), by method name. */
  calls: Record<string, number>;
  close(): Promise<void>;
}

const proto = loadPackageDefinition(
  loadSync(
    [
      "rpcpool/compute/v1/compute.proto",
      "rpcpool/compute/v1/demo.proto",
      "rpcpool/pool/v1/info.proto",
      "rpcpool/pool/v1/batch.proto",
    ],
    { includeDirs: [join(root, "proto")], longs: Number, defaults: true, enums: Number },
  ),
) as any;

/** Sums of a small `;` table of whole numbers, honestly, as the lesson's server would send them. */
function sumsOf(text: string) {
  const rows = text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.split(";").map(Number));
  const columns = rows[0]?.length ?? 0;
  const sums = Array.from({ length: columns }, (_, c) => rows.reduce((s, row) => s + row[c]!, 0));
  return { rows: rows.length, columns, sums };
}

export async function startLyingServer(name?: string): Promise<LyingServer> {
  const server = new Server();
  const state: LyingServer = {
    address: "",
    lie: "honest",
    answerFirst: 0,
    calls: {},
    close: async () => {},
  };
  const servedBy = () =>
    state.lie === "no-served-by"
      ? undefined
      : { server: name ?? state.address, host: "liar", pid: process.pid, threadId: 0 };
  const held: Array<() => void> = [];
  const count = (method: string) => {
    state.calls[method] = (state.calls[method] ?? 0) + 1;
  };
  const hold = () => new Promise<void>((resolve) => held.push(resolve));

  server.addService(proto.rpcpool.pool.v1.InfoService.service, {
    info: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
      callback(null, {
        server: name ?? state.address,
        host: "liar",
        pid: process.pid,
        cores: 1,
        workers: 1,
        methods: [],
      }),
  });
  server.addService(proto.rpcpool.compute.v1.ComputeService.service, {
    columnSums: async (call: ServerReadableStream<any, unknown>, callback: sendUnaryData<unknown>) => {
      count("columnSums");
      const honest = state.calls.columnSums! <= state.answerFirst;
      const chunks: Buffer[] = [];
      for await (const message of call) if (message.chunk) chunks.push(message.chunk);
      if (state.lie === "hang" && !honest) await hold();
      const bytes = chunks.reduce((n, c) => n + c.length, 0);
      const { rows, columns, sums } = sumsOf(Buffer.concat(chunks).toString());
      callback(null, {
        rows,
        columns: state.lie === "wrong-columns" ? columns + 1 : columns,
        sums: state.lie === "short" ? sums.slice(1) : state.lie === "nan" ? sums.map(() => Number.NaN) : sums,
        exact: sums.map((s) => ({ partials: [s], scaled: [] })),
        servedBy: servedBy(),
        bytes: state.lie === "wrong-bytes" ? bytes + 1 : bytes,
      });
    },
    circles: (call: ServerUnaryCall<any, unknown>, callback: sendUnaryData<unknown>) => {
      count("circles");
      const radii: number[] = call.request.radii;
      const lengths = radii.map((r) => 2 * Math.PI * r);
      callback(null, {
        lengths:
          state.lie === "short"
            ? lengths.slice(1)
            : state.lie === "nan"
              ? lengths.map(() => Number.NaN)
              : lengths,
        areas: radii.map((r) => Math.PI * r * r),
        servedBy: servedBy(),
      });
    },
  });
  server.addService(proto.rpcpool.compute.v1.DemoService.service, {
    spin: (call: ServerUnaryCall<any, unknown>, callback: sendUnaryData<unknown>) => {
      count("spin");
      callback(null, { count: call.request.iterations, servedBy: servedBy(), elapsedMs: 1 });
    },
    sleep: async (call: ServerUnaryCall<any, unknown>, callback: sendUnaryData<unknown>) => {
      count("sleep");
      if (state.lie === "hang") await hold();
      callback(null, {
        servedBy: servedBy(),
        elapsedMs: state.lie === "nan" ? Number.NaN : call.request.milliseconds,
      });
    },
  });
  server.addService(proto.rpcpool.pool.v1.BatchService.service, {
    invoke: (call: ServerUnaryCall<any, unknown>, callback: sendUnaryData<unknown>) => {
      count("batch");
      const requests: Buffer[] = call.request.requests;
      if (!call.request.method.endsWith("/Circles")) {
        callback({ code: status.UNIMPLEMENTED, details: "the lying server batches Circles only" });
        return;
      }
      const circles = proto.rpcpool.compute.v1.ComputeService.service.Circles;
      const results = requests.map((bytes) => {
        const { radii } = circles.requestDeserialize(bytes);
        const reply = {
          lengths: radii.map((r: number) => (state.lie === "nan" ? Number.NaN : 2 * Math.PI * r)),
          areas: radii.map((r: number) => Math.PI * r * r),
          servedBy: servedBy(),
        };
        return {
          response: circles.responseSerialize(reply),
          code: 0,
          message: "",
          statusDetails: Buffer.alloc(0),
        };
      });
      callback(null, { results: state.lie === "short-batch" ? results.slice(1) : results });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
  state.address = `127.0.0.1:${port}`;
  state.close = async () => {
    for (const release of held.splice(0)) release();
    server.forceShutdown();
  };
  return state;
}
