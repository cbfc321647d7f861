import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { startServerProgram } from "./run-program.js";

/** Why the queue tests cannot run here, or undefined when redis-server is installed. */
export const noRedis: string | undefined = spawnSync("redis-server", ["--version"]).error
  ? "redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)"
  : undefined;

/** A free TCP port on 127.0.0.1 (redis-server cannot be told to pick one itself). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, "close");
  return port;
}

export interface RedisProcess {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** A real redis-server on a free port, with no persistence of its own; `password` sets requirepass. */
export async function startRedis(options: { password?: string } = {}): Promise<RedisProcess> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (options.password) args.push("--requirepass", options.password);
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 20_000);
    child.stdout!.on("data", (d) => {
      output += d;
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : "";
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGKILL");
      await once(child, "exit");
    },
  };
}

export interface QueueServer {
  child: ChildProcess;
  address: string;
  stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A real rpcpool-server process that also works the queue (--queue), with a short task lock. */
export async function startQueueServer(queue: string, args: string[] = []): Promise<QueueServer> {
  const { child, address, stderr } = await startServerProgram([
    "--port",
    "0",
    "--workers",
    "1",
    "--queue",
    queue,
    "--queue-lock-ms",
    "1000",
    ...args,
  ]);
  return {
    child,
    address,
    stderr,
    kill: async (signal = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await once(child, "exit");
    },
  };
}
