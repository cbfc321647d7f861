// Servers of different speed (issue 20, item 5): two servers, one throttled to a quarter of the
// other's CPU, a job of four files and a job of one big file; each job's time against the ideal,
// the total bytes over the two servers' rates measured alone.
//
// The throttle is a cgroup's CPU quota (v1 cpu.cfs_quota_us, or v2 cpu.max): a whole CPU for the
// fast server, a quarter for the slow one, both with one worker thread. Without root (no cgroup
// can be made) the slow server gets --workers 1 and the fast one --workers 4 instead, which on a
// machine of fewer than four free cores is not a 4:1 throttle: the note says which was used.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Pool } from "rpcpool";
import { columnSumsJob, lessonTableBytes } from "rpcpool/lesson";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import type { Figure } from "./figures.js";

interface Throttle {
  how: string;
  /** Puts a process under a share of one CPU. */
  limit(pid: number, share: number, name: string): void;
  cleanup(): void;
}

/** A cgroup CPU quota, when this process may make cgroups (root), else undefined. */
function cgroupThrottle(): Throttle | undefined {
  const made: string[] = [];
  const period = 100_000;
  const v1 = "/sys/fs/cgroup/cpu";
  const v2 = "/sys/fs/cgroup";
  const version = existsSync(join(v1, "cpu.cfs_quota_us"))
    ? 1
    : existsSync(join(v2, "cgroup.controllers"))
      ? 2
      : 0;
  if (version === 0) return undefined;
  const throttle: Throttle = {
    how: `cgroup v${version} CPU quota`,
    limit(pid, share, name) {
      const dir = join(version === 1 ? v1 : v2, `rpcpool-bench-${process.pid}-${name}`);
      mkdirSync(dir, { recursive: true });
      made.push(dir);
      const quota = Math.round(period * share);
      if (version === 1) {
        writeFileSync(join(dir, "cpu.cfs_period_us"), String(period));
        writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quota));
      } else writeFileSync(join(dir, "cpu.max"), `${quota} ${period}`);
      writeFileSync(join(dir, "cgroup.procs"), String(pid));
    },
    cleanup() {
      for (const dir of made.splice(0)) {
        try {
          rmdirSync(dir);
        } catch {
          // Still has a process (a server not yet gone): left for the system.
        }
      }
    },
  };
  try {
    // A probe: may this process make one at all?
    const probe = join(version === 1 ? v1 : v2, `rpcpool-bench-${process.pid}-probe`);
    mkdirSync(probe);
    rmdirSync(probe);
    return throttle;
  } catch {
    return undefined;
  }
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await run();
  return { ms: performance.now() - start, value };
}

/** What a job took: seconds, its tasks, and the bytes each server ran. */
interface JobRun {
  seconds: number;
  tasks: number;
  bytesOn: Map<string, number>;
}

/** A column-sums job over `files` on `pool` (every file's sums checked to be there). */
async function job(pool: Pool, files: string[]): Promise<JobRun> {
  let sizes: number[] = [];
  const bytesOn = new Map<string, number>();
  const { ms, value } = await timed(() =>
    columnSumsJob(pool, files, {
      onPlan: (tasks) => {
        sizes = tasks.map((t) => t.bytes);
      },
      onEvent: (event) => {
        if (event.type === "done")
          bytesOn.set(event.server, (bytesOn.get(event.server) ?? 0) + (sizes[event.index] ?? 0));
      },
    }),
  );
  for (const file of value.files)
    if (!file.ok) throw new Error(`hetero bench: a file failed: ${file.error.message}`);
  return { seconds: ms / 1000, tasks: sizes.length, bytesOn };
}

export async function heteroServers(options: {
  dir: string;
  /** Bytes of each of the four files (the big file is the four together). */
  fileBytes: number;
  /**
   * The fast server's share of a CPU (the slow one gets a quarter of it). Below one CPU so that
   * the servers, not the client that reads and sends the tables on the same machine, set the pace.
   */
  fastCpu: number;
  say: (line: string) => void;
}): Promise<Figure[]> {
  const { dir, say } = options;
  const rows = 7 * Math.ceil(options.fileBytes / 7 / 105);
  const table = lessonTableBytes(rows);
  const four = [0, 1, 2, 3].map((i) => join(dir, `hetero-${i}.csv`));
  for (const path of four) writeFileSync(path, table);
  const big = join(dir, "hetero-big.csv");
  writeFileSync(big, Buffer.concat([table, table, table, table]));
  const total = table.length * 4;

  const throttle = cgroupThrottle();
  let servers: LocalServer[] = [];
  let fast: LocalServer;
  let slow: LocalServer;
  if (throttle) {
    servers = await startLocalServers(2, { workers: 1, stderr: "ignore" });
    [fast, slow] = servers as [LocalServer, LocalServer];
    throttle.limit(fast.process.pid!, options.fastCpu, "fast");
    throttle.limit(slow.process.pid!, options.fastCpu / 4, "slow");
  } else {
    slow = (await startLocalServers(1, { workers: 1, stderr: "ignore" }))[0]!;
    fast = (await startLocalServers(1, { workers: 4, stderr: "ignore" }))[0]!;
    servers = [fast, slow];
  }
  const how = throttle
    ? `${throttle.how}: ${options.fastCpu} and ${options.fastCpu / 4} CPU, 1 worker each`
    : "--workers 4 and 1 (no cgroup)";
  try {
    // Each server's rate alone: the better of two runs over one of the files, before and after.
    const alone = async (server: LocalServer) => {
      const pool = await Pool.connect([server.address]);
      try {
        await job(pool, [four[0]!]);
        const seconds = Math.min(
          (await job(pool, [four[0]!])).seconds,
          (await job(pool, [four[1]!])).seconds,
        );
        return table.length / seconds;
      } finally {
        await pool.close();
      }
    };
    let fastRate = await alone(fast);
    let slowRate = await alone(slow);
    // The slow server listed first: the engine's old rule took it on ties.
    const pool = await Pool.connect([slow.address, fast.address]);
    try {
      // The first job meets servers it has not measured: it splits by worker threads, then learns.
      const cold = await job(pool, four);
      const fourFiles = await job(pool, four);
      const oneFile = await job(pool, [big]);
      // Rates alone again, after: the better of before and after makes the ideal (the machine is
      // shared, and a neighbour's burst during one measurement would flatter the figures).
      fastRate = Math.max(fastRate, await alone(fast));
      slowRate = Math.max(slowRate, await alone(slow));
      const ideal = total / (fastRate + slowRate);
      say(
        `  ${how}: measured alone ${(fastRate / 1e6).toFixed(0)} and ${(slowRate / 1e6).toFixed(0)} MB/s; ideal ${ideal.toFixed(2)} s per job of ${(total / 1e6).toFixed(0)} MB`,
      );
      const note = (run: JobRun) =>
        `${run.seconds.toFixed(2)} s against ideal ${ideal.toFixed(2)} s, ${run.tasks} tasks, ${((run.bytesOn.get(slow.address) ?? 0) / 1e6).toFixed(0)} MB on the slow server (fair share ${((total * slowRate) / (fastRate + slowRate) / 1e6).toFixed(0)} MB; ${how}; rates alone ${(fastRate / 1e6).toFixed(0)} + ${(slowRate / 1e6).toFixed(0)} MB/s)`;
      return [
        {
          name: "heterogeneous servers: 4 files, time over ideal",
          value: fourFiles.seconds / ideal,
          unit: "x",
          target: { value: 1.15, kind: "max" },
          note: `${note(fourFiles)}; first job, before any rate was measured: ${cold.seconds.toFixed(2)} s (${(cold.seconds / ideal).toFixed(2)}x)`,
        },
        {
          name: "heterogeneous servers: 1 big file, time over ideal",
          value: oneFile.seconds / ideal,
          unit: "x",
          target: { value: 1.15, kind: "max" },
          note: note(oneFile),
        },
      ];
    } finally {
      await pool.close();
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    throttle?.cleanup();
  }
}
