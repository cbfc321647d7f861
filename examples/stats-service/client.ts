#!/usr/bin/env node
// Fans the user's methods out over servers that host StatsService: `client.js --servers A,B`.
import { Pool } from "rpcpool";
import { StatsServiceDefinition } from "./gen/acme/stats/v1/stats.js";

const at = process.argv.indexOf("--servers");
if (at < 0 || !process.argv[at + 1]) {
  process.stderr.write("usage: client.js --servers HOST:PORT,... (servers started with server.js)\n");
  process.exit(2);
}
const pool = await Pool.connect(process.argv[at + 1]!.split(","));
try {
  // The generic definition carries the proto's options: Describe is NO_SIDE_EFFECTS, so the pool
  // retries it on another server if its server fails; CountPrimes says nothing, so it is not.
  const stats = pool.service(StatsServiceDefinition);
  const samples = [
    [1, 2, 3, 4],
    [10, 20],
    [5, 5, 5, 6],
  ].map((values) => ({ values }));
  const described = await stats.map("describe", samples, { chunksize: 2 });
  const primes = await stats.map(
    "countPrimes",
    [10_000, 20_000, 30_000, 40_000].map((below) => ({ below })),
  );
  console.log(JSON.stringify({ described, primes }));
} finally {
  await pool.close();
}
