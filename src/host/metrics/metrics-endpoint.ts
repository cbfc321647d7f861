import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { BearerToken } from "../bearer-token.js";

export interface MetricsEndpointOptions {
  host: string;
  /** 0 picks a free one. */
  port: number;
  registry: Registry;
  /** The server's token (--token-file): a scrape must send `authorization: Bearer <token>` too. */
  token?: BearerToken;
}

export interface MetricsEndpoint {
  /** HOST:PORT it listens on, with the port it was given. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics in the Prometheus text format on a plain HTTP port of its own (Prometheus
 * scrapes HTTP/1.1, which a gRPC port does not speak). A server with a token guards the scrape
 * with it, as it guards its calls: figures such as the methods hosted and their call counts are
 * not for anyone who can reach the port. Anything else is 404.
 */
export async function serveMetrics(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const { registry, token } = options;
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: scrape /metrics\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (token && !token.accepts(request.headers.authorization)) {
      response
        .writeHead(401, { "www-authenticate": 'Bearer realm="rpcpool"', "content-type": "text/plain" })
        .end("missing or wrong bearer token (send authorization: Bearer <token>)\n");
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { "content-type": registry.contentType });
        response.end(request.method === "HEAD" ? undefined : text);
      },
      (error) => {
        response.writeHead(500, { "content-type": "text/plain" }).end(`${(error as Error)?.message}\n`);
      },
    );
  });
  // A scraper that opens a connection and says nothing must not hold it for ever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    address: `${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
