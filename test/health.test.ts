import { credentials, Metadata, makeClientConstructor, type ServiceError, status } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";

// grpc.health.v1 is served by our own code (src/host/health.ts) on the messages generated from the
// .proto that grpc-health-check ships; this checks it with that package's own client (protobufjs
// codecs, a peer we did not write), call by call, as probes and load balancers use it.
const servers = useServers(1);
const Health = makeClientConstructor(healthService, "Health");
const clients: Array<{ close(): void }> = [];
afterAll(() => {
  for (const client of clients) client.close();
});

function client(): any {
  const made = new Health(servers.servers[0]!.address, credentials.createInsecure());
  clients.push(made);
  return made;
}

function check(service: string): Promise<string> {
  return new Promise((resolve) =>
    client().check(
      { service },
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (error: ServiceError | null, reply: any) =>
        resolve(error ? `${status[error.code]}: ${error.details}` : reply.status),
    ),
  );
}

describe("grpc.health.v1 (our implementation, the reference package's client)", () => {
  it("Check: the server and each hosted service SERVING, another service NOT_FOUND", async () => {
    expect(await check("")).toBe("SERVING");
    expect(await check("rpcpool.compute.v1.ComputeService")).toBe("SERVING");
    expect(await check("no.such.Service")).toBe(
      "NOT_FOUND: Health status unknown for service no.such.Service",
    );
  });

  it("Watch: the current status at once; an unknown service SERVICE_UNKNOWN, its stream left open", async () => {
    const first = (service: string) =>
      new Promise<{ status: string; call: any }>((resolve, reject) => {
        const call = client().watch({ service });
        call.once("data", (reply: any) => resolve({ status: reply.status, call }));
        call.once("error", reject);
      });
    const known = await first("");
    const unknown = await first("no.such.Service");
    expect([known.status, unknown.status]).toEqual(["SERVING", "SERVICE_UNKNOWN"]);
    // Still open: cancelling it is what ends it.
    const ended = new Promise<number>((resolve) =>
      unknown.call.once("error", (e: ServiceError) => resolve(e.code)),
    );
    unknown.call.cancel();
    known.call.cancel();
    expect(await ended).toBe(status.CANCELLED);
  });

  it("List: every status by service name", async () => {
    const names = await new Promise<string[]>((resolve, reject) =>
      client().list(
        {},
        new Metadata(),
        { deadline: Date.now() + 10_000 },
        (error: ServiceError | null, reply: any) =>
          error ? reject(error) : resolve(Object.keys(reply.statuses).sort()),
      ),
    );
    expect(names).toContain("");
    expect(names).toContain("rpcpool.compute.v1.ComputeService");
  });
});
