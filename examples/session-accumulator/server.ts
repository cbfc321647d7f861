#!/usr/bin/env node
// An rpcpool server hosting the user's session class: `server.js [--host H] [--port P] [--workers N]`.
import { parseArgs } from "node:util";
import { startServer } from "rpcpool";
import { tallyClass } from "./tally-class.js";

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    port: { type: "string" },
    workers: { type: "string" },
  },
});
const server = await startServer({
  host: values.host,
  port: Number(values.port ?? 0),
  workers: values.workers ? Number(values.workers) : 1,
  services: [tallyClass],
});
process.once("SIGTERM", () => server.close().then(() => process.exit(0)));
process.once("SIGINT", () => server.close().then(() => process.exit(0)));
process.stdout.write(`listening on ${server.address}\n`);
