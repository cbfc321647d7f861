#!/usr/bin/env node
// A session with one server: a remote object with state, and callbacks the server calls.
// `client.js --servers A,B [--hold]` (--hold: stop answering the server's callbacks, for the tests).
import { parseArgs } from "node:util";
import { Pool } from "rpcpool";
import {
  NumberSourceServiceDefinition,
  ProgressServiceDefinition,
  TallyServiceDefinition,
} from "./gen/acme/tally/v1/tally.js";

const { values } = parseArgs({ options: { servers: { type: "string" }, hold: { type: "boolean" } } });
if (!values.servers) {
  process.stderr.write("usage: client.js --servers HOST:PORT,... [--hold]\n");
  process.exit(2);
}
const pool = await Pool.connect(values.servers.split(","));
try {
  const session = await pool.session(); // the least busy server
  // Callbacks: services of the user's proto that this client implements for the server to call.
  const batches = [[1, 2, 3], [4, 5], [6]];
  const progress: Array<{ batches: number; count: number }> = [];
  session.expose(NumberSourceServiceDefinition, {
    next: async (_request, { signal }) => {
      if (values.hold) {
        process.stdout.write("holding\n");
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
      }
      return { values: batches.shift() ?? [] };
    },
  });
  session.expose(ProgressServiceDefinition, {
    report: async ({ batches, count }) => {
      progress.push({ batches, count });
      return {};
    },
  });
  // A remote object: its state stays on the server between calls.
  const tally = await session.create(TallyServiceDefinition, { label: "demo" });
  const added = await tally.call("add", { values: [10, 20] });
  const pulled = await tally.call("addFromSource", {});
  await tally.release();
  await session.close();
  console.log(JSON.stringify({ server: session.server, added: added.tally, pulled, progress }));
} finally {
  await pool.close();
}
