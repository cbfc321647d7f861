import { type HostedService, Pool, type RunningServer, startServer } from "rpcpool";
import { DemoServiceService } from "rpcpool/lesson";
import { methodsOf } from "rpcpool/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { CounterServiceDefinition } from "./gen/rpcpool/test/session/v1/counter.js";
import { FlakyServiceDefinition } from "./gen/rpcpool/test/v1/flaky.js";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("discovery in --servers", () => {
  it("reads a file of addresses (comments and blank lines skipped)", async () => {
    const list = tmp.file(
      "servers.txt",
      `# our servers\n${servers.servers[0]!.address}\n\n${servers.servers[1]!.address}  # second\n`,
    );
    const table = tmp.file("t.csv", "1\n");
    const run = await rpcpool(["column-sums", table, table, table, "--servers", list, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results).toHaveLength(3);
  });

  it("resolves dns:///name:port to every address behind the name", async () => {
    const port = servers.servers[0]!.address.split(":")[1];
    const run = await rpcpool(["circles", "--radii", "1", "--servers", `dns:///localhost:${port}`, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().radii).toEqual([1]);
    expect((await rpcpool(["circles", "--radii", "1", "--servers", "dns:///nonsense"])).code).toBe(2);
  });

  it("looks names up again: servers that join are used, servers that leave are dropped", async () => {
    const [a, b] = servers.servers.map((s) => s.address) as [string, string];
    // Stands in for DNS: the name's answer changes over time, as a headless service's does.
    let answer = [a.split(":")[0]!];
    const portOf = (address: string) => address.split(":")[1]!;
    const pool = await Pool.connect([`dns:///cluster:${portOf(a)}`], {
      resolveEveryMs: 50,
      lookup: async () => answer,
    });
    try {
      expect(pool.servers.map((s) => s.address)).toEqual([a]);
      // A second "pod" behind another name resolution: same host, the other server's port, so
      // model joining by pointing a second target at it.
      const joined = await Pool.connect([`dns:///cluster:${portOf(a)}`, `dns:///other:${portOf(b)}`], {
        resolveEveryMs: 50,
        lookup: async (name) => (name === "other" ? answer.slice(1) : [a.split(":")[0]!]),
      });
      expect(joined.servers.map((s) => s.address)).toEqual([a]);
      answer = [a.split(":")[0]!, "127.0.0.1"];
      await until(() => joined.servers.length === 2);
      const replies = await joined
        .service(DemoServiceService)
        .map("sleep", Array(6).fill({ milliseconds: 50 }), { perServer: 1 });
      expect(new Set(replies.map((r) => r.servedBy!.server))).toEqual(new Set([a, b]));
      answer = [a.split(":")[0]!];
      await until(() => joined.servers.length === 1);
      expect(joined.servers[0]!.address).toBe(a);
      // A server that discovery dropped and brings back rejoins, and gets work again.
      answer = [a.split(":")[0]!, "127.0.0.1"];
      await until(() => joined.servers.length === 2);
      const again = await joined
        .service(DemoServiceService)
        .map("sleep", Array(6).fill({ milliseconds: 50 }), { perServer: 1 });
      expect(new Set(again.map((r) => r.servedBy!.server))).toEqual(new Set([a, b]));
      await joined.close();
    } finally {
      await pool.close();
    }
  });
});

describe("a server that discovery drops", () => {
  it("answers the calls it has in flight, once each: only new work goes elsewhere", async () => {
    // The leaving server holds its call until the test sees it dropped, as a pod drains in a rollout.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ran: string[] = [];
    const serve = (hold: boolean) =>
      startServer({
        host: "127.0.0.1",
        port: 0,
        workers: 1,
        services: [
          {
            definition: FlakyServiceDefinition,
            implementation: ({ identity }) => ({
              store: async () => ({ server: identity.server }),
              append: async () => {
                ran.push(identity.server);
                if (hold) await held;
                return { server: identity.server };
              },
            }),
          },
        ],
      });
    const running: RunningServer[] = [await serve(true), await serve(false)];
    const [leaving, staying] = running as [RunningServer, RunningServer];
    const portOf = (address: string) => address.split(":")[1]!;
    const answers: Record<string, string[]> = { leaving: ["127.0.0.1"], staying: ["127.0.0.1"] };
    const pool = await Pool.connect(
      [`dns:///leaving:${portOf(leaving.address)}`, `dns:///staying:${portOf(staying.address)}`],
      { resolveEveryMs: 20, lookup: async (name) => answers[name] ?? [] },
    );
    try {
      const { append } = methodsOf(FlakyServiceDefinition);
      // Allowed to run again: were the call cut, it would run a second time on the other server.
      const call = pool.apply((server, signal) => server.unary(append!, { value: "x" }, { signal }), {
        idempotent: true,
      });
      await until(() => ran.length === 1);
      expect(ran).toEqual([leaving.address]);
      const leavingConnection = pool.servers[0]!;
      expect(leavingConnection.address).toBe(leaving.address);
      answers.leaving = [];
      await until(() => pool.servers.length === 1);
      // New work goes to the server that stays while the other still has its call.
      expect(
        (await pool.apply((server, signal) => server.unary(append!, { value: "y" }, { signal }))).server,
      ).toBe(staying.address);
      release();
      expect((await call).server).toBe(leaving.address);
      expect(ran).toEqual([leaving.address, staying.address]);
      // Its calls settled: the pool closed its connection.
      await expect(leavingConnection.refreshInfo()).rejects.toMatchObject({
        details: "the connection was closed",
      });
    } finally {
      release();
      await pool.close();
      await Promise.all(running.map((s) => s.close(0)));
    }
  });
});

describe("a server that discovery drops while a session is open on it", () => {
  it("keeps the session working until it ends, then closes the connection", async () => {
    const counter: HostedService = {
      definition: CounterServiceDefinition,
      sessionClass:
        ({ identity }) =>
        () => {
          let total = 0;
          return {
            init: async () => ({}),
            add: async ({ value }: { value: number }) => {
              total += value;
              return { total, server: identity.server };
            },
          };
        },
    };
    const running = [
      await startServer({ port: 0, workers: 1, services: [counter] }),
      await startServer({ port: 0, workers: 1, services: [counter] }),
    ];
    const [leaving, staying] = running as [RunningServer, RunningServer];
    const portOf = (address: string) => address.split(":")[1]!;
    const answers: Record<string, string[]> = { leaving: ["127.0.0.1"], staying: ["127.0.0.1"] };
    const pool = await Pool.connect(
      [`dns:///leaving:${portOf(leaving.address)}`, `dns:///staying:${portOf(staying.address)}`],
      { resolveEveryMs: 20, lookup: async (name) => answers[name] ?? [] },
    );
    try {
      const connection = pool.servers.find((s) => s.address === leaving.address)!;
      const session = await pool.session(connection);
      const object = await session.create(CounterServiceDefinition);
      expect((await object.call("add", { value: 2 })).total).toBe(2);
      answers.leaving = [];
      await until(() => pool.servers.length === 1);
      // Dropped from dispatch, but its session goes on: the server still holds the object.
      expect((await object.call("add", { value: 3 })).total).toBe(5);
      await session.close();
      await session.ended;
      await expect(connection.refreshInfo()).rejects.toMatchObject({ details: "the connection was closed" });
    } finally {
      await pool.close();
      await Promise.all(running.map((s) => s.close(0)));
    }
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(condition()).toBe(true);
}
