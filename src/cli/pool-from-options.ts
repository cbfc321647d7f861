import { availableParallelism } from "node:os";
import { Pool } from "../client/pool.js";
import type { PoolEvent } from "../client/scheduler.js";
import { UsageError } from "./usage-error.js";

/** Options every client command shares. */
export interface CommonOptions {
  servers?: string;
  local?: number;
  json?: boolean;
  retries?: number;
}

/** Parses "host:port,host:port" into addresses, refusing what cannot be one. */
export function parseServerList(value: string): string[] {
  const addresses = value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  if (addresses.length === 0) throw new UsageError("--servers needs at least one HOST:PORT");
  for (const address of addresses) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/.test(address) && !address.includes("///")) {
      throw new UsageError(`--servers: "${address}" is not HOST:PORT`);
    }
  }
  return addresses;
}

/**
 * The pool a command runs on: the servers named by --servers, or else local servers on loopback
 * that live as long as the command (the embedded default).
 */
export async function poolFromOptions(
  options: CommonOptions,
  onEvent?: (event: PoolEvent) => void,
): Promise<Pool> {
  const onWarning = (message: string) => process.stderr.write(`warning: ${message}\n`);
  if (options.servers !== undefined) {
    return Pool.connect(parseServerList(options.servers), { onWarning, onEvent, retries: options.retries });
  }
  return Pool.local({
    servers: options.local ?? availableParallelism(),
    onWarning,
    onEvent,
    retries: options.retries,
  });
}
