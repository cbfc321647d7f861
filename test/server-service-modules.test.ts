import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { JobQueue } from "rpcpool/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DescribeRequest, DescribeResponse } from "../examples/stats-service/gen/acme/stats/v1/stats.js";
import { healthCheck, reflectionList } from "./support/grpc-clients.js";
import { noRedis, startRedis } from "./support/redis-server.js";
import { root, rpcpool, runProgram, serverProgram, startServerProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// `rpcpool-server --service MODULE`: the stock server hosts a user's module, with every server
// flag; a module that cannot be hosted is refused at start-up, in words naming it. The modules are
// written into a folder outside the repository, started from there as a user would.

const example = join(root, "dist", "examples", "stats-service");
const stats = join(example, "stats-service.js");
const definitionFile = join(example, "gen", "acme", "stats", "v1", "stats.js");
const describeMethod = "acme.stats.v1.StatsService/Describe";

const folder = tempDir("rpcpool-service-modules-");
const children: ChildProcess[] = [];

beforeAll(() => {
  const file = (name: string, text: string) => folder.file(name, text);
  file("stats.mjs", `export { statsService as default } from ${JSON.stringify(stats)};\n`);
  file("named.mjs", `export { statsService } from ${JSON.stringify(stats)};\n`);
  file(
    "array.mjs",
    `import { statsService } from ${JSON.stringify(stats)};\nexport default [statsService];\n`,
  );
  file("empty.mjs", "export default [];\n");
  file(
    "definition.mjs",
    `export { StatsServiceDefinition as default } from ${JSON.stringify(definitionFile)};\n`,
  );
  file(
    "misspelled.mjs",
    `import { StatsServiceDefinition } from ${JSON.stringify(definitionFile)};\n` +
      "export default { definition: StatsServiceDefinition, implementation: { describe() {}, countPrime() {} } };\n",
  );
  file("no-definition.mjs", "export default { implementation: { describe() {} } };\n");
  file(
    "bad-proto.mjs",
    `import { statsService } from ${JSON.stringify(stats)};\n` +
      'export default { ...statsService, protoFiles: ["acme/stats/v1/stats.proto"], includeDirs: ["nowhere"] };\n',
  );
  file(
    "lesson-again.mjs",
    `import { ComputeServiceDefinition } from "rpcpool/lesson";\n` +
      "export default { definition: ComputeServiceDefinition, implementation: {} };\n",
  );
  file(
    "missing-handler.mjs",
    `import { StatsServiceDefinition } from ${JSON.stringify(definitionFile)};\n` +
      "export default { definition: StatsServiceDefinition, implementation: { async describe() { return {}; } } };\n",
  );
  file("throws.mjs", 'throw new Error("the module refuses to load");\n');
  file("token", "s3cret-token\n");
  // An installed package that exports only to `import` (require's resolution refuses it).
  const pkg = join(folder.dir, "node_modules", "acme-stats");
  mkdirSync(pkg, { recursive: true });
  folder.file(
    "node_modules/acme-stats/package.json",
    JSON.stringify({ name: "acme-stats", type: "module", exports: { ".": { import: "./index.js" } } }),
  );
  folder.file(
    "node_modules/acme-stats/index.js",
    `export { statsService as default } from ${JSON.stringify(stats)};\n`,
  );
  // `rpcpool` as a dependency of the folder, as a user's project has it.
  symlinkSync(root, join(folder.dir, "node_modules", "rpcpool"), "dir");
});

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  folder.cleanup();
});

/** Starts rpcpool-server from the user's folder; resolves with its address once it listens. */
async function serve(args: string[]) {
  const { child, address } = await startServerProgram(["--port", "0", "--workers", "1", ...args], {
    cwd: folder.dir,
  });
  children.push(child);
  return {
    address,
    /** SIGTERM: the server drains and exits 0, as with the lesson. */
    async stop() {
      const exit = once(child, "exit");
      child.kill("SIGTERM");
      expect((await exit)[0]).toBe(0);
    },
  };
}

/** Runs rpcpool-server expecting it to refuse to start; its exit code and stderr. */
const refused = (args: string[]) =>
  runProgram(serverProgram, ["--port", "0", ...args], { cwd: folder.dir, timeoutMs: 20_000 });

describe("rpcpool-server --service", () => {
  it("hosts the module's service alone: called, mapped, reflected, health-checked; its ServerError keeps its code", async () => {
    const server = await serve(["--service", "./stats.mjs"]);
    const servers = ["--servers", server.address];
    const called = await rpcpool(["call", describeMethod, '{"values":[1,2,3]}', ...servers]);
    expect(called.stderr).toBe("");
    expect(JSON.parse(called.stdout)).toMatchObject({ count: 3, mean: 2, min: 1, max: 3 });
    // The module throws the ServerError of the package it imports, not the bundle's own copy.
    const refusedCall = await rpcpool(["call", describeMethod, '{"values":[]}', ...servers]);
    expect(refusedCall.code).toBe(1);
    expect(refusedCall.stderr).toContain("INVALID_ARGUMENT: no values to describe");

    const inputs = folder.file("in.jsonl", '{"values":[1]}\n{"values":[2,4]}\n');
    const mapped = await rpcpool(["map", describeMethod, inputs, ...servers]);
    expect(mapped.code, mapped.stderr).toBe(0);
    expect(
      mapped.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).mean),
    ).toEqual([1, 3]);

    const listed = await reflectionList(server.address);
    expect(listed).toContain("acme.stats.v1.StatsService");
    expect(listed).not.toContain("rpcpool.compute.v1.ComputeService");
    expect(await healthCheck(server.address, "acme.stats.v1.StatsService")).toBe("SERVING");
    await server.stop();
  });

  it("with --lesson hosts the lesson's services beside it, and the server's flags apply to both", async () => {
    const server = await serve(["--service", "./stats.mjs", "--lesson", "--token-file", "token"]);
    const servers = ["--servers", server.address];
    const withoutToken = await rpcpool(["call", describeMethod, '{"values":[1]}', ...servers]);
    expect(withoutToken.stderr).toContain("UNAUTHENTICATED");
    const token = ["--token-file", join(folder.dir, "token")];
    const described = await rpcpool(["call", describeMethod, '{"values":[1]}', ...servers, ...token]);
    expect(JSON.parse(described.stdout)).toMatchObject({ count: 1 });
    const means = await rpcpool(["means", "--lists", "[[1,2,3]]", "--json", ...servers, ...token]);
    expect(means.code, means.stderr).toBe(0);
    await server.stop();
  });

  it("with --queue takes the module's tasks from the queue", async ({ skip }) => {
    skip(noRedis !== undefined, noRedis);
    const redis = await startRedis();
    const queue = new JobQueue(redis.url);
    try {
      const server = await serve(["--service", "./stats.mjs", "--queue", redis.url]);
      const request = Buffer.from(DescribeRequest.encode({ values: [2, 4] }).finish());
      const job = await queue.submit([
        { method: "/acme.stats.v1.StatsService/Describe", requests: [request] },
      ]);
      const [outcome] = (await job.result({ wait: true })).outcomes;
      expect(outcome!.ok && DescribeResponse.decode(outcome!.response)).toMatchObject({ count: 2, mean: 3 });
      await server.stop();
    } finally {
      await queue.close();
      await redis.stop();
    }
  });

  it("takes an array, and an installed package that exports only to import", async () => {
    for (const spec of ["./array.mjs", "acme-stats"]) {
      const server = await serve(["--service", spec]);
      const called = await rpcpool(["call", describeMethod, '{"values":[5]}', "--servers", server.address]);
      expect(JSON.parse(called.stdout), spec).toMatchObject({ mean: 5 });
      await server.stop();
    }
  });

  it.each([
    [["./missing.mjs"], 2, "--service ./missing.mjs: no such file"],
    [["not-installed"], 2, "--service not-installed: no package of that name is installed"],
    [
      ["./named.mjs"],
      2,
      "has no default export (it exports statsService: add `export default statsService`)",
    ],
    [["./empty.mjs"], 2, "its default export is an empty array"],
    [["./definition.mjs"], 2, "is the definition of acme.stats.v1.StatsService, not a hosted service"],
    [["./no-definition.mjs"], 2, "has no `definition`"],
    [
      ["./misspelled.mjs"],
      2,
      "implementation has `countPrime`, which is no method of it (its methods: describe, countPrimes)",
    ],
    [["./bad-proto.mjs"], 2, "protoFiles has acme/stats/v1/stats.proto, which is in none of its includeDirs"],
    [
      ["./lesson-again.mjs", "--lesson"],
      2,
      "rpcpool.compute.v1.ComputeService is hosted already, by the lesson",
    ],
    [
      ["./stats.mjs", "--service", "./array.mjs"],
      2,
      "acme.stats.v1.StatsService is hosted already, by --service ./stats.mjs",
    ],
    [
      ["./stats.mjs", "--data-root", "."],
      2,
      "--data-root serves files to the lesson's table methods: with --service, add --lesson",
    ],
    [
      ["./missing-handler.mjs"],
      1,
      "acme.stats.v1.StatsService: no handler for acme.stats.v1.StatsService/CountPrimes",
    ],
    [["./throws.mjs"], 1, "--service ./throws.mjs: loading it failed: Error: the module refuses to load"],
  ])("refuses --service %j (exit %i): %s", async (args, code, message) => {
    const run = await refused(["--service", ...args]);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(code);
    expect(run.stdout).toBe("");
  });
});
