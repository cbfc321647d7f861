import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { loadPackageDefinition, Server, ServerCredentials } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { startLocalServers } from "rpcpool";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { clientProgram, collectRun, root, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { noTerminal, onTerminal } from "./support/terminal.js";

const servers = useServers(2);
const means = "rpcpool.compute.v1.ComputeService/Means";
const tmp = tempDir("rpcpool-call-map-");
afterAll(() => tmp.cleanup());

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

describe("rpcpool map", () => {
  const lines = 10_000;
  const bad = 5_000;
  const refused = 7_000;
  const lists = (i: number) => [[i % 7, (i % 5) + 1, i % 3]];
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  let file = "";

  beforeAll(() => {
    const text: string[] = [];
    for (let i = 1; i <= lines; i++) {
      if (i === bad) text.push('{"lists": [{"values": [1, 2}]}');
      else if (i === refused) text.push('{"lists":[{"values":[]}]}');
      else text.push(JSON.stringify({ lists: lists(i).map((values) => ({ values })) }));
    }
    file = join(tmp.dir, "means.jsonl");
    writeFileSync(file, `${text.join("\n")}\n`);
  });

  const expectedLine = (i: number) => ({ means: lists(i).map(mean) });

  it("prints one reply per line in input order; a bad line prints its error in its place, exit 1", async () => {
    const run = await rpcpool(["map", means, file, "--servers", servers.list], { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(1);
    const out = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(out).toHaveLength(lines);
    for (let i = 1; i <= lines; i++) {
      const line = out[i - 1];
      if (i === bad) {
        expect(line.error.code).toBe("INVALID_ARGUMENT");
        expect(line.error.message).toMatch(new RegExp(`^line ${bad}: not JSON`));
      } else if (i === refused) {
        expect(line).toEqual({
          error: { code: "INVALID_ARGUMENT", message: "list 1 is empty: it has no mean" },
        });
      } else expect({ means: line.means }).toEqual(expectedLine(i));
    }
    // Both servers took part.
    expect(new Set(out.filter((l) => l.servedBy).map((l) => l.servedBy.server)).size).toBe(2);
    // A line's reply is what `call` gives for it.
    for (const i of [1, 4_999, lines]) {
      const one = await rpcpool([
        "call",
        means,
        JSON.stringify({ lists: lists(i).map((values) => ({ values })) }),
        "--servers",
        servers.list,
      ]);
      expect(JSON.parse(one.stdout).means).toEqual(out[i - 1].means);
    }
  });

  it("--unordered prints the same set of lines, from stdin", async () => {
    const ordered = await rpcpool(["map", means, file, "--servers", servers.list]);
    const child = spawn(
      process.execPath,
      [clientProgram, "map", means, "-", "--unordered", "--servers", servers.list],
      {
        cwd: root,
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    const { createReadStream } = await import("node:fs");
    createReadStream(file).pipe(child.stdin!);
    const unordered = await collectRun(child, "map --unordered");
    expect(unordered.code, unordered.stderr).toBe(1);
    const strip = (text: string) =>
      text
        .trim()
        .split("\n")
        .map((line) => {
          const { servedBy: _, ...rest } = JSON.parse(line);
          return JSON.stringify(rest);
        })
        .sort();
    expect(strip(unordered.stdout)).toEqual(strip(ordered.stdout));
  });

  it("ends quietly with exit 0 when its reader stops reading (| head -1)", async () => {
    const child = spawn(
      "bash",
      [
        "-c",
        `set -o pipefail; "${process.execPath}" "${clientProgram}" map ${means} "${file}" --servers ${servers.list} | head -1`,
      ],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    const run = await collectRun(child, "map | head -1");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toBe("");
  });

  it("counts lines done on a terminal's stderr while stdout goes to a file, and clears the count", ({
    skip,
  }) => {
    if (noTerminal) skip(noTerminal);
    const out = join(tmp.dir, "replies.jsonl");
    const command = [process.execPath, clientProgram, "map", means, file, "--servers", servers.list]
      .map((a) => `'${a}'`)
      .join(" ");
    const shown = spawnSync("script", ["-qec", `${command} > '${out}'`, "/dev/null"], {
      encoding: "utf8",
      timeout: 60_000,
    }).stdout;
    expect(shown).toMatch(/\d+ lines done, \d+ failed, \d+ lines\/s/);
    expect(shown.endsWith("\r\x1b[K")).toBe(true);
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(lines);
    // With the replies on the terminal, no count mixes with them.
    expect(onTerminal(["map", means, file, "--servers", servers.list])).not.toMatch(/lines done/);
  });

  it("goes on past many bad lines behind a good one whose chunk is not full (no wait on it)", async () => {
    // A good line, then more bad lines than the window: the good line's chunk goes only when the
    // input ends, so the reader must not wait for its reply before reading on.
    const text = ['{"lists":[{"values":[1,3]}]}', ...Array.from({ length: 300 }, () => "{")].join("\n");
    const run = await rpcpoolWithInput(
      ["map", means, "--servers", servers.list, "--window", "64", "--chunksize", "64"],
      text,
      20_000, // a hang guard
    );
    expect(run.code, run.stderr).toBe(1);
    const out = run.stdout.trim().split("\n");
    expect(out).toHaveLength(301);
    expect(JSON.parse(out[0]!).means).toEqual([2]);
    expect(JSON.parse(out[300]!).error.message).toMatch(/^line 301: not JSON/);
  });

  it("moves a lost server's lines to the other (Means is NO_SIDE_EFFECTS in its proto): every reply, exit 0", async () => {
    const own = await startLocalServers(2, { workers: 1, stderr: "ignore" });
    try {
      const count = 50_000;
      const text = Array.from({ length: count }, (_, i) =>
        JSON.stringify({ lists: [{ values: [i, i + 2] }] }),
      ).join("\n");
      const child = spawn(
        process.execPath,
        [clientProgram, "map", means, "--chunksize", "16", "--servers", own.map((s) => s.address).join(",")],
        { cwd: root, stdio: ["pipe", "pipe", "pipe"] },
      );
      child.stdin!.on("error", () => {});
      child.stdin!.end(text);
      // Once replies flow, one server dies without a word.
      child.stdout!.once("data", () => own[0]!.process.kill("SIGKILL"));
      const run = await collectRun(child, "map with a server lost");
      expect(run.code, run.stderr).toBe(0);
      const out = run.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(out).toHaveLength(count);
      expect(out.map((line) => line.means)).toEqual(Array.from({ length: count }, (_, i) => [i + 1]));
    } finally {
      await Promise.all(own.map((s) => s.stop().catch(() => {})));
    }
  });

  it("runs on the embedded default local servers without --servers (they host the lesson)", async () => {
    const run = await rpcpoolWithInput(
      ["map", means, "--local", "2"],
      '{"lists":[{"values":[1,2]}]}\n\n{"lists":[{"values":[4]}]}\n',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(
      run.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).means),
    ).toEqual([[1.5], [4]]);
    const user = await rpcpoolWithInput(
      ["map", "acme.stats.v1.StatsService/Describe", "--local", "1"],
      "{}\n",
    );
    expect(user.code).toBe(2);
    expect(user.stderr).toMatch(
      /no service acme\.stats\.v1\.StatsService.*embedded local servers host the lesson's services: give --servers/,
    );
  });

  it("refuses a streaming method with exit 2", async () => {
    const run = await rpcpoolWithInput(
      ["map", "rpcpool.compute.v1.ComputeService/ColumnSums", "--servers", servers.list],
      "{}\n",
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/map calls unary methods; .* is client-streaming/);
  });
});
