import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** A server this client started on loopback, and how to stop it. */
export interface StartedServer {
  address: string;
  stop(): Promise<void>;
}

/** A server process this client started on loopback. */
export interface LocalServer extends StartedServer {
  process: ChildProcess;
}

export interface LocalServerOptions {
  /**
   * The server program to start: a Node script that takes --host, --port, --workers and
   * --exit-with-stdin (stop when standard input closes) and prints `listening on HOST:PORT` first,
   * as rpcpool-server does (examples/stats-service/server.ts is one); default: rpcpool-server.
   */
  program?: string;
  workers?: number;
  /** Extra arguments for rpcpool-server. */
  args?: string[];
  /** How long a server may take to say it listens. */
  startTimeoutMs?: number;
  /** Where the server's stderr goes; default ours. */
  stderr?: "inherit" | "ignore" | "pipe";
}

/** The built server program, found from this module whether it runs from src/ or dist/src/. */
export function serverProgramPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [join(dir, "server", "main.js"), join(dir, "dist", "server", "main.js")]) {
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("rpcpool-server is not built: run `npm run build`");
    dir = parent;
  }
}

/**
 * Starts one rpcpool-server on 127.0.0.1 with a free port and waits for its `listening on` line.
 * The server exits when our end of its stdin closes, so it cannot outlive this process.
 */
export function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  // Messages name the program started: a person who gave their own must not be told of ours.
  const name = options.program ?? "rpcpool-server";
  if (options.program !== undefined && !existsSync(options.program)) {
    return Promise.reject(new Error(`the server program ${options.program} does not exist`));
  }
  const args = [
    options.program ?? serverProgramPath(),
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--exit-with-stdin",
  ];
  if (options.program === undefined) args.push("--quiet");
  if (options.workers) args.push("--workers", String(options.workers));
  args.push(...(options.args ?? []));
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", options.stderr ?? "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => {
      clearTimeout(timer);
      const match = /^listening on (.+)$/.exec(line);
      if (!match) {
        child.kill("SIGKILL");
        reject(new Error(`unexpected first line from ${name}: ${line}`));
        return;
      }
      // Keep reading so the server never blocks on a full stdout pipe.
      lines.on("line", () => {});
      const stop = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      };
      resolve({ address: match[1]!, process: child, stop });
    });
  });
}

/** Starts n local servers at once. If one fails to start, the others are stopped. */
export async function startLocalServers(n: number, options: LocalServerOptions = {}): Promise<LocalServer[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, () => startLocalServer(options)));
  const servers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failure = started.find((s) => s.status === "rejected");
  if (failure) {
    await Promise.all(servers.map((server) => server.stop()));
    throw (failure as PromiseRejectedResult).reason;
  }
  return servers;
}
