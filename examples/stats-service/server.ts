#!/usr/bin/env node
// An rpcpool server hosting the user's StatsService beside the lesson's services.
import { lessonServices, startServer } from "../../src/index.js";
import { statsService } from "./stats-service.js";

const port = Number(process.argv[process.argv.indexOf("--port") + 1] ?? 0) || 0;
// The lesson's services too: the pool of 0.1 asks DemoService.Info to connect and batches through
// rpcpool.compute.v1.BatchService (the framework's rpcpool.pool.v1 services replace both).
const server = await startServer({ port, services: [statsService, ...(await lessonServices())] });
process.once("SIGTERM", () => server.close().then(() => process.exit(0)));
process.once("SIGINT", () => server.close().then(() => process.exit(0)));
process.stdout.write(`listening on ${server.address}\n`);
