import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { build } from "esbuild";
import { root } from "./run-program.js";
import { tempDir } from "./temp-dir.js";

/**
 * gRPC's interop test server (test/proto/grpc/testing) as plain gRPC servers in processes of
 * their own, with no rpcpool in them: grpc-js's (test/support/interop-server.ts, bundled into one
 * file) and Python grpcio's (test/python/interop_server.py). Each prints its port and serves until
 * its stdin closes; `kill` takes one down hard, as a crashed machine.
 */
export interface InteropProcess {
  kind: "grpc-js" | "python";
  address: string;
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<void>;
  /** Closes stdin (a clean stop) and waits for the exit. */
  stop(): Promise<void>;
}

/** A python3 that has grpcio and grpc_tools (Debian's packages are seen by /usr/bin/python3 only). */
export function findPython(): string | undefined {
  const candidates = [process.env.RPCPOOL_PYTHON, "python3", "/usr/bin/python3"].filter(Boolean);
  return candidates.find(
    (python) =>
      spawnSync(python!, ["-c", "import grpc, grpc_tools.protoc"], { stdio: "ignore" }).status === 0,
  );
}

/** grpc's TestService compiled for Python (interop_test_pb2*.py) into `dir`. */
export function pythonInteropStubs(python: string, dir: string): void {
  // A copy named apart from grpc/testing/: that module path would shadow grpcio's `grpc` package.
  const protos = join(dir, "protos");
  mkdirSync(protos);
  copyFileSync(join(root, "test/proto/grpc/testing/test.proto"), join(protos, "interop_test.proto"));
  execFileSync(python, [
    "-m",
    "grpc_tools.protoc",
    "-I",
    protos,
    `--python_out=${dir}`,
    `--grpc_python_out=${dir}`,
    "interop_test.proto",
  ]);
}

/** Builds what the servers run (once per test file); `start` then starts as many as a test needs. */
export async function interopPrograms(python = findPython()) {
  const tmp = tempDir("rpcpool-interop-processes-");
  const bundle = join(tmp.dir, "interop-server.cjs");
  await build({
    entryPoints: [join(root, "test/support/interop-server-main.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    outfile: bundle,
    logLevel: "error",
  });
  if (python) pythonInteropStubs(python, tmp.dir);
  const started = new Set<ChildProcess>();
  return {
    python,
    async start(kind: InteropProcess["kind"]): Promise<InteropProcess> {
      if (kind === "python" && !python) throw new Error("no python3 with grpcio");
      const child =
        kind === "python"
          ? spawn(python!, [join(root, "test/python/interop_server.py"), "--stubs", tmp.dir], {
              stdio: ["pipe", "pipe", "inherit"],
            })
          : spawn(process.execPath, [bundle], { stdio: ["pipe", "pipe", "inherit"] });
      started.add(child);
      const exited = once(child, "exit").then(() => started.delete(child));
      const [port] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
      return {
        kind,
        address: `127.0.0.1:${port.trim()}`,
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          await exited;
        },
        stop: async () => {
          child.stdin!.end();
          await exited;
        },
      };
    },
    /** Stops every server still running and removes the built files. */
    async cleanup() {
      await Promise.all(
        [...started].map((child) => {
          child.kill("SIGKILL");
          return once(child, "exit");
        }),
      );
      tmp.cleanup();
    },
  };
}
