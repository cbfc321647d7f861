import { readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool, type PoolServer } from "rpcpool";
import { computeMethods } from "rpcpool/lesson";
import { BatchServiceDefinition, methodsOf, startLocalServers } from "rpcpool/protocol";
import { CirclesRequest } from "../src/gen/rpcpool/compute/v1/compute.js";
import { TableOptions } from "../src/gen/rpcpool/compute/v1/table.js";

/**
 * The abuses of issue 10 against one server on its defaults (2 worker threads, as the Deployment
 * runs it), with an Info probe every 250 ms alongside: the server's peak RSS, the probe's worst
 * round trip, and what each abuse got. Run: `npm run build && node dist/bench/server-abuse.js`.
 */

/** Probes Info every 250 ms until stopped; resolves the worst round trip in ms. */
function probe(server: PoolServer) {
  let stop = false;
  const done = (async () => {
    let worst = 0;
    while (!stop) {
      const start = performance.now();
      await server.refreshInfo({ timeoutMs: 60_000 }).catch(() => {});
      worst = Math.max(worst, performance.now() - start);
      await sleep(250);
    }
    return worst;
  })();
  return async () => {
    stop = true;
    return done;
  };
}

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => "OK",
    (error: { codeName?: string }) => error.codeName ?? String(error),
  );

function countOf(outcomes: string[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  return [...counts].map(([o, n]) => `${n} ${o}`).join(", ");
}

async function main() {
  const [local] = await startLocalServers(1, { workers: 2, stderr: "ignore" });
  const pid = local!.process.pid!;
  const pool = await Pool.connect([local!.address], { retries: 0 });
  const server = pool.servers[0]!;
  const rows: string[][] = [];
  const run = async (name: string, abuse: () => Promise<string>) => {
    const stopProbe = probe(server);
    const start = performance.now();
    const result = await abuse();
    const seconds = (performance.now() - start) / 1000;
    const worst = await stopProbe();
    const rss = (await server.refreshInfo()).maxRssBytes / 2 ** 20;
    rows.push([name, result, `${seconds.toFixed(1)} s`, `${worst.toFixed(0)} ms`, `${rss.toFixed(0)} MiB`]);
  };
  try {
    await run("20 streams of 64 MiB without a newline", async () => {
      const chunk = Buffer.alloc(256 << 10, "7".charCodeAt(0));
      const stream = () => {
        async function* requests() {
          yield { options: TableOptions.fromPartial({ fileName: "long.csv" }) };
          for (let i = 0; i < 256; i++) yield { chunk };
        }
        return outcome(server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 120_000 }));
      };
      return countOf(await Promise.all(Array.from({ length: 20 }, stream)));
    });
    await run("one row of 1,000,000 cells (2 MB)", async () => {
      const row = Buffer.from(`${"1;".repeat(999_999)}1\n`);
      async function* requests() {
        yield { options: TableOptions.fromPartial({ fileName: "wide.csv" }) };
        for (let at = 0; at < row.byteLength; at += 256 << 10)
          yield { chunk: row.subarray(at, at + (256 << 10)) };
      }
      return outcome(server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 120_000 }));
    });
    await run("one row of 500,000 cells (1 MB, within the line cap)", async () => {
      const row = Buffer.from(`${"1;".repeat(499_999)}1\n`);
      async function* requests() {
        yield { options: TableOptions.fromPartial({ fileName: "wide.csv" }) };
        for (let at = 0; at < row.byteLength; at += 256 << 10)
          yield { chunk: row.subarray(at, at + (256 << 10)) };
      }
      return outcome(server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 120_000 }));
    });
    await run("a batch of 10,000 empty Circles items", async () => {
      const item = Buffer.from(CirclesRequest.encode(CirclesRequest.fromPartial({})).finish());
      const invoke = methodsOf(BatchServiceDefinition).invoke!;
      return outcome(
        server.unary(
          invoke,
          { method: computeMethods.circles.path, requests: Array.from({ length: 10_000 }, () => item) },
          { timeoutMs: 120_000 },
        ),
      );
    });
    await run("2,000 silent TCP connections", async () => {
      const [host, port] = [
        local!.address.slice(0, local!.address.lastIndexOf(":")),
        Number(local!.address.split(":").pop()),
      ];
      const sockets: Socket[] = [];
      for (let i = 0; i < 2000; i++) {
        const socket = connect({ host, port });
        socket.on("error", () => {});
        socket.resume();
        sockets.push(socket);
      }
      await sleep(1000);
      const heldAt1s = readdirSync(`/proc/${pid}/fd`).length;
      await sleep(6000);
      const heldAt7s = readdirSync(`/proc/${pid}/fd`).length;
      const closed = sockets.filter((s) => s.destroyed || s.readableEnded).length;
      for (const socket of sockets) socket.destroy();
      return `server fds ${heldAt1s} at 1 s, ${heldAt7s} at 7 s; ${closed} closed by the server`;
    });
  } finally {
    await pool.close();
    await local!.stop();
  }
  const header = ["abuse", "outcome", "time", "worst Info probe", "server peak RSS"];
  console.log(`| ${header.join(" | ")} |\n| ${header.map(() => "---").join(" | ")} |`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
}

await main();
