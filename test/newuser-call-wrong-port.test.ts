import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcpool } from "./support/run-program.js";

// `rpcpool call --servers` pointed at the wrong port, as a new user does: it must say what it
// found there, as column-sums and map do, not grpc-js's bare "UNAVAILABLE: Protocol error".
let web: Server;
let webAddress: string;
let closed: string;
const method = "rpcpool.compute.v1.ComputeService/Means";
beforeAll(async () => {
  web = createHttpServer((_, response) => response.end("a web page\n"));
  await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
  webAddress = `127.0.0.1:${(web.address() as { port: number }).port}`;
  // A port that was free a moment ago: nothing listens there.
  const gone = createServer();
  closed = await new Promise<string>((resolve) =>
    gone.listen(0, "127.0.0.1", () => {
      const address = `127.0.0.1:${(gone.address() as { port: number }).port}`;
      gone.close(() => resolve(address));
    }),
  );
});
afterAll(async () => {
  web.closeAllConnections();
  await new Promise((resolve) => web.close(resolve));
});

describe("rpcpool call on a port that is no gRPC server", () => {
  it("a web server: says it does not speak gRPC, exit 1, no stack", async () => {
    const run = await rpcpool(["call", method, '{"lists":[]}', "--servers", webAddress]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      `error: UNAVAILABLE: no server could be reached (${webAddress}): ${webAddress} does not speak gRPC (is it an rpcpool-server?)`,
    );
  });

  it("a closed port: the hint every command gives, and one JSON document with --json", async () => {
    const run = await rpcpool(["call", method, '{"lists":[]}', "--servers", closed, "--json"]);
    expect(run.code).toBe(1);
    const port = closed.split(":")[1];
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `hint: nothing listens on ${closed}: start rpcpool-server there (rpcpool-server --port ${port}), ` +
        "or drop --servers to run on local servers this command starts",
    );
    expect(run.json()).toEqual({
      errors: [
        { code: "UNAVAILABLE", message: expect.stringContaining(`no server could be reached (${closed})`) },
      ],
    });
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
