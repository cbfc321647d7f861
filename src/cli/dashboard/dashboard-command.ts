import type { Command } from "commander";
import { say } from "../output.js";
import type { CommonOptions } from "../pool-from-options.js";
import { openQueue } from "../queue-options.js";
import { StatsSource } from "../server-stats.js";
import { type Snapshot, startDashboard } from "./dashboard-server.js";

export interface DashboardCommandOptions extends CommonOptions {
  host: string;
  port: number;
  intervalMs: number;
  queue?: string;
}

const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * `rpcpool dashboard`: a web page of the servers' figures, served on loopback until Ctrl-C (or
 * SIGTERM). Prints its address on stdout. The page has no login: on another address anyone who
 * reaches it sees the servers' names and methods, hence the warning.
 */
export async function dashboardCommand(options: DashboardCommandOptions, _command: Command): Promise<void> {
  const source = new StatsSource(options);
  const queue = options.queue || process.env.RPCPOOL_QUEUE ? await openQueue(options) : undefined;
  const queueDepth = queue
    ? async (): Promise<Snapshot["queue"]> => {
        // Tasks of the jobs still kept, by state: waiting and running are the queue's depth.
        const counts = { jobs: 0, waiting: 0, running: 0, done: 0, failed: 0 };
        for (const job of await queue.jobs()) {
          counts.jobs++;
          counts.waiting += job.waiting;
          counts.running += job.running;
          counts.done += job.done;
          counts.failed += job.failed;
        }
        return { name: "tasks", counts };
      }
    : undefined;
  if (!loopback.test(options.host)) {
    say(
      `warning: the dashboard on ${options.host} has no login: whoever reaches it sees every server's figures`,
    );
  }
  const dashboard = await startDashboard({
    host: options.host,
    port: options.port,
    intervalMs: options.intervalMs,
    source,
    queueDepth,
  });
  process.stdout.write(`dashboard on ${dashboard.url}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await dashboard.close();
  await source.close();
  await queue?.close();
}
