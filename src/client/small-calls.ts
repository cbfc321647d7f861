import type { ServedBy } from "../gen/rpcpool/compute/v1/table.js";
import type { CallControls } from "./call-options.js";
import type { ServerConnection } from "./server-connection.js";
import { unaryCall } from "./unary-call.js";

/** Deadline of the small computations: they take microseconds; a minute means something is wrong. */
export const smallTimeoutMs = 60_000;

export interface CirclesResult {
  radii: number[];
  lengths: number[];
  areas: number[];
  servedBy: ServedBy;
}

export async function circlesCall(
  server: ServerConnection,
  radii: number[],
  pi?: number,
  controls: CallControls = {},
): Promise<CirclesResult> {
  const reply = await unaryCall(
    server.compute.circles.bind(server.compute),
    { radii, pi: pi ?? 0 },
    server.metadata(),
    controls,
    smallTimeoutMs,
    server.address,
  );
  return { radii, lengths: reply.lengths, areas: reply.areas, servedBy: reply.servedBy! };
}

export async function meansCall(
  server: ServerConnection,
  lists: number[][],
  controls: CallControls = {},
): Promise<{ means: number[]; servedBy: ServedBy }> {
  const reply = await unaryCall(
    server.compute.means.bind(server.compute),
    { lists: lists.map((values) => ({ values })) },
    server.metadata(),
    controls,
    smallTimeoutMs,
    server.address,
  );
  return { means: reply.means, servedBy: reply.servedBy! };
}

export interface TimedResult {
  servedBy: ServedBy;
  elapsedMs: number;
}

export async function sleepCall(server: ServerConnection, milliseconds: number, controls: CallControls = {}) {
  const reply = await unaryCall(
    server.demo.sleep.bind(server.demo),
    { milliseconds },
    server.metadata(),
    controls,
    milliseconds + smallTimeoutMs,
    server.address,
  );
  return { servedBy: reply.servedBy!, elapsedMs: reply.elapsedMs } satisfies TimedResult;
}

export async function spinCall(server: ServerConnection, iterations: number, controls: CallControls = {}) {
  const reply = await unaryCall(
    server.demo.spin.bind(server.demo),
    { iterations },
    server.metadata(),
    controls,
    10 * smallTimeoutMs,
    server.address,
  );
  return { count: reply.count, servedBy: reply.servedBy!, elapsedMs: reply.elapsedMs };
}
