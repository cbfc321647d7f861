import { startServer } from "../host/start-server.js";
import { lessonServices } from "../lesson/host/lesson-services.js";
import type { StartedServer } from "../pool/local-servers.js";

/**
 * The embedded default's servers, hosted in the program's own process: real gRPC servers of the
 * lesson on loopback, each with its own worker threads, which the pool calls over HTTP/2 as it
 * calls any server. No process is spawned and the host's code loads once for all of them, which
 * made most of a small command's time without --servers; they end with the program.
 *
 * The CLI loads this module only when it has no --servers, by URL (see pool-from-options.ts), so
 * a command on running servers never loads grpc-js; the build bundles it on its own.
 */
export async function inProcessServers(count: number, workers: number): Promise<StartedServer[]> {
  const services = await lessonServices();
  return Promise.all(
    Array.from({ length: count }, async () => {
      const server = await startServer({ host: "127.0.0.1", port: 0, workers, services });
      return { address: server.address, stop: () => server.close(2_000) };
    }),
  );
}
