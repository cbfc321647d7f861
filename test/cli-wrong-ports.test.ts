import { createServer as createHttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcpool } from "./support/run-program.js";

// --servers pointing at the wrong port: a web server, some other TCP service, or nothing at all.
// Each says what it found there and what to do, not grpc-js's or Node's "Protocol error".
const listening: Server[] = [];
const at = (server: Server) => `127.0.0.1:${(server.address() as { port: number }).port}`;
const listen = async (server: Server) => {
  listening.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return at(server);
};
let web: string;
let echo: string;
let closed: string;
beforeAll(async () => {
  web = await listen(createHttpServer((_, response) => response.end("a web page\n")));
  echo = await listen(
    createServer((socket) => {
      socket.on("error", () => {});
      socket.pipe(socket);
    }),
  );
  // A port that was free a moment ago: nothing listens there.
  const gone = createServer();
  closed = await new Promise<string>((resolve) =>
    gone.listen(0, "127.0.0.1", () => {
      const address = at(gone);
      gone.close(() => resolve(address));
    }),
  );
});
afterAll(async () => {
  for (const server of listening) {
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe("--servers at a port that is not an rpcpool-server", () => {
  for (const [name, target] of [
    ["an HTTP/1 web server", () => web],
    ["a plain TCP echo", () => echo],
  ] as const) {
    it(`${name}: says it does not speak gRPC`, async () => {
      const run = await rpcpool(["circles", "--radii", "1", "--servers", target(), "--json"]);
      expect(run.code).toBe(1);
      const said = `${target()} does not speak gRPC (is it an rpcpool-server?)`;
      expect(run.stderr).toContain(`error: UNAVAILABLE: no server could be reached (${target()}): ${said}`);
      expect(run.stderr).not.toContain("Protocol error");
      expect(run.json().errors[0].message).toContain(said);
    });
  }

  it("a closed port: hints at starting rpcpool-server there or dropping --servers", async () => {
    const run = await rpcpool(["circles", "--radii", "1", "--servers", closed]);
    expect(run.code).toBe(1);
    const port = closed.split(":")[1];
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `hint: nothing listens on ${closed}: start rpcpool-server there (rpcpool-server --port ${port}), ` +
        "or drop --servers to run on local servers this command starts",
    );
  });
});
