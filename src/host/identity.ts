import { hostname } from "node:os";
import type { ServedBy } from "../gen/rpcpool/pool/v1/batch.js";

/** Who this server is, stamped on replies so that a client can say which server computed what. */
export interface ServerIdentity {
  /** The server's name (--name, default HOST:PORT); set once the server is bound. */
  server: string;
  host: string;
  pid: number;
}

export function serverIdentity(name: string): ServerIdentity {
  return { server: name, host: hostname(), pid: process.pid };
}

/** The identity as a reply's ServedBy, with the worker thread that did the work (0: the event loop). */
export function servedBy(identity: ServerIdentity, threadId = 0): ServedBy {
  return { ...identity, threadId };
}
