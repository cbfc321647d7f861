import { Pool, type PoolEvent, startServer } from "rpcpool";
import { ComputeServiceDefinition } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool, runProgram, serverProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { rejection, until } from "./support/waits.js";

// Labels, requirements and preferences (docs/scheduling.md) over real server processes: one with
// `--label gpu=1 --label zone=b`, one with `--label zone=a`, one worker thread each.
const gpu = useServers(1, { args: ["--label", "gpu=1", "--label", "zone=b"] });
const cpu = useServers(1, { args: ["--label", "zone=a"] });
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const gpuAddress = () => gpu.servers[0]!.address;
const cpuAddress = () => cpu.servers[0]!.address;
/** The labelled GPU server listed first: with no preference it is the one ties go to. */
const both = () => `${gpuAddress()},${cpuAddress()}`;

/** Where each task of a run started, by index. */
function startedOn() {
  const where: string[] = [];
  return {
    where,
    onEvent: (event: PoolEvent) => {
      if (event.type === "started") where[event.index] = event.server;
    },
  };
}

describe("a server's labels", () => {
  it("show in Info and in `rpcpool top`", async () => {
    const pool = await Pool.connect([gpuAddress(), cpuAddress()]);
    try {
      expect(pool.servers.map((s) => s.info?.labels)).toEqual([{ gpu: "1", zone: "b" }, { zone: "a" }]);
    } finally {
      await pool.close();
    }
    const top = await rpcpool(["top", "--json", "--servers", both()]);
    expect(top.code, top.stderr).toBe(0);
    const rows = top.json().servers;
    expect(rows.map((r: { labels: unknown }) => r.labels)).toEqual([{ gpu: "1", zone: "b" }, { zone: "a" }]);
  });

  it("are refused as a usage error (exit 2) when a key has other characters or there is no =", async () => {
    for (const label of ["gpu count=1", "gpu"]) {
      const run = await runProgram(serverProgram, ["--port", "0", "--label", label]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain("--label");
    }
    await expect(startServer({ port: 0, labels: { "a b": "1" } })).rejects.toThrow(TypeError);
    const client = await rpcpool(["circles", "--radii", "1", "--servers", both(), "--require", "a b=1"]);
    expect(client.code).toBe(2);
    expect(client.stderr).toContain("--require");
  });
});

describe("--require", () => {
  it("runs every file only on the server with the label", async () => {
    const files = [1, 2, 3, 4].map((i) => tmp.file(`t${i}.csv`, `${i};2\n3;4\n`));
    // The unlabelled server first: without the requirement it would take files too.
    const args = ["column-sums", ...files, "--servers", `${cpuAddress()},${gpuAddress()}`, "--json"];
    const run = await rpcpool([...args, "--require", "gpu=1"]);
    expect(run.code, run.stderr).toBe(0);
    const results = run.json().results as Array<{ server: string; sums: number[] }>;
    expect(results).toHaveLength(4);
    for (const result of results) expect(result.server).toBe(gpuAddress());
    expect(results[0]!.sums).toEqual([4, 6]);
    // `map` through BatchService batches, with the requirement too.
    const lines = Array.from({ length: 8 }, (_, i) => JSON.stringify({ lists: [{ values: [i, 1] }] }));
    const requests = tmp.file("means.jsonl", `${lines.join("\n")}\n`);
    const means = "rpcpool.compute.v1.ComputeService/Means";
    const mapped = await rpcpool([
      "map",
      means,
      requests,
      "--chunksize",
      "2",
      "--servers",
      `${cpuAddress()},${gpuAddress()}`,
      "--require",
      "gpu=1",
    ]);
    expect(mapped.code, mapped.stderr).toBe(0);
    const replies = mapped.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(replies).toHaveLength(8);
    for (const reply of replies) expect(reply.servedBy.server).toBe(gpuAddress());
  });

  it("keeps `demo`'s baseline and speed-up to the servers it allows", async () => {
    const args = ["demo", "--calls", "2", "--sleep-ms", "1", "--iterations", "1000", "--json"];
    const run = await rpcpool([
      ...args,
      "--servers",
      `${cpuAddress()},${gpuAddress()}`,
      "--require",
      "gpu=1",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.json();
    expect(out.servers).toBe(1);
    for (const demo of [out.sleep, out.spin]) {
      for (const call of demo.calls) expect(call.server).toBe(gpuAddress());
    }
  });

  it("fails at once with FAILED_PRECONDITION naming the requirement and the servers' labels; the CLI exits 1", async () => {
    const run = await rpcpool(["circles", "--radii", "1", "--servers", both(), "--require", "gpu=2"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `FAILED_PRECONDITION: no server of the pool that hosts /rpcpool.compute.v1.ComputeService/Circles has gpu=2 (servers' labels: ${gpuAddress()} {gpu=1,zone=b}, ${cpuAddress()} {zone=a})`,
    );
    const files = [tmp.file("f.csv", "1;2\n")];
    const sums = await rpcpool([
      "column-sums",
      ...files,
      "--servers",
      both(),
      "--require",
      "gpu=2",
      "--json",
    ]);
    expect(sums.code).toBe(1);
    expect(sums.json().errors[0].message).toMatch(/has gpu=2/);

    const pool = await Pool.connect([gpuAddress(), cpuAddress()]);
    try {
      const error = await rejection(
        pool.map([1, 2, 3], async (x) => x, { require: { gpu: "1", zone: "a" } }),
      );
      expect(error.codeName).toBe("FAILED_PRECONDITION");
      expect(error.details).toBe(
        `no server of the pool has gpu=1,zone=a (servers' labels: ${gpuAddress()} {gpu=1,zone=b}, ${cpuAddress()} {zone=a})`,
      );
      // A requirement with a key no label may have is the caller's mistake, said as such.
      const bad = await rejection(pool.apply(async () => 1, { require: { "g p u": "1" } }));
      expect(bad.codeName).toBe("INVALID_ARGUMENT");
    } finally {
      await pool.close();
    }
  });

  it("comes from the pool, the service and the call, a later one's key over an earlier one's", async () => {
    const pool = await Pool.connect([gpuAddress(), cpuAddress()], { require: { zone: "a" } });
    try {
      const lists = Array.from({ length: 4 }, (_, i) => ({ lists: [{ values: [i, 1] }] }));
      // The pool's default: only the zone=a server.
      const byPool = startedOn();
      await pool.map([1, 2, 3, 4], async (x) => x, { onEvent: byPool.onEvent });
      expect(new Set(byPool.where)).toEqual(new Set([cpuAddress()]));
      // A service's zone replaces the pool's.
      const byService = startedOn();
      const zoneB = pool.service(ComputeServiceDefinition, { require: { zone: "b" } });
      expect(await zoneB.map("means", lists, { onEvent: byService.onEvent })).toHaveLength(4);
      expect(new Set(byService.where)).toEqual(new Set([gpuAddress()]));
      // A service's other key adds to the pool's: gpu=1 and zone=a is no server.
      const strict = pool.service(ComputeServiceDefinition, { require: { gpu: "1" } });
      const unmet = await rejection(strict.map("means", lists));
      expect(unmet.codeName).toBe("FAILED_PRECONDITION");
      expect(unmet.details).toMatch(/ComputeService\/Means has zone=a,gpu=1 /);
      // The call's own zone replaces both: gpu=1 and zone=b is the GPU server.
      const byCall = startedOn();
      await strict.map("means", lists, { require: { zone: "b" }, onEvent: byCall.onEvent });
      expect(new Set(byCall.where)).toEqual(new Set([gpuAddress()]));
    } finally {
      await pool.close();
    }
  });
});

describe("--prefer", () => {
  it("gives work first to the preferred server while it has room, and excludes no server", async () => {
    const pool = await Pool.connect([gpuAddress(), cpuAddress()]);
    try {
      // One worker each: the first task goes to the preferred server, the second to the other.
      const run = startedOn();
      const where = await pool.map([0, 1], async (_, server) => server.address, {
        prefer: { zone: "a" },
        onEvent: run.onEvent,
      });
      expect(where).toEqual([cpuAddress(), gpuAddress()]);
      // Applies have no limit per server: every one goes where preferred.
      const applies = await Promise.all(
        [0, 1, 2].map(() => pool.apply(async (server) => server.address, { prefer: { zone: "a" } })),
      );
      expect(applies).toEqual([cpuAddress(), cpuAddress(), cpuAddress()]);
    } finally {
      await pool.close();
    }
    // The same from the command line; a preference no server meets runs anyway.
    const preferred = await rpcpool(["circles", "--radii", "1", "--servers", both(), "--prefer", "zone=a"]);
    expect(preferred.code, preferred.stderr).toBe(0);
    expect(preferred.stdout).toContain(`(on ${cpuAddress()})`);
    const unmet = await rpcpool(["circles", "--radii", "1", "--servers", both(), "--prefer", "zone=z"]);
    expect(unmet.code, unmet.stderr).toBe(0);
    expect(unmet.stdout).toContain(`(on ${gpuAddress()})`);
  });
});

describe("requirements outside runs", () => {
  it("choose `call`'s server, a session's server and `serversFor`", async () => {
    const circles = "rpcpool.compute.v1.ComputeService/Circles";
    const servers = `${cpuAddress()},${gpuAddress()}`;
    const call = await rpcpool([
      "call",
      circles,
      '{"radii":[1]}',
      "--servers",
      servers,
      "--require",
      "gpu=1",
    ]);
    expect(call.code, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout).servedBy.server).toBe(gpuAddress());
    const unmet = await rpcpool([
      "call",
      circles,
      '{"radii":[1]}',
      "--servers",
      servers,
      "--require",
      "gpu=2",
    ]);
    expect(unmet.code).toBe(1);
    expect(unmet.stderr).toMatch(/FAILED_PRECONDITION: no server of the pool has gpu=2/);

    const pool = await Pool.connect([cpuAddress(), gpuAddress()], { require: { gpu: "1" } });
    try {
      const session = await pool.session();
      try {
        expect(session.address).toBe(gpuAddress());
      } finally {
        await session.close();
      }
      expect(pool.serversFor().map((s) => s.address)).toEqual([gpuAddress()]);
      // The pool's `require` holds; a preference puts its servers first without dropping others.
      expect(pool.serversFor({ require: { gpu: "1" }, prefer: { zone: "b" } }).length).toBe(1);
    } finally {
      await pool.close();
    }
    const open = await Pool.connect([gpuAddress(), cpuAddress()]);
    try {
      expect(open.serversFor({ prefer: { zone: "a" } }).map((s) => s.address)).toEqual([
        cpuAddress(),
        gpuAddress(),
      ]);
    } finally {
      await open.close();
    }
    const strict = await Pool.connect([cpuAddress()], { require: { gpu: "1" } });
    try {
      expect((await rejection(strict.session())).codeName).toBe("FAILED_PRECONDITION");
    } finally {
      await strict.close();
    }
  });
});

describe("requirements with discovery", () => {
  it("give a run under way to a server that joins with the label, and never to one without", async () => {
    const running = [
      await startServer({ port: 0, workers: 1, labels: { gpu: "1" } }),
      await startServer({ port: 0, workers: 1, labels: { zone: "a" } }),
      await startServer({ port: 0, workers: 1, labels: { gpu: "1" } }),
    ];
    const [first, other, joining] = running.map((s) => s.address) as [string, string, string];
    const portOf = (address: string) => address.split(":")[1]!;
    const answers: Record<string, string[]> = { first: ["127.0.0.1"], other: ["127.0.0.1"], joining: [] };
    const pool = await Pool.connect(
      [`dns:///first:${portOf(first)}`, `dns:///other:${portOf(other)}`, `dns:///joining:${portOf(joining)}`],
      { resolveEveryMs: 20, lookup: async (name) => answers[name] ?? [] },
    );
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ran: string[] = [];
    try {
      // One worker each: the first server takes one task and the rest wait, as the other has no gpu.
      const run = pool.map(
        [0, 1, 2, 3],
        async (_, server) => {
          ran.push(server.address);
          await gate;
          return server.address;
        },
        { require: { gpu: "1" } },
      );
      await until(() => ran.length === 1, "the first task started");
      expect(ran).toEqual([first]);
      answers.joining = ["127.0.0.1"];
      await until(() => ran.length === 2, "the joining server took a task");
      expect(ran).toEqual([first, joining]);
      release();
      const where = await run;
      expect(where).not.toContain(other);
      expect(new Set(where)).toEqual(new Set([first, joining]));
    } finally {
      release();
      await pool.close();
      await Promise.all(running.map((s) => s.close(0)));
    }
  });

  it("are met by a server that joins with the label, and unmet again when it leaves", async () => {
    const running = [
      await startServer({ port: 0, workers: 1, labels: { zone: "a" } }),
      await startServer({ port: 0, workers: 1, labels: { gpu: "1" } }),
    ];
    const [plain, labelled] = running as [(typeof running)[0], (typeof running)[0]];
    const portOf = (address: string) => address.split(":")[1]!;
    const answers: Record<string, string[]> = { plain: ["127.0.0.1"], labelled: [] };
    const pool = await Pool.connect(
      [`dns:///plain:${portOf(plain.address)}`, `dns:///labelled:${portOf(labelled.address)}`],
      { resolveEveryMs: 20, lookup: async (name) => answers[name] ?? [] },
    );
    const onGpu = () => pool.apply(async (server) => server.address, { require: { gpu: "1" } });
    try {
      expect((await rejection(onGpu())).codeName).toBe("FAILED_PRECONDITION");
      answers.labelled = ["127.0.0.1"];
      await until(() => pool.servers.length === 2, "the labelled server joined");
      expect(await onGpu()).toBe(labelled.address);
      answers.labelled = [];
      await until(() => pool.servers.length === 1, "the labelled server left");
      expect((await rejection(onGpu())).details).toMatch(/has gpu=1 \(servers' labels: .* \{zone=a\}\)/);
    } finally {
      await pool.close();
      await Promise.all(running.map((s) => s.close(0)));
    }
  });
});
