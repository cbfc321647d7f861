import { setMaxListeners } from "node:events";
import { status } from "@grpc/grpc-js";
import { ClientError } from "./client-error.js";
import { isRetryable, type PoolEvent } from "./scheduler.js";
import type { ServerConnection } from "./server-connection.js";

export interface ApplyOptions {
  retries?: number;
  signal?: AbortSignal;
  onEvent?: (event: PoolEvent) => void;
}

// Handed to calls that have no signal of their own; never aborts, and every call removes its
// listener when it ends.
const noSignal = new AbortController().signal;
setMaxListeners(0, noSignal);

/**
 * One call on the least busy server, moved to another when its server fails (the scheduler's
 * rules, without its queue): the pool's `apply`, a single call as cheap as it can be.
 */
export async function applyOne<R>(
  servers: readonly ServerConnection[],
  fn: (server: ServerConnection, signal: AbortSignal) => Promise<R>,
  options: ApplyOptions = {},
): Promise<R> {
  const retries = options.retries ?? 3;
  const tried = new Set<ServerConnection>();
  for (;;) {
    let server: ServerConnection | undefined;
    for (const candidate of servers)
      if (!tried.has(candidate) && (!server || candidate.load < server.load)) server = candidate;
    if (!server) {
      throw new ClientError(status.UNAVAILABLE, `no server left to run this call (tried ${tried.size})`);
    }
    tried.add(server);
    options.onEvent?.({ type: "started", index: 0, server: server.name });
    server.inFlight++;
    try {
      const value = await fn(server, options.signal ?? noSignal);
      options.onEvent?.({ type: "done", index: 0, server: server.name });
      return value;
    } catch (caught) {
      const error = ClientError.from(caught, server.address);
      const serversFault = isRetryable(error) && !options.signal?.aborted;
      if (serversFault) server.lastFailureAt = Date.now();
      if (serversFault && tried.size <= retries) {
        options.onEvent?.({ type: "server-lost", server: server.name, error });
        options.onEvent?.({ type: "retried", index: 0, from: server.name, error });
        continue;
      }
      options.onEvent?.({ type: "failed", index: 0, server: server.name, error });
      throw error;
    } finally {
      server.inFlight--;
    }
  }
}
