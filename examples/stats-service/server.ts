#!/usr/bin/env node
// An rpcpool server hosting the user's StatsService:
// `server.js [--host H] [--port P] [--workers N] [--exit-with-stdin]`.
import { parseArgs } from "node:util";
import { startServer } from "rpcpool";
import { statsService } from "./stats-service.js";

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    port: { type: "string" },
    workers: { type: "string" },
    "exit-with-stdin": { type: "boolean" },
  },
});
const server = await startServer({
  host: values.host,
  port: Number(values.port ?? 0),
  workers: values.workers ? Number(values.workers) : undefined,
  services: [statsService],
});
process.once("SIGTERM", () => server.close().then(() => process.exit(0)));
process.once("SIGINT", () => server.close().then(() => process.exit(0)));
// A client that started this server (Pool.local) closes our stdin when it goes: go with it.
if (values["exit-with-stdin"]) {
  process.stdin.on("data", () => {}).once("end", () => server.close().then(() => process.exit(0)));
}
process.stdout.write(`listening on ${server.address}\n`);
