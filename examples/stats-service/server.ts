#!/usr/bin/env node
// An rpcpool server hosting the user's StatsService: `server.js --port 50051`.
import { startServer } from "rpcpool";
import { statsService } from "./stats-service.js";

const port = Number(process.argv[process.argv.indexOf("--port") + 1] ?? 0) || 0;
const server = await startServer({ port, services: [statsService] });
process.once("SIGTERM", () => server.close().then(() => process.exit(0)));
process.once("SIGINT", () => server.close().then(() => process.exit(0)));
process.stdout.write(`listening on ${server.address}\n`);
