#!/usr/bin/env node
// node dist/bench/collectives.js [--tables N] [--rows N] [--servers N]: what broadcasting the
// weights saves in weighted-means (bytes and time), and a scatter / keep / reduce round, on local
// servers. Prints lines as it goes, then one JSON line. Every result is checked against the other.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Pool } from "rpcpool";
import { ColumnSumsRequest, computeMethods, reduceColumnSums, weightedMeansJob } from "rpcpool/lesson";
import { startLocalServers } from "rpcpool/protocol";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const tables = arg("tables", 100);
const rows = arg("rows", 20_000);
const serverCount = arg("servers", 2);
const say = (line: string) => process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), "rpcpool-collectives-"));
const servers = await startLocalServers(serverCount, { workers: 1, stderr: "ignore" });
const pool = await Pool.connect(servers.map((s) => s.address));
try {
  const text = Array.from({ length: rows }, (_, i) => `${i * 0.25};${(i % 13) - 6};${i % 7}`).join("\n");
  const files = Array.from({ length: tables }, (_, i) => {
    const file = join(dir, `t${i}.csv`);
    writeFileSync(file, text);
    return file;
  });
  const weights = Array.from({ length: rows }, (_, i) => 1 + (i % 10) / 10);
  const median = async (run: () => Promise<unknown>) => {
    const times: number[] = [];
    let last: unknown;
    for (let k = 0; k < 3; k++) {
      const start = performance.now();
      last = await run();
      times.push(performance.now() - start);
    }
    return { ms: times.sort((a, b) => a - b)[1]!, last };
  };
  const means = (job: unknown) =>
    JSON.stringify(
      (job as Awaited<ReturnType<typeof weightedMeansJob>>).files.map((o) => o.ok && o.value.means),
    );

  const inline = await median(() =>
    weightedMeansJob(pool, files, weights, { broadcastWeights: false, split: { kind: "none" } }),
  );
  const before = { ...pool.valueTraffic };
  const broadcast = await median(() =>
    weightedMeansJob(pool, files, weights, { broadcastWeights: true, split: { kind: "none" } }),
  );
  if (means(inline.last) !== means(broadcast.last)) throw new Error("broadcast and inline means differ");
  // The weights of one table as they travel inline: a packed repeated double, 8 bytes each.
  const inlineWeightBytes = tables * rows * 8;
  // Three runs: the first broadcast puts the weights; the two after find them on every server.
  const broadcastWeightBytes = pool.valueTraffic.bytes - before.bytes;
  say(`weighted-means, ${tables} tables of ${rows} rows on ${serverCount} servers:`);
  say(
    `  weights inline:    ${(inlineWeightBytes / 1e6).toFixed(1)} MB of weights a run, ${inline.ms.toFixed(0)} ms (median of 3)`,
  );
  say(
    `  weights broadcast: ${(broadcastWeightBytes / 1e6).toFixed(2)} MB over 3 runs (${pool.valueTraffic.puts - before.puts} puts), ${broadcast.ms.toFixed(0)} ms (median of 3)`,
  );

  const start = performance.now();
  const handles = await pool.scatter(files.map(() => Buffer.from(text)));
  const scattered = performance.now();
  const kept = await pool.map(handles, (h, server, signal) =>
    pool.keepOn(
      server,
      computeMethods.columnSums,
      [ColumnSumsRequest.fromPartial({ options: { fileName: "t", tableHandle: h.id } })],
      { signal },
    ),
  );
  const computed = performance.now();
  const total = await reduceColumnSums(pool, kept);
  const reduced = performance.now();
  if (total.rows !== tables * rows) throw new Error(`reduced ${total.rows} rows`);
  say(
    `scatter ${tables} tables: ${(scattered - start).toFixed(0)} ms; column sums kept where they are: ${(computed - scattered).toFixed(0)} ms; reduce: ${(reduced - computed).toFixed(0)} ms`,
  );
  process.stdout.write(
    `${JSON.stringify({
      tables,
      rows,
      servers: serverCount,
      inlineWeightBytesPerRun: inlineWeightBytes,
      broadcastWeightBytesThreeRuns: broadcastWeightBytes,
      inlineMs: Math.round(inline.ms),
      broadcastMs: Math.round(broadcast.ms),
      scatterMs: Math.round(scattered - start),
      keptColumnSumsMs: Math.round(computed - scattered),
      reduceMs: Math.round(reduced - computed),
    })}\n`,
  );
} finally {
  await pool.close();
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}
