import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import type { ServerSample, StatsSource } from "../server-stats.js";
import { pageHtml } from "./page.js";
import { pageScript } from "./page-script.js";

/** What the page gets every second: the servers' figures and, with --queue, the queue's depth. */
export interface Snapshot {
  /** Date.now() of the sample. */
  t: number;
  servers: ServerSample[];
  queue?: { name: string; counts: Record<string, number> } | { error: string };
}

export interface DashboardOptions {
  host: string;
  port: number;
  intervalMs: number;
  source: StatsSource;
  /** The durable queue's depth, asked on every sample (--queue). */
  queueDepth?: () => Promise<Snapshot["queue"]>;
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

/**
 * uPlot's files, read from its package at run time: the page loads nothing from elsewhere. Found
 * by resolution from this module, so a global install and the repository both find them.
 */
async function uplotFiles(): Promise<{ js: string; css: string }> {
  const require = createRequire(import.meta.url);
  const [js, css] = await Promise.all([
    readFile(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
    readFile(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
  ]);
  return { js, css };
}

/**
 * Serves the dashboard: the page, its script and uPlot, and /events, a server-sent event stream
 * with one snapshot a second. One sampler for every open page: a second tab asks the servers
 * nothing more; sampling stops when the dashboard closes.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const uplot = await uplotFiles();
  const listeners = new Set<ServerResponse>();
  let last: string | undefined;
  const files: Record<string, [string, string]> = {
    "/": ["text/html; charset=utf-8", pageHtml],
    "/page.js": ["text/javascript; charset=utf-8", pageScript],
    "/uPlot.iife.min.js": ["text/javascript; charset=utf-8", uplot.js],
    "/uPlot.min.css": ["text/css; charset=utf-8", uplot.css],
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? "/", "http://dashboard").pathname;
    if (request.method !== "GET") {
      response.writeHead(405).end();
      return;
    }
    if (path === "/events") {
      response.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      if (last) response.write(last);
      listeners.add(response);
      request.on("close", () => listeners.delete(response));
      return;
    }
    const file = files[path];
    if (!file) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    response.writeHead(200, { "content-type": file[0], "cache-control": "no-store" }).end(file[1]);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const stop = new AbortController();
  const sampling = (async () => {
    while (!stop.signal.aborted) {
      const [servers, queue] = await Promise.all([
        options.source.sample(),
        options.queueDepth?.().catch((error: Error) => ({ error: error.message })),
      ]);
      const snapshot: Snapshot = { t: Date.now(), servers, ...(queue ? { queue } : {}) };
      last = `data: ${JSON.stringify(snapshot)}\n\n`;
      for (const listener of listeners) listener.write(last);
      // Node's own timer: ends early on the stop signal (its AbortError is no error here).
      await sleep(options.intervalMs, undefined, { signal: stop.signal }).catch(() => {});
    }
  })();
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/`,
    close: async () => {
      stop.abort();
      await sampling;
      for (const listener of listeners) listener.end();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
