#!/usr/bin/env node
// One process of the load test: CLIENTS pools, each with TCP connections of its own, mapping small
// and medium tasks over the servers until the deadline. Prints one JSON line of what it saw.
import { performance } from "node:perf_hooks";
import { Pool, type PoolServer } from "rpcpool";
import { columnSumsCall, computeMethods, lessonColumnSums } from "rpcpool/lesson";

export interface LoadClientArgs {
  servers: string[];
  clients: number;
  durationMs: number;
  /** A lesson table of `tableRows` rows: the medium task. */
  table: string;
  tableRows: number;
}

export interface LoadClientReport {
  issued: number;
  succeeded: number;
  failed: number;
  wrong: number;
  errors: string[];
  latenciesUs: number[];
}

const args: LoadClientArgs = JSON.parse(process.argv[2]!);
const expectedSums = lessonColumnSums(args.tableRows);
const report: LoadClientReport = {
  issued: 0,
  succeeded: 0,
  failed: 0,
  wrong: 0,
  errors: [],
  latenciesUs: [],
};
let deadline = 0;

function check(ok: boolean, what: string) {
  if (ok) return;
  report.wrong++;
  if (report.errors.length < 5) report.errors.push(`wrong result: ${what}`);
}

/** Times one call of a task; the latency is the call's, as the user's code would see it. */
function timedTask<I, R>(fn: (input: I, server: PoolServer) => Promise<R>) {
  return async (input: I, server: PoolServer) => {
    const start = performance.now();
    const value = await fn(input, server);
    report.latenciesUs.push((performance.now() - start) * 1000);
    return value;
  };
}

async function client(id: number, pool: Pool) {
  try {
    for (let round = 0; performance.now() < deadline; round++) {
      // Small: means of short lists and circles, 16 tasks a map.
      const lists = Array.from({ length: 16 }, (_, i) => [id, round, i, id + round + i]);
      const means = await pool.mapSettled(
        lists,
        timedTask((list: number[], server) =>
          server.unary(computeMethods.means, { lists: [{ values: list }] }),
        ),
        { perServer: 4 },
      );
      report.issued += lists.length;
      means.forEach((o, i) => {
        if (!o.ok) {
          report.failed++;
          if (report.errors.length < 5) report.errors.push(o.error.message);
          return;
        }
        report.succeeded++;
        const l = lists[i]!;
        check(o.value.means[0] === (l[0]! + l[1]! + l[2]! + l[3]!) / 4, `mean of ${l}`);
      });
      const radii = [id + 1, round + 1];
      const circles = await pool.mapSettled(
        [radii],
        timedTask((r: number[], server) => server.unary(computeMethods.circles, { radii: r, pi: 3.25 })),
      );
      report.issued++;
      const c = circles[0]!;
      if (c.ok) {
        report.succeeded++;
        check(c.value.lengths[1] === 2 * 3.25 * radii[1]!, `circle length of ${radii[1]}`);
      } else {
        report.failed++;
        if (report.errors.length < 5) report.errors.push(c.error.message);
      }
      // Medium: the column sums of a table streamed from a file, two at a time.
      const sums = await pool.mapSettled(
        [args.table, args.table],
        timedTask((file: string, server) => columnSumsCall(server, file)),
      );
      report.issued += 2;
      for (const o of sums) {
        if (!o.ok) {
          report.failed++;
          if (report.errors.length < 5) report.errors.push(o.error.message);
          continue;
        }
        report.succeeded++;
        check(
          o.value.rows === args.tableRows && o.value.sums.every((s, c) => s === expectedSums[c]),
          `column sums of ${args.table}`,
        );
      }
    }
  } finally {
    await pool.close();
  }
}

// Connect every client first: the run's clock starts when all are up, so no time goes to start-up.
const pools = await Promise.all(Array.from({ length: args.clients }, () => Pool.connect(args.servers)));
process.stdout.write("running\n");
deadline = performance.now() + args.durationMs;
await Promise.all(pools.map((pool, id) => client(id, pool)));
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
