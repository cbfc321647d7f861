import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultTransportOptions } from "../dist/src/pool/server-connection.js";
import { Http2Transport } from "../dist/src/pool/transport/http2-transport.js";
import { root } from "./support/run-program.js";

// Other gRPC stacks (C-core, as in Python's grpcio; Go) refuse pings more often than
// `min_ping_interval_without_data` (5 minutes by default) on a connection whose server sends
// nothing, and close it ("too_many_pings"), killing the call. The test shortens the server's
// interval to 2 s and scales the client's settings the same way: a call of 8 s survives with
// pings kept at or above the server's interval, and dies with pings every 0.3 s.

function findPython(): string | undefined {
  const candidates = [process.env.RPCPOOL_PYTHON, "python3", "/usr/bin/python3"].filter(Boolean);
  return candidates.find(
    (python) => spawnSync(python!, ["-c", "import grpc"], { stdio: "ignore" }).status === 0,
  );
}
const python = findPython();
const skipReason = python ? undefined : "no python3 with grpc (apt-get install python3-grpcio)";
if (skipReason) console.warn(`keepalive interop test skipped: ${skipReason}`);

const serverMinPingMs = 2000;
const wait = {
  path: "/test.Silent/Wait",
  name: "wait",
  idempotency: "IDEMPOTENCY_UNKNOWN",
  requestStream: false,
  responseStream: false,
  requestSerialize: (seconds: number) => Buffer.from(String(seconds)),
  requestDeserialize: (bytes: Buffer) => Number(bytes.toString()),
  responseSerialize: (value: Buffer) => value,
  responseDeserialize: (bytes: Buffer) => bytes,
} as never;

let server: ChildProcess | undefined;
let address = "";
beforeAll(async () => {
  if (!python) return;
  server = spawn(python, [join(root, "test/python/silent_server.py"), String(serverMinPingMs)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const [port] = (await once(createInterface({ input: server.stdout! }), "line")) as [string];
  address = `127.0.0.1:${port.trim()}`;
});
afterAll(() => server?.stdin?.end());

/** An 8-second silent call over a transport pinging after 0.3 s of silence, at most every `minIntervalMs`. */
async function silentCall(minIntervalMs: number) {
  const transport = new Http2Transport(address, {
    keepaliveMs: 300,
    keepaliveMinIntervalMs: minIntervalMs,
    keepaliveTimeoutMs: 5000,
  });
  try {
    await transport.unary(wait, 8, { deadline: Date.now() + 30_000, metadata: {} });
    return "OK";
  } catch (error) {
    return `${(error as { codeName?: string }).codeName}: ${(error as Error).message}`;
  } finally {
    transport.close();
  }
}

describe.skipIf(!python)("keepalive against a grpcio server on its default ping policy", () => {
  it("by default, pings no more often than C-core and Go servers allow (5 minutes)", () => {
    expect(defaultTransportOptions.keepaliveMinIntervalMs).toBeGreaterThanOrEqual(300_000);
  });

  it("a silent call of 4x the server's ping interval survives pings kept at that interval", async () => {
    expect(await silentCall(serverMinPingMs + 200)).toBe("OK");
  }, 30_000);

  it("(control) pinging more often gets the connection closed for too many pings", async () => {
    expect(await silentCall(300)).not.toBe("OK");
  }, 30_000);
});
