#!/usr/bin/env node
import { availableParallelism } from "node:os";
import { setLogger } from "@grpc/grpc-js";
import { Command } from "commander";
import { integerIn, labelPairs, port, positiveInteger } from "../src/cli/option-parsers.js";
import { runProgram, UsageError } from "../src/cli/run-program.js";
import { serverSecurity } from "../src/cli/server-security.js";
import {
  dataRootFailure,
  isBindLogLine,
  listenFailure,
  metricsAddress,
  metricsListenFailure,
  serviceFailure,
} from "../src/cli/server-startup.js";
import { defaultMaxBatchItems } from "../src/host/batch-service.js";
import { defaultMaxHealthWatches } from "../src/host/call-guard.js";
import { defaultConnectionLimits } from "../src/host/connection-limits.js";
import { exposureWarning } from "../src/host/exposure-warning.js";
import { defaultMaxPriorityWaitFactor } from "../src/host/fair-queue.js";
import type { HostedService } from "../src/host/hosted-service.js";
import { defaultSessionLimits } from "../src/host/session-service.js";
import {
  defaultKeepaliveMs,
  defaultKeepaliveTimeoutMs,
  defaultMaxCalls,
  defaultMaxConnectionIdleMs,
  startServer,
} from "../src/host/start-server.js";
import {
  defaultKeptShare,
  defaultPutStallMs,
  defaultStoreBytes,
  defaultStoreIdleMs,
} from "../src/host/value-store.js";
import { lessonServices } from "../src/lesson/host/lesson-services.js";
import { defaultTableLimits } from "../src/lesson/host/table-stream.js";
import type { RunningQueueWorker } from "../src/queue/queue-worker.js";
import { readTokenFile } from "../src/rpc/client-credentials.js";
import { serviceNameOf } from "../src/rpc/method-spec.js";
import { version } from "../src/version.js";

// The last resort (issue 17): a rejection nobody handled is a bug on one call's path (every
// handler answers its own errors), not a reason to stop serving every other call: logged, not fatal.
process.on("unhandledRejection", (reason) => {
  process.stderr.write(
    `internal error (unhandled rejection, still serving): ${(reason as Error)?.stack ?? reason}\n`,
  );
});

// grpc-js logs a failed bind before it reports it; listenFailure says it better ("port N is
// already in use"): that one line is dropped, every other log line stays.
// (grpc-js's default logger, otherwise: a letter for the severity, then the message, on stderr.)
setLogger({
  error: (message?: unknown, ...rest: unknown[]) => {
    if (!isBindLogLine(message)) console.error(`E ${message}`, ...rest);
  },
  info: (message?: unknown, ...rest: unknown[]) => console.error(`I ${message}`, ...rest),
  debug: (message?: unknown, ...rest: unknown[]) => console.error(`D ${message}`, ...rest),
});

/** Collects a repeatable option's values. */
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

const program = new Command("rpcpool-server")
  .description(
    "A compute server of rpcpool: your services (--service) or the lesson's computations over gRPC, on worker threads.",
  )
  .version(version)
  .option("--host <host>", "address to listen on (0.0.0.0 for every interface)", "127.0.0.1")
  .option("--port <port>", "port; 0 picks a free one", port, 50051)
  .option("--workers <n>", "worker threads", positiveInteger, availableParallelism())
  .option("--name <name>", "name stamped on replies (default HOST:PORT)")
  .option(
    "--label <key=value>",
    "a label of this server, shown in Info and matched by clients' --require/--prefer (repeatable)",
    labelPairs("--label"),
  )
  .option(
    "--grace <ms>",
    "on SIGTERM, how long calls in flight may take to finish",
    integerIn(1, 2 ** 31 - 1),
    30_000,
  )
  .option(
    "--service <module>",
    "host MODULE's default export, one service { definition, implementation } or an array (a .js file, or an installed package; repeatable)",
    collect,
  )
  .option("--lesson", "with --service: host the lesson's services too (without --service they always are)")
  .option("--data-root <dir>", "serve the files under DIR to clients that name them (--remote-paths)")
  .option("--tls-cert <file>", "PEM certificate chain: serve TLS")
  .option("--tls-key <file>", "PEM private key of --tls-cert")
  .option("--tls-ca <file>", "PEM CA: require client certificates it signed (mutual TLS)")
  .option("--token-file <file>", "require `authorization: Bearer <token>` on every call (health stays open)")
  .option("--max-message-bytes <n>", "largest message accepted", integerIn(1024, 2 ** 31 - 1), 64 << 20)
  .option(
    "--max-calls-per-connection <n>",
    "most calls in flight from one client connection",
    positiveInteger,
    1000,
  )
  .option(
    "--max-calls-per-client <n>",
    "most calls in flight or waiting from one client (its connection, or its rpcpool-client name); default: no bound",
    positiveInteger,
  )
  .option(
    "--max-priority-wait-factor <f>",
    "priorities' aging: a task waiting this many mean task times goes before any priority of its client",
    integerIn(1, 10_000),
    defaultMaxPriorityWaitFactor,
  )
  .option(
    "--max-calls <n>",
    "most calls in flight on the whole server (batch items count; health watches have their own cap)",
    integerIn(1, 2 ** 31 - 1),
    defaultMaxCalls,
  )
  .option(
    "--max-health-watches <n>",
    "most health Watch streams open at once",
    integerIn(1, 2 ** 31 - 1),
    defaultMaxHealthWatches,
  )
  .option(
    "--max-batch-items <n>",
    "most items one batch may carry",
    integerIn(1, 2 ** 31 - 1),
    defaultMaxBatchItems,
  )
  .option(
    "--max-deadline-ms <ms>",
    "longest deadline a call may ask for",
    integerIn(1, 2 ** 31 - 1),
    24 * 3_600_000,
  )
  .option(
    "--max-table-bytes <n>",
    "most bytes of table per call (default: no cap)",
    integerIn(1, Number.MAX_SAFE_INTEGER),
  )
  .option(
    "--max-line-bytes <n>",
    "longest line of a table",
    integerIn(1024, 2 ** 31 - 1),
    defaultTableLimits.maxLineBytes,
  )
  .option(
    "--max-buffer-bytes <n>",
    "most bytes of unfinished lines all table calls may hold at once",
    integerIn(1024, Number.MAX_SAFE_INTEGER),
    defaultTableLimits.maxBufferBytes,
  )
  .option(
    "--stall-timeout-ms <ms>",
    "refuse a table call that holds unfinished-line bytes and receives none for this long",
    integerIn(1, 2 ** 31 - 1),
    defaultTableLimits.stallTimeoutMs,
  )
  .option(
    "--max-columns <n>",
    "widest row of a table",
    integerIn(1, 2 ** 31 - 1),
    defaultTableLimits.maxColumns,
  )
  .option(
    "--max-connections <n>",
    "most client connections open at once",
    integerIn(1, 2 ** 31 - 1),
    defaultConnectionLimits.maxConnections,
  )
  .option(
    "--max-connections-per-address <n>",
    "most client connections from one IP address",
    integerIn(1, 2 ** 31 - 1),
    defaultConnectionLimits.maxConnectionsPerAddress,
  )
  .option(
    "--preface-timeout-ms <ms>",
    "how long a new connection may stay silent before its HTTP/2 preface",
    integerIn(1, 2 ** 31 - 1),
    defaultConnectionLimits.prefaceTimeoutMs,
  )
  .option(
    "--max-connection-idle-ms <ms>",
    "close a connection without calls for this long (clients reconnect)",
    integerIn(1, 2 ** 31 - 1),
    defaultMaxConnectionIdleMs,
  )
  .option(
    "--keepalive-ms <ms>",
    "ping each client connection after this long; one that does not answer is closed (its sessions end)",
    integerIn(100, 2 ** 31 - 1),
    defaultKeepaliveMs,
  )
  .option(
    "--keepalive-timeout-ms <ms>",
    "how long a client has to answer the server's ping",
    integerIn(100, 2 ** 31 - 1),
    defaultKeepaliveTimeoutMs,
  )
  .option(
    "--max-session-objects <n>",
    "most session objects alive on the server, all sessions together",
    integerIn(1, 2 ** 31 - 1),
    defaultSessionLimits.maxObjects,
  )
  .option(
    "--max-sessions-per-connection <n>",
    "most sessions open at once on one client connection",
    integerIn(1, 2 ** 31 - 1),
    defaultSessionLimits.maxSessionsPerConnection,
  )
  .option(
    "--store-bytes <n>",
    "most bytes of broadcast, scattered and kept values held (least recently used go first)",
    integerIn(1, Number.MAX_SAFE_INTEGER),
    defaultStoreBytes,
  )
  .option(
    "--store-idle-ms <ms>",
    "a stored value unused for this long is dropped",
    integerIn(10, 7 * 24 * 3_600_000),
    defaultStoreIdleMs,
  )
  .option(
    "--store-put-stall-ms <ms>",
    "a Put of a value that sends nothing for this long is refused and its bytes freed",
    integerIn(10, 2 ** 31 - 1),
    defaultPutStallMs,
  )
  .option(
    "--store-kept-percent <n>",
    "percent of --store-bytes that Puts cannot take from results kept on this server",
    integerIn(0, 100),
    defaultKeptShare * 100,
  )
  .option(
    "--queue <url>",
    "also take tasks from this queue: redis://[:PASSWORD@]HOST[:PORT][/DB], rediss:// for TLS",
  )
  .option(
    "--queue-lock-ms <ms>",
    "a queued task whose server died is taken again after this long",
    integerIn(500, 3_600_000),
    30_000,
  )
  .option(
    "--queue-concurrency <n>",
    "queued tasks of each method run at once (default: --workers)",
    positiveInteger,
  )
  .option(
    "--metrics <host:port>",
    "serve Prometheus metrics at http://HOST:PORT/metrics (port 0 picks a free one; --token-file guards it too)",
    metricsAddress,
  )
  .option("--quiet", "log errors only")
  .option("--exit-with-stdin", "stop when standard input closes (used by clients that start local servers)")
  .action(async (options) => {
    const security = serverSecurity(options);
    // Loaded only with --metrics: a server without it never loads prom-client.
    const metrics = options.metrics
      ? (await import("../src/host/metrics/prometheus-server.js")).serverMetrics()
      : undefined;
    const services = await hostedServices({ ...options, tables: metrics?.tables });
    const server = await startServer({
      host: options.host,
      port: options.port,
      workers: options.workers,
      maxPriorityWaitFactor: options.maxPriorityWaitFactor,
      name: options.name,
      labels: options.label,
      services,
      credentials: security.credentials,
      maxMessageBytes: options.maxMessageBytes,
      store: {
        capacityBytes: options.storeBytes,
        idleMs: options.storeIdleMs,
        putStallMs: options.storePutStallMs,
        keptShare: options.storeKeptPercent / 100,
      },
      guard: {
        token: security.token,
        maxCallsPerConnection: options.maxCallsPerConnection,
        maxCallsPerClient: options.maxCallsPerClient,
        maxCalls: options.maxCalls,
        maxHealthWatches: options.maxHealthWatches,
        maxDeadlineMs: options.maxDeadlineMs,
      },
      maxBatchItems: options.maxBatchItems,
      connections: {
        maxConnections: options.maxConnections,
        maxConnectionsPerAddress: options.maxConnectionsPerAddress,
        prefaceTimeoutMs: options.prefaceTimeoutMs,
      },
      maxConnectionIdleMs: options.maxConnectionIdleMs,
      keepaliveMs: options.keepaliveMs,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs,
      sessions: {
        maxObjects: options.maxSessionObjects,
        maxSessionsPerConnection: options.maxSessionsPerConnection,
      },
      observer: metrics?.observer,
    }).catch((error) => {
      throw options.service
        ? serviceFailure(listenFailure(options.host, options.port, error))
        : listenFailure(options.host, options.port, error);
    });
    let queue: RunningQueueWorker | undefined;
    if (options.queue) {
      // Loaded only here: BullMQ takes a while to load, and a server without --queue never needs it.
      const [{ startQueueWorker }, { QueueUrlError }] = await Promise.all([
        import("../src/queue/queue-worker.js"),
        import("../src/queue/queue-url.js"),
      ]);
      try {
        queue = await startQueueWorker({
          url: options.queue,
          server,
          concurrency: options.queueConcurrency ?? options.workers,
          lockMs: options.queueLockMs,
          maxTaskMs: options.maxDeadlineMs,
          // It also takes the tasks of jobs whose --require these labels meet (docs/queue.md).
          labels: options.label,
          // Outcomes signed with the token, so clients given it can refuse forged ones (docs/queue.md).
          signingKey: options.tokenFile ? readTokenFile(options.tokenFile) : undefined,
          log: (message) => process.stderr.write(`${message}\n`),
          observer: metrics?.queue,
        });
      } catch (error) {
        await server.close(0);
        if (error instanceof QueueUrlError) throw new UsageError(`--queue: ${error.message}`);
        throw error;
      }
      if (!options.quiet) {
        process.stderr.write(`taking tasks of ${queue.methods.length} methods from ${queue.shown}\n`);
      }
    }
    let scrape: { address: string; close(): Promise<void> } | undefined;
    if (metrics) {
      const { serveMetrics } = await import("../src/host/metrics/metrics-endpoint.js");
      const { host, port } = options.metrics as { host: string; port: number };
      try {
        scrape = await serveMetrics({ host, port, registry: metrics.registry, token: security.token });
      } catch (error) {
        await queue?.close(0);
        await server.close(0);
        throw metricsListenFailure(host, port, error);
      }
    }
    const warning = exposureWarning(options.host, { tls: security.tls, token: security.token !== undefined });
    if (warning) process.stderr.write(`${warning}\n`);
    // Handlers go in before the line is printed: a script may signal as soon as it reads it.
    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        if (!options.quiet) process.stderr.write(`${signal}: draining ${server.name}\n`);
        // Queued tasks first: those running finish (or go back to the queue), then the calls.
        (queue?.close(options.grace) ?? Promise.resolve())
          .then(() => server.close(options.grace))
          // Scraped until the end: the drain's last figures are there to be seen.
          .then(() => scrape?.close())
          .then(resolve);
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
      if (options.exitWithStdin) {
        process.stdin.on("data", () => {});
        process.stdin.once("end", () => stop("stdin closed"));
      }
    });
    process.stdout.write(`listening on ${server.address}\n`);
    // The second line (the first stays "listening on", which local-servers.ts and scripts read):
    // where to scrape, with the port --metrics HOST:0 was given.
    if (scrape) process.stdout.write(`metrics on http://${scrape.address}/metrics\n`);
    await stopped;
  });

/**
 * What this server hosts: the lesson's services (with no --service, or with --lesson), then each
 * --service module's. The lesson's come first: a bad --data-root fails before any module loads.
 */
async function hostedServices(options: {
  service?: string[];
  lesson?: boolean;
  dataRoot?: string;
  maxTableBytes?: number;
  maxLineBytes: number;
  maxBufferBytes: number;
  stallTimeoutMs: number;
  maxColumns: number;
  /** The lesson's table counters, with --metrics. */
  tables?: { tableProcessed(bytes: number, rows: number): void };
}): Promise<HostedService[]> {
  const own = options.service ?? [];
  const withLesson = own.length === 0 || options.lesson === true;
  if (!withLesson && options.dataRoot !== undefined) {
    throw new UsageError(
      "--data-root serves files to the lesson's table methods: with --service, add --lesson",
    );
  }
  const lesson = withLesson
    ? await lessonServices({
        dataRoot: options.dataRoot,
        tableLimits: {
          ...defaultTableLimits,
          maxTableBytes: options.maxTableBytes ?? Number.POSITIVE_INFINITY,
          maxLineBytes: options.maxLineBytes,
          maxBufferBytes: options.maxBufferBytes,
          stallTimeoutMs: options.stallTimeoutMs,
          maxColumns: options.maxColumns,
        },
        tables: options.tables,
      }).catch((error) => {
        throw dataRootFailure(options.dataRoot!, error);
      })
    : [];
  if (own.length === 0) return lesson;
  // Loaded only here: a lesson server never reads a module.
  const { loadServiceModules } = await import("../src/cli/service-modules.js");
  const taken = lesson.map((s) => serviceNameOf(s.definition));
  const modules = await loadServiceModules(own, { taken });
  return [...lesson, ...modules.flatMap((m) => m.services)];
}

// Exit explicitly: a half-closed client connection must not keep a stopped server alive.
process.exit(await runProgram(program, process.argv, { commandSpan: false }));
