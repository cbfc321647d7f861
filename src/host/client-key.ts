import { AsyncLocalStorage } from "node:async_hooks";
import type { Metadata } from "@grpc/grpc-js";

/** The metadata a client may name itself with; without it, its connection is the client. */
export const clientHeader = "rpcpool-client";
/** The metadata that orders a client's own calls on the worker threads (higher first). */
export const priorityHeader = "rpcpool-priority";

/** Names longer than this are cut: the key is kept per waiting client, and logged. */
const maxNameLength = 128;
/** Priorities are clamped to this range (an integer). */
export const maxPriority = 1_000_000;

/** Who a call is for, on the server: the turns of the worker threads (fair-queue.ts) and --max-calls-per-client. */
export interface CallClient {
  /** `name:<rpcpool-client>` or `peer:<the connection's peer>`. */
  client: string;
  priority: number;
}

/**
 * The client of a call: the name it gives itself in `rpcpool-client` metadata (one token holder
 * may use several, e.g. one per user or job), else its connection (grpc-js's peer: one HTTP/2
 * session). Names and connections have separate key spaces, so a name cannot pose as a peer.
 */
export function callClient(metadata: Metadata, peer: string): CallClient {
  const name = metadata.get(clientHeader)[0];
  const client =
    typeof name === "string" && name !== "" ? `name:${name.slice(0, maxNameLength)}` : `peer:${peer}`;
  return { client, priority: parsePriority(metadata.get(priorityHeader)[0]) };
}

/** An integer priority from metadata; anything else is 0 (the default), out of range is clamped. */
export function parsePriority(value: unknown): number {
  if (typeof value !== "string" || !/^[+-]?\d{1,16}$/.test(value.trim())) return 0;
  return Math.max(-maxPriority, Math.min(maxPriority, Number.parseInt(value.trim(), 10)));
}

/**
 * The client of the call whose handler is running, for the worker pool: a service passes only
 * its signal to `runOnWorker` (or calls the tools it got at start-up), so the call's client
 * travels with the handler's async context, as its trace span does. One per server, not global.
 */
export class ClientScope {
  readonly #storage = new AsyncLocalStorage<CallClient>();

  /** Runs `fn` (and everything it starts) as work of `client`. */
  run<T>(client: CallClient, fn: () => T): T {
    return this.#storage.run(client, fn);
  }

  /** The client of the running handler, if any (in-process work has none). */
  get current(): CallClient | undefined {
    return this.#storage.getStore();
  }
}
