import type { Command } from "commander";
import { sleepTimeoutMs } from "../lesson/client/lesson-client.js";
import { demoMethods } from "../lesson/client/lesson-methods.js";
import { checkTimed } from "../lesson/client/lesson-replies.js";
import type { Pool } from "../pool/pool.js";
import type { PoolServer } from "../pool/server-connection.js";
import { counted, textTable, writeJson, writeText } from "./output.js";
import { type CommonOptions, poolFromOptions } from "./pool-from-options.js";
import { describeSpeedup, type SpeedupSummary, speedupSummary, timed } from "./speedup-summary.js";

export interface DemoOptions extends CommonOptions {
  calls: number;
  sleepMs: number;
  iterations: number;
}

interface CallRecord {
  call: number;
  server: string;
  pid: number;
  threadId: number;
  elapsedMs: number;
}

interface DemoRun extends SpeedupSummary {
  /** Calls that ran at once in the parallel run: the n of its efficiency E = S/n. */
  parallelCalls: number;
  calls: CallRecord[];
}

/**
 * The lesson's two timing demos: calls of a 1 s sleep and of a CPU-bound count, first one at a
 * time on one server, then fanned out over all servers; each call says who ran it.
 */
export async function demoCommand(options: DemoOptions, _command: Command) {
  const pool = await poolFromOptions(options, undefined, { processes: true });
  try {
    const calls = Array.from({ length: options.calls }, (_, i) => i + 1);
    const servers = Math.max(1, pool.serversFor().length);
    // Waiting costs nothing: a server can hold every sleep at once, as the lesson's threads do,
    // so all calls run at once. The count takes a worker thread: each server runs one per thread.
    const perServer = Math.ceil(options.calls / servers);
    const sleep = await demoRun(pool, calls, perServer, options.calls, async (server, signal) => {
      const reply = await server.unary(
        demoMethods.sleep!,
        { milliseconds: options.sleepMs },
        { signal, timeoutMs: sleepTimeoutMs(options.sleepMs) },
      );
      checkTimed(server.address, reply);
      return reply;
    });
    const spin = await demoRun(
      pool,
      calls,
      undefined,
      Math.min(options.calls, pool.slots()),
      async (server, signal) => {
        const request = { iterations: options.iterations };
        const reply = await server.unary(demoMethods.spin!, request, { signal });
        checkTimed(server.address, reply, request);
        return reply;
      },
    );
    if (options.json) {
      await writeJson({
        servers,
        sleep: { milliseconds: options.sleepMs, ...sleep },
        spin: { iterations: options.iterations, ...spin },
      });
      return;
    }
    await writeText(
      [
        `${counted(options.calls, "call")} of sleep(${options.sleepMs} ms)`,
        callTable(sleep.calls),
        describeSpeedup(sleep, sleep.parallelCalls),
        "",
        `${counted(options.calls, "call")} of a count to ${options.iterations}`,
        callTable(spin.calls),
        describeSpeedup(spin, spin.parallelCalls),
      ].join("\n"),
    );
  } finally {
    await pool.close();
  }
}

async function demoRun(
  pool: Pool,
  calls: number[],
  perServer: number | undefined,
  parallelCalls: number,
  call: (
    server: PoolServer,
    signal: AbortSignal,
  ) => Promise<{ servedBy?: { server: string; pid: number; threadId: number }; elapsedMs: number }>,
): Promise<DemoRun> {
  const run = (servers: Pool["servers"], per?: number) =>
    timed(() => pool.map(calls, (_, server, signal) => call(server, signal), { servers, perServer: per }));
  // The servers --require allows, --prefer's first.
  const usable = pool.serversFor();
  const sequential = await run(usable.slice(0, 1), 1);
  const parallel = await run(usable, perServer);
  return {
    ...speedupSummary(sequential.ms, parallel.ms, usable.length, parallelCalls),
    parallelCalls,
    calls: parallel.value.map((r, i) => ({
      call: i + 1,
      server: r.servedBy!.server,
      pid: r.servedBy!.pid,
      threadId: r.servedBy!.threadId,
      elapsedMs: Math.round(r.elapsedMs * 10) / 10,
    })),
  };
}

function callTable(calls: CallRecord[]): string {
  return textTable(
    ["call", "server", "pid", "thread", "ms"],
    calls.map((c) => [c.call, c.server, c.pid, c.threadId, c.elapsedMs.toFixed(1)]),
  );
}
