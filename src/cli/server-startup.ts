import { InvalidArgumentError } from "commander";
import { StartupError, UsageError } from "./run-program.js";

// A server's start-up failures: a folder that is not there is a usage error (exit 2); a port
// another program holds is the machine's state, not the command line's (exit 1).

/** A --data-root that cannot be served, in words, as a usage error naming the folder. */
export function dataRootFailure(dir: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return new UsageError(`--data-root ${dir}: no such folder`);
  if (code === "ENOTDIR" || /is not a directory$/.test((error as Error)?.message ?? ""))
    return new UsageError(`--data-root ${dir}: not a folder`);
  if (code === "EACCES" || code === "EPERM") return new UsageError(`--data-root ${dir}: permission denied`);
  return error;
}

/**
 * Why the server could not listen, in words. grpc-js says "No address added out of total 1
 * resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:50051]": the listen error
 * inside is what a person needs, with what to do about it.
 */
export function listenFailure(host: string, port: number, error: unknown): unknown {
  const text = (error as Error)?.message ?? "";
  if (/EADDRINUSE/.test(text)) {
    return new StartupError(`port ${port} is already in use on ${host} (try --port 0 for a free one)`);
  }
  if (/EACCES/.test(text)) {
    return new StartupError(`port ${port} on ${host} needs privileges (try a port above 1023, or --port 0)`);
  }
  if (/EADDRNOTAVAIL/.test(text)) {
    return new UsageError(`--host ${host} is not an address of this machine`);
  }
  // grpc-js: "Name resolution failed for target dns:999.1.1.1:0" (a typo, a name no DNS knows).
  if (/Name resolution failed/.test(text)) {
    return new UsageError(
      `--host ${host}: no such address or host name (e.g. 127.0.0.1, or 0.0.0.0 for every interface)`,
    );
  }
  return error;
}

/** grpc-js's own log line for a failed bind, said better by listenFailure: dropped. */
export const isBindLogLine = (message: unknown) =>
  typeof message === "string" && /^No address added out of total \d+ resolved/.test(message);

/**
 * A hosted service that startServer refused (a method without a handler, a definition it cannot
 * host), with --service: the module's fault, said as it is (exit 1), not as an UNKNOWN error.
 */
export function serviceFailure(error: unknown): unknown {
  if (error instanceof TypeError) return new StartupError(error.message);
  return error;
}

/**
 * --metrics HOST:PORT (IPv6 in brackets; a bare PORT means 127.0.0.1: metrics tell which methods
 * a server hosts and how busy it is, so they stay on loopback unless an address is named).
 */
export function metricsAddress(value: string): { host: string; port: number } {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):)?(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65535) {
    throw new InvalidArgumentError(
      `expected HOST:PORT (e.g. 0.0.0.0:9464; port 0 picks a free one), got "${value}"`,
    );
  }
  return { host: match[1]?.replace(/^\[|\]$/g, "") ?? "127.0.0.1", port };
}

/** Why the metrics port could not be served, in words (as listenFailure for the gRPC port). */
export function metricsListenFailure(host: string, port: number, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "EADDRINUSE") return new StartupError(`--metrics: port ${port} is already in use on ${host}`);
  if (code === "EACCES") return new StartupError(`--metrics: port ${port} on ${host} needs privileges`);
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND")
    return new UsageError(`--metrics: ${host} is not an address of this machine`);
  return error;
}
