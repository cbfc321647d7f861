import { readdirSync, writeFileSync } from "node:fs";
import { type ClientHttp2Session, connect as http2Connect } from "node:http2";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import {
  Client,
  credentials,
  Metadata,
  makeClientConstructor,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { InfoServiceDefinition, type LocalServer, methodsOf, startLocalServer } from "rpcpool/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "./support/temp-dir.js";

// Issue 17: one client must not lock the others out of a server. Each test holds a light version
// of an attack over real sockets (idle HTTP/2 connections, silent TCP ones, unauthenticated health
// Watches) and checks that a new client is still served: its call must succeed with a 1 s deadline
// (three tries, each on a new connection, so that one unlucky eviction race cannot fail the test).

const tmp = tempDir();
const tokenFile = join(tmp.dir, "token");
writeFileSync(tokenFile, "s3cret\n");
const servers: Record<string, LocalServer> = {};
const held: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  const start = async (name: string, args: string[]) => {
    servers[name] = await startLocalServer({ workers: 1, stderr: "ignore", args });
  };
  await Promise.all([
    // Default limits: 1,000 connections, 100 per address (and every test connection is 127.0.0.1).
    start("defaults", []),
    // The cap per address out of the way: what makes room is the server-wide eviction.
    start("wide", ["--max-connections-per-address", "100000", "--preface-timeout-ms", "600000"]),
    start("guarded", ["--token-file", tokenFile, "--max-calls", "200"]),
  ]);
});
afterEach(() => {
  for (const h of held.splice(0)) h.destroy();
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  tmp.cleanup();
});

const bearer = (token = "s3cret") => {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
};

/** One Info call from a new client on a connection of its own, with a 1 s deadline. */
function newClientInfo(address: string, metadata = new Metadata()): Promise<string> {
  const info = methodsOf(InfoServiceDefinition).info!;
  // A subchannel pool of its own: a new TCP connection, as a new client process would open.
  const client = new Client(address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      info.path,
      (request: object) => info.requestSerialize(request),
      (bytes: Buffer) => bytes,
      {},
      metadata,
      { deadline: Date.now() + 1000 },
      (error: ServiceError | null) => {
        client.close();
        resolve(error ? `${status[error.code]}: ${error.details}` : "OK");
      },
    );
  });
}

async function servedWithin1s(address: string, metadata?: Metadata): Promise<string> {
  let outcome = "";
  for (let attempt = 0; attempt < 3 && outcome !== "OK"; attempt++)
    outcome = await newClientInfo(address, metadata);
  return outcome;
}

const fds = (server: LocalServer) => readdirSync(`/proc/${server.process.pid}/fd`).length;

/** Waits until the server has seen the end of the connections an earlier test held. */
const settled = (server: LocalServer) =>
  expect.poll(() => fds(server), { timeout: 20_000 }).toBeLessThan(200);

/**
 * n HTTP/2 connections that send the preface and SETTINGS, then one health call each: a Watch, or
 * a Check whose request message never comes (its headers only), then nothing.
 */
async function idleHttp2(
  address: string,
  n: number,
  call: "watch" | "stalled check",
): Promise<ClientHttp2Session[]> {
  const sessions: ClientHttp2Session[] = [];
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const session = http2Connect(`http://${address}`);
          sessions.push(session);
          held.push(session);
          session.on("error", () => {});
          session.once("close", () => resolve());
          session.once("remoteSettings", () => {
            const stream = session.request({
              ":method": "POST",
              ":path": `/grpc.health.v1.Health/${call === "watch" ? "Watch" : "Check"}`,
              "content-type": "application/grpc",
              te: "trailers",
            });
            stream.on("error", () => {});
            stream.resume();
            // One empty HealthCheckRequest (service ""): a 5-byte gRPC frame.
            if (call === "watch") stream.end(Buffer.alloc(5));
            resolve();
          });
        }),
    ),
  );
  return sessions;
}

/** n TCP connections that never say a word. */
async function silentSockets(address: string, n: number): Promise<Socket[]> {
  const port = Number(address.split(":").pop());
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = connect({ host: "127.0.0.1", port });
          held.push(socket);
          socket.on("error", () => {});
          socket.resume();
          socket.once("connect", () => resolve(socket));
          socket.once("close", () => resolve(socket));
        }),
    ),
  );
}

/**
 * An attacker that keeps the server full from 10 addresses (127.0.0.2-11, 100 silent connections
 * each, the cap per address): each connection the server closes is opened again at once.
 */
function refillingSilent(address: string) {
  const port = Number(address.split(":").pop());
  let stopped = false;
  let opened = 0;
  const open = (localAddress: string) => {
    if (stopped) return;
    opened++;
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    held.push(socket);
    socket.on("error", () => {});
    socket.resume();
    socket.once("close", () => setImmediate(() => open(localAddress)));
  };
  for (let a = 2; a < 12; a++) for (let i = 0; i < 100; i++) open(`127.0.0.${a}`);
  return {
    opened: () => opened,
    stop: () => {
      stopped = true;
    },
  };
}

describe("a new client is served while one client holds connections", () => {
  it("1,000 idle HTTP/2 connections with a Watch each, on default limits", async () => {
    const address = servers.defaults!.address;
    await idleHttp2(address, 1000, "watch");
    expect(await servedWithin1s(address)).toBe("OK");
  });

  it("1,000 idle HTTP/2 connections filling --max-connections: the oldest unproven one makes room", async () => {
    const server = servers.wide!;
    await settled(server);
    const sessions = await idleHttp2(server.address, 1000, "watch");
    // The server really holds the flood (every slot taken), not fewer.
    expect(sessions.filter((s) => !s.closed && !s.destroyed).length).toBe(1000);
    expect(fds(server)).toBeGreaterThanOrEqual(1000);
    expect(await servedWithin1s(server.address)).toBe("OK");
  });

  it("1,000 connections with a health Check each whose request never comes", async () => {
    const server = servers.wide!;
    await settled(server);
    const sessions = await idleHttp2(server.address, 1000, "stalled check");
    expect(sessions.filter((s) => !s.closed && !s.destroyed).length).toBe(1000);
    expect(await servedWithin1s(server.address)).toBe("OK");
  });

  it("3,000 silent TCP connections, on default limits and with the cap per address out of the way", async () => {
    for (const server of [servers.defaults!, servers.wide!]) {
      await silentSockets(server.address, 3000);
      expect(await servedWithin1s(server.address)).toBe("OK");
      for (const h of held.splice(0)) h.destroy();
    }
  });

  it("an attacker from 10 addresses keeping every slot full, refilling each one closed", async () => {
    const server = servers.defaults!;
    const attacker = refillingSilent(server.address);
    try {
      // The server holds the flood: 1,000 connections, the default cap.
      await expect.poll(() => fds(server), { timeout: 20_000 }).toBeGreaterThanOrEqual(1000);
      expect(await servedWithin1s(server.address)).toBe("OK");
    } finally {
      attacker.stop();
    }
  });
});

/** Opens a grpc.health.v1 Watch without a token; resolves "open" at its first status, or its refusal. */
function openWatch(client: any): Promise<string> {
  return new Promise((resolve) => {
    const call = client.watch({ service: "" });
    held.push({ destroy: () => call.cancel() });
    call.on("error", (error: ServiceError) => resolve(`${status[error.code]}: ${error.details}`));
    call.once("data", () => resolve("open"));
  });
}

describe("health on a server with a token", () => {
  it("250 unauthenticated Watches do not fill --max-calls 200: they have their own cap", async () => {
    const address = servers.guarded!.address;
    const Health = makeClientConstructor(healthService, "Health");
    const client = new Health(address, credentials.createInsecure()) as any;
    held.push({ destroy: () => client.close() });
    const outcomes = await Promise.all(Array.from({ length: 250 }, () => openWatch(client)));
    expect(outcomes.filter((o) => o === "open").length).toBe(100);
    expect(outcomes.find((o) => o !== "open")).toBe(
      "RESOURCE_EXHAUSTED: too many health Watch streams open on this server (limit 100, --max-health-watches)",
    );
    expect(await servedWithin1s(address, bearer())).toBe("OK");
    expect(await check(address, "")).toBe("SERVING");
  });

  it("250 unauthenticated Checks whose request never comes give their places back after 5 s", async () => {
    const address = servers.guarded!.address;
    const session = http2Connect(`http://${address}`);
    held.push(session);
    session.on("error", () => {});
    const statuses = await Promise.all(
      Array.from({ length: 250 }, () => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/grpc.health.v1.Health/Check",
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", () => {});
        stream.resume();
        return new Promise<string>((resolve) => {
          const take = (headers: Record<string, unknown>) => {
            if (headers["grpc-status"] !== undefined) {
              resolve(`${headers["grpc-status"]}: ${decodeURIComponent(String(headers["grpc-message"]))}`);
            }
          };
          stream.on("response", take);
          stream.on("trailers", take);
        });
      }),
    );
    // 200 held --max-calls until their time was up; the 50 beyond were refused at once.
    expect(statuses.filter((s) => s.startsWith(`${status.RESOURCE_EXHAUSTED}:`)).length).toBe(50);
    expect(statuses.filter((s) => s.startsWith(`${status.CANCELLED}:`))[0]).toBe(
      `${status.CANCELLED}: the request did not come within 5000 ms of the call's headers`,
    );
    expect(await servedWithin1s(address, bearer())).toBe("OK");
  }, 20_000);

  it("answers the server's status to anyone, a named service's only with the token", async () => {
    const address = servers.guarded!.address;
    expect(await check(address, "")).toBe("SERVING");
    expect(await check(address, "rpcpool.compute.v1.ComputeService")).toMatch(
      /^UNAUTHENTICATED: the health of a named service needs the bearer token/,
    );
    expect(await check(address, "no.such.Service")).toMatch(/^UNAUTHENTICATED/);
    expect(await check(address, "no.such.Service", bearer("wrong"))).toMatch(/^UNAUTHENTICATED/);
    expect(await check(address, "rpcpool.compute.v1.ComputeService", bearer())).toBe("SERVING");
    expect(await check(address, "no.such.Service", bearer())).toMatch(/^NOT_FOUND/);
    expect(await list(address)).toMatch(/^UNAUTHENTICATED/);
    expect(await list(address, bearer())).toContain("rpcpool.compute.v1.ComputeService");
  });
});

function check(address: string, service: string, metadata = new Metadata()): Promise<string> {
  const Health = makeClientConstructor(healthService, "Health");
  const client = new Health(address, credentials.createInsecure()) as any;
  return new Promise((resolve) => {
    client.check(
      { service },
      metadata,
      { deadline: Date.now() + 5000 },
      (error: ServiceError | null, reply: any) => {
        client.close();
        resolve(error ? `${status[error.code]}: ${error.details}` : reply.status);
      },
    );
  });
}

function list(address: string, metadata = new Metadata()): Promise<string> {
  const Health = makeClientConstructor(healthService, "Health");
  const client = new Health(address, credentials.createInsecure()) as any;
  return new Promise((resolve) => {
    client.list({}, metadata, { deadline: Date.now() + 5000 }, (error: ServiceError | null, reply: any) => {
      client.close();
      resolve(error ? `${status[error.code]}: ${error.details}` : Object.keys(reply.statuses).join(","));
    });
  });
}
