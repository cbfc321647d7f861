import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { Pool } from "rpcpool";
import { afterEach, describe, expect, it } from "vitest";
import { StatsServiceDefinition } from "../src/gen/rpcpool/pool/v1/stats.js";
import { methodsOf } from "../src/rpc/method-spec.js";
import { useServers } from "./support/local-servers.js";
import { clientProgram, collectRun } from "./support/run-program.js";

/**
 * `--priority` on the CLI orders a client's own calls on a server (issue 20, docs/scheduling.md
 * "Priorities"): on a one-worker server, a command of priority 5 sent while the same client
 * (`--client-name carol`) has a backlog of priority -1 queued there runs before the rest of it.
 *
 * No clock decides it: the backlog's calls are spins that would never end on their own, and the
 * high one a short spin. It can finish only if the server gives it the worker before them; it
 * does finish, and every backlog command is still running then. With first-come-first-served
 * inside the client it would wait for ever (the test's timeout is the hang guard).
 */

const one = useServers(1, { workers: 1 });
const spin = "rpcpool.compute.v1.DemoService/Spin";
const endless = 900_000_000_000; // under the demo's cap (10^12): hours on any machine
const children: ChildProcess[] = [];
const stderrOf = new Map<ChildProcess, string>();

/** `rpcpool call Spin` as client carol at a priority: a real process, its own connection. */
function call(iterations: number, priority: number): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      clientProgram,
      "call",
      spin,
      JSON.stringify({ iterations: String(iterations) }),
      "--servers",
      one.servers[0]!.address,
      "--client-name",
      "carol",
      "--priority",
      String(priority),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  stderrOf.set(child, "");
  child.stderr!.on("data", (data) => stderrOf.set(child, stderrOf.get(child) + String(data)));
  return child;
}

/** Polls the server's Stats until `wanted` holds (no deadline: the test's timeout is the guard). */
async function untilStats(
  pool: Pool,
  wanted: (s: { workersBusy: number; queuedTasks: number }) => boolean,
  except?: ChildProcess,
) {
  const stats = methodsOf(StatsServiceDefinition).stats;
  for (;;) {
    // A command that ended (refused its flags, say) would leave us waiting: said at once.
    for (const child of children) {
      if (child.exitCode !== null && child !== except)
        throw new Error(`rpcpool call exited ${child.exitCode}: ${stderrOf.get(child)}`);
    }
    if (wanted(await pool.servers[0]!.unary(stats, {}, { timeoutMs: 5_000 }))) return;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

describe("rpcpool --priority", () => {
  afterEach(async () => {
    // The endless spins' connections close: the server aborts their runs and frees its worker.
    for (const child of children.splice(0)) {
      if (!running(child)) continue;
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });

  it("runs a client's high-priority command before the rest of its queued low-priority backlog", async () => {
    const pool = await Pool.connect([one.servers[0]!.address], { retries: 0 });
    try {
      // The holder takes the one worker thread.
      const holder = call(endless, 0);
      await untilStats(pool, (s) => s.workersBusy === 1);
      // The backlog waits on the server, behind it.
      const backlog = [call(endless, -1), call(endless, -1), call(endless, -1)];
      await untilStats(pool, (s) => s.queuedTasks === 3);
      // The urgent command comes last.
      const high = call(1_000_000, 5);
      const highRun = collectRun(high, "rpcpool call --priority 5");
      await untilStats(pool, (s) => s.queuedTasks === 4);
      // The worker is free: the server chooses among carol's four waiting calls.
      holder.kill("SIGKILL");
      const done = await highRun;
      expect(done.code, done.stderr).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({ count: "1000000" });
      // None of the backlog ran to its end, nor failed: they still wait (or one runs).
      expect(backlog.map(running)).toEqual([true, true, true]);
      await untilStats(pool, (s) => s.workersBusy === 1 && s.queuedTasks === 2, high);
    } finally {
      await pool.close();
    }
  }, 30_000);
});
