import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// A real CPU limit for a server process: a cgroup's CPU quota (v1 cpu controller, or v2 cpu.max),
// so a server is slower by its CPU, not by what it tells. Creating a cgroup needs root: without
// one, tests that need it are skipped, saying why.

const v1 = "/sys/fs/cgroup/cpu";
const v2 = "/sys/fs/cgroup";

export interface CpuGroup {
  /** Puts a process (its threads too) into the group. */
  add(pid: number): void;
  remove(): void;
}

/** A cgroup limited to `share` of one CPU, or why none can be made here. */
export function throttledGroup(name: string, share: number): CpuGroup | string {
  const period = 100_000;
  const quota = Math.round(period * share);
  try {
    let dir: string;
    if (existsSync(join(v1, "cpu.cfs_quota_us"))) {
      dir = join(v1, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "cpu.cfs_period_us"), String(period));
      writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quota));
    } else if (existsSync(join(v2, "cgroup.controllers"))) {
      dir = join(v2, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "cpu.max"), `${quota} ${period}`);
    } else return "no cgroup cpu controller";
    return {
      add: (pid) => writeFileSync(join(dir, "cgroup.procs"), String(pid)),
      remove: () => rmdirSync(dir),
    };
  } catch (error) {
    return `cannot make a cgroup: ${(error as Error).message}`;
  }
}
