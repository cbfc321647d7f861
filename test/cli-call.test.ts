import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { loadPackageDefinition, Server, ServerCredentials } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { clientProgram, collectRun, root, rpcpool } from "./support/run-program.js";

// `rpcpool call` (docs/cli.md) against real servers: the stock rpcpool-server, the example's own
// server, and grpc-js servers without reflection or with only v1alpha.
const servers = useServers(2);
const means = "rpcpool.compute.v1.ComputeService/Means";

/** Runs the client with `input` on its stdin. */
function rpcpoolWithInput(args: string[], input: string, timeoutMs?: number) {
  const child = spawn(process.execPath, [clientProgram, ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin!.on("error", () => {});
  child.stdin!.end(input);
  return collectRun(child, args.join(" "), timeoutMs);
}

// The example's own server (examples/stats-service): a user's service, served with reflection.
let stats: ChildProcess;
let statsAddress = "";
// A plain grpc-js server of the example's proto with no reflection: only --proto can describe it.
let bare: Server;
let bareAddress = "";
// One with only the older grpc.reflection.v1alpha, as many servers of other languages have.
let alpha: Server;
let alphaAddress = "";
const statsProto = "acme/stats/v1/stats.proto";
const statsInclude = join(root, "examples", "stats-service", "proto");

beforeAll(async () => {
  stats = spawn(
    process.execPath,
    [join(root, "dist", "examples", "stats-service", "server.js"), "--port", "0"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const [line] = (await once(createInterface({ input: stats.stdout! }), "line")) as [string];
  statsAddress = line.replace("listening on ", "");

  const packageDefinition = loadSync(statsProto, { includeDirs: [statsInclude] });
  const definition = loadPackageDefinition(packageDefinition) as any;
  const implementation = {
    Describe: (call: any, callback: any) => {
      const values: number[] = call.request.values;
      callback(null, {
        count: values.length,
        mean: values.reduce((a, b) => a + b, 0) / values.length,
        server: "bare",
      });
    },
    CountPrimes: (_call: any, callback: any) => callback(null, { count: 0 }),
  };
  const listen = (server: Server) =>
    new Promise<string>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, port) =>
        e ? reject(e) : resolve(`127.0.0.1:${port}`),
      ),
    );
  bare = new Server();
  bare.addService(definition.acme.stats.v1.StatsService.service, implementation);
  bareAddress = await listen(bare);
  alpha = new Server();
  alpha.addService(definition.acme.stats.v1.StatsService.service, implementation);
  new ReflectionService(packageDefinition).addToServer({
    addService: (service: Record<string, { path: string }>, handlers: any) => {
      if (Object.values(service)[0]!.path.startsWith("/grpc.reflection.v1alpha."))
        alpha.addService(service as any, handlers);
    },
  } as any);
  alphaAddress = await listen(alpha);
});
afterAll(async () => {
  stats?.kill("SIGTERM");
  if (stats && stats.exitCode === null) await once(stats, "exit");
  bare?.forceShutdown();
  alpha?.forceShutdown();
});

describe("rpcpool call", () => {
  it("calls a unary method of the lesson, described by reflection, in proto3 JSON", async () => {
    const run = await rpcpool([
      "call",
      means,
      '{"lists":[{"values":[1,2,3]},{"values":[5,2,7]}]}',
      "--servers",
      servers.list,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const reply = JSON.parse(run.stdout);
    expect(reply.means).toEqual([2, 14 / 3]);
    expect(reply.servedBy.server).toMatch(/^127\.0\.0\.1:/);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
  });

  it("calls a user's own service on its own server", async () => {
    const run = await rpcpool([
      "call",
      "acme.stats.v1.StatsService/Describe",
      '{"values":[1,2,3,4]}',
      "--servers",
      statsAddress,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ count: 4, mean: 2.5, min: 1, max: 4 });
  });

  it("refuses a malformed request or an unknown field with exit 2, naming the problem", async () => {
    const notJson = await rpcpool(["call", means, '{"lists":[', "--servers", servers.list]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/not JSON/);
    const unknown = await rpcpool(["call", means, '{"lists":[{"valuez":[1]}]}', "--servers", servers.list]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/rpcpool\.compute\.v1\.NumberList.*"valuez" is unknown/);
  });

  it("names an unknown method or service with exit 2 and lists what the server offers, closest first", async () => {
    const method = await rpcpool([
      "call",
      "rpcpool.compute.v1.ComputeService/Mean",
      "{}",
      "--servers",
      servers.list,
    ]);
    expect(method.code).toBe(2);
    expect(method.stderr).toMatch(/has no method Mean; did you mean Means\? it offers: Means, /);
    const service = await rpcpool([
      "call",
      "acme.stats.v1.StatService/Describe",
      "{}",
      "--servers",
      statsAddress,
    ]);
    expect(service.code).toBe(2);
    expect(service.stderr).toMatch(
      /no service acme\.stats\.v1\.StatService; did you mean acme\.stats\.v1\.StatsService\b/,
    );
    expect(service.stderr).toMatch(/it offers: .*rpcpool\.pool\.v1\.InfoService/);
  });

  it("prints a server's refusal as CODE: message with exit 1", async () => {
    const run = await rpcpool(["call", means, '{"lists":[{"values":[]}]}', "--servers", servers.list]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/INVALID_ARGUMENT: list 1 is empty/);
  });

  it("streams requests from stdin to a client-streaming method (the lesson's ColumnSums)", async () => {
    const input = [
      JSON.stringify({ options: { fileName: "t.csv" } }),
      JSON.stringify({ chunk: Buffer.from("1;2\n3;").toString("base64") }),
      JSON.stringify({ chunk: Buffer.from("4\n").toString("base64") }),
    ].join("\n");
    const run = await rpcpoolWithInput(
      ["call", "rpcpool.compute.v1.ComputeService/ColumnSums", "--servers", servers.list],
      input,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ rows: "2", columns: 2, sums: [4, 6] });
    // A line of the stream that is no request ends the call: exit 2 naming the line.
    const bad = await rpcpoolWithInput(
      ["call", "rpcpool.compute.v1.ComputeService/ColumnSums", "--servers", servers.list],
      `${input}\n{"chunk":1}\n`,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line 4: does not fit rpcpool\.compute\.v1\.ColumnSumsRequest/);
  });

  it("prints one line per message of a server stream (a value put, then read back)", async () => {
    const value = Buffer.from("x".repeat(100_000));
    const handle = createHash("sha256").update(value).digest("hex");
    const put = [
      JSON.stringify({ header: { handle, size: String(value.length), owner: "cli-call-test" } }),
      JSON.stringify({ chunk: value.toString("base64") }),
    ].join("\n");
    const stored = await rpcpoolWithInput(
      ["call", "rpcpool.pool.v1.StoreService/Put", "-", "--servers", servers.list.split(",")[0]!],
      put,
    );
    expect(stored.code, stored.stderr).toBe(0);
    expect(JSON.parse(stored.stdout)).toMatchObject({ handle, size: String(value.length) });
    const got = await rpcpool([
      "call",
      "rpcpool.pool.v1.StoreService/Get",
      JSON.stringify({ handle }),
      "--servers",
      servers.list.split(",")[0]!,
    ]);
    expect(got.code, got.stderr).toBe(0);
    const replies = got.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(replies.length).toBeGreaterThanOrEqual(1);
    const bytes = Buffer.concat(replies.map((r) => Buffer.from(r.chunk ?? "", "base64")));
    expect(bytes.equals(value)).toBe(true);
  });

  it("streams both ways: requests from stdin, replies as they come (a session)", async () => {
    const input = `${JSON.stringify({ release: { id: "1", objectId: "7" } })}\n`;
    const run = await rpcpoolWithInput(
      ["call", "rpcpool.pool.v1.SessionService/Open", "--servers", servers.list.split(",")[0]!],
      input,
    );
    expect(run.code, run.stderr).toBe(0);
    const replies = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(replies[0].opened.server).toMatch(/^127\.0\.0\.1:/);
    expect(replies[1].reply).toMatchObject({ id: "1", code: 5 });
  });

  it("asks grpc.reflection.v1alpha where a server has no v1", async () => {
    const run = await rpcpool([
      "call",
      "acme.stats.v1.StatsService/Describe",
      '{"values":[1,5]}',
      "--servers",
      alphaAddress,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ count: 2, mean: 3, server: "bare" });
  });

  it("describes a method from --proto files where the server has no reflection", async () => {
    const args = [
      "call",
      "acme.stats.v1.StatsService/Describe",
      '{"values":[2,4]}',
      "--servers",
      bareAddress,
    ];
    const without = await rpcpool(args);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/UNIMPLEMENTED: .*does not serve reflection.*--proto/);
    const run = await rpcpool([...args, "--proto", statsProto, "-I", statsInclude]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ count: 2, mean: 3, server: "bare" });
  });
});
