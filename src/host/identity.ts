import { hostname } from "node:os";
import type { ServedBy } from "../gen/rpcpool/compute/v1/table.js";

/** Who this server is, stamped on every reply (the lesson prints the worker of every call). */
export interface ServerIdentity {
  server: string;
  host: string;
  pid: number;
}

export function serverIdentity(name: string): ServerIdentity {
  return { server: name, host: hostname(), pid: process.pid };
}

export function servedBy(identity: ServerIdentity, threadId = 0): ServedBy {
  return { ...identity, threadId };
}
