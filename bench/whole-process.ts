// Running the programs as a user does, for the whole-process figures: a child process timed from
// spawn to exit, optionally with its own CPU time, and rpcpool-server processes read from /proc.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built programs, found from dist/bench/. */
export const clientProgram = fileURLToPath(new URL("../client/main.js", import.meta.url));
export const serverProgram = fileURLToPath(new URL("../server/main.js", import.meta.url));

export interface Run {
  /** Spawn to exit, measured here. */
  wallMs: number;
  /** The child's own CPU (user + system), and that of the children it waited for; with `cpu` only. */
  cpuMs?: number;
  userMs?: number;
  systemMs?: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Measure the child's CPU time (through bash's `time`, which reads the child's rusage). */
  cpu?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the child after this long (default 10 min). */
  timeoutMs?: number;
}

// bash's `time` keyword reports the real, user and system time of the command from its rusage
// (wait4), with millisecond resolution: present wherever bash is, unlike GNU time. Its report goes
// to fd 3 (a pipe of ours); the command's own stderr to ours, and fd 3/4 are closed for it.
const timedScript = 'TIMEFORMAT="%3R %3U %3S"; { time "$@" 2>&4 3>&- 4>&- ; } 4>&2 2>&3';

function collect(child: ChildProcess, stream: "stdout" | "stderr"): () => string {
  const chunks: Buffer[] = [];
  child[stream]?.on("data", (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString("utf8");
}

/**
 * Runs `command args` to its end. The wall time is spawn to exit; the child's stdio is then
 * drained (with a bound: servers an embedded-default client started may hold its stderr open for a
 * moment after it exits) so that the next run starts on a quiet machine.
 */
export async function runProgram(command: string, args: string[], options: RunOptions = {}): Promise<Run> {
  const env = { ...process.env, ...options.env };
  const start = performance.now();
  const child = options.cpu
    ? spawn("bash", ["-c", timedScript, "bash", command, ...args], {
        env,
        cwd: options.cwd,
        stdio: ["ignore", "pipe", "pipe", "pipe"],
      })
    : spawn(command, args, { env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  const stdout = collect(child, "stdout");
  const stderr = collect(child, "stderr");
  const timing: Buffer[] = [];
  const timingDone = options.cpu
    ? new Promise<void>((resolve) => {
        const pipe = child.stdio[3] as NodeJS.ReadableStream;
        pipe.on("data", (chunk: Buffer) => timing.push(chunk));
        pipe.on("end", resolve);
        pipe.on("error", () => resolve());
      })
    : Promise.resolve();
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 600_000);
  // Listened for from the start: "close" may follow "exit" in the same tick.
  const closed = new Promise((resolve) => child.once("close", resolve));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode, signal) => resolve(signal ? null : exitCode));
  });
  const wallMs = performance.now() - start;
  clearTimeout(timer);
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise((resolve) => (drainTimer = setTimeout(resolve, 5000)))]);
  clearTimeout(drainTimer);
  await timingDone;
  const run: Run = { wallMs, code, stdout: stdout(), stderr: stderr() };
  if (options.cpu) {
    const fields = Buffer.concat(timing).toString().trim().split(/\s+/).map(Number);
    if (fields.length === 3 && fields.every(Number.isFinite)) {
      run.userMs = fields[1]! * 1000;
      run.systemMs = fields[2]! * 1000;
      run.cpuMs = run.userMs + run.systemMs;
    }
  }
  return run;
}

/** A run that must succeed: throws with its stderr otherwise. */
export async function mustRun(command: string, args: string[], options: RunOptions = {}): Promise<Run> {
  const run = await runProgram(command, args, options);
  if (run.code !== 0)
    throw new Error(`${command} ${args.join(" ")} exited with ${run.code}: ${run.stderr.slice(-2000)}`);
  return run;
}

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux architecture Node runs on. */
const clockTicks = 100;

/** CPU (user + system, ms) a live process has used so far, from /proc; undefined elsewhere. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces), counted from field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1000;
  } catch {
    return undefined;
  }
}

/** Peak resident set (VmHWM, MiB) of a live process, from /proc; undefined elsewhere. */
export function processPeakRssMiB(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** An rpcpool-server started as a user starts one (`--port 0`), read from its first stdout line. */
export interface ServerProcess {
  address: string;
  pid: number;
  cpuMs(): number | undefined;
  peakRssMiB(): number | undefined;
  stop(): Promise<void>;
}

export async function startServerProcess(args: string[]): Promise<ServerProcess> {
  // --exit-with-stdin: the server leaves with the bench, however the bench ends.
  const child = spawn(
    process.execPath,
    [serverProgram, "--port", "0", "--quiet", "--exit-with-stdin", ...args],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("rpcpool-server did not start in 15 s")), 15_000);
    child.once("exit", (code) => reject(new Error(`rpcpool-server exited with ${code} before listening`)));
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      if (!text.includes("\n")) {
        text += chunk.toString();
        const line = text.split("\n")[0]!;
        if (text.includes("\n")) {
          clearTimeout(timer);
          const match = /^listening on (.+)$/.exec(line);
          if (match) resolve(match[1]!);
          else reject(new Error(`unexpected first line from rpcpool-server: ${line}`));
        }
      }
    });
  });
  const pid = child.pid!;
  return {
    address,
    pid,
    cpuMs: () => processCpuMs(pid),
    peakRssMiB: () => processPeakRssMiB(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** CPU time (ms) every process of the machine has used since boot, from /proc/stat. */
export function machineBusyMs(): number | undefined {
  try {
    const fields = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    const busy = fields[0]! + fields[1]! + fields[2]! + fields[5]! + fields[6]! + fields[7]!;
    return (busy / clockTicks) * 1000;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the machine is quiet: less than `threshold` of one core busy over 250 ms windows
 * (our servers idle between runs, so what is busy is somebody else's), for at most `maxMs`.
 * Returns how long it waited. Other work on a shared machine then lands less often in a run.
 */
export async function quiet(threshold = 0.15, maxMs = 5000): Promise<number> {
  const start = performance.now();
  for (;;) {
    const before = machineBusyMs();
    if (before === undefined) return 0;
    const windowStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const busy = (machineBusyMs()! - before) / (performance.now() - windowStart);
    if (busy < threshold || performance.now() - start > maxMs) return performance.now() - start;
  }
}

/**
 * A module for `node --require` that prints the process's peak resident set as it exits
 * (`peak-rss-kib N` on stderr, from process.resourceUsage().maxRSS), written into `dir`; read it
 * back from the run's stderr with peakRssMiBOf.
 */
export function peakRssModule(dir: string): string {
  const path = join(dir, "peak-rss.cjs");
  writeFileSync(
    path,
    'process.on("exit", () => process.stderr.write("peak-rss-kib " + process.resourceUsage().maxRSS + "\\n"));\n',
  );
  return path;
}

/** The peak resident set (MiB) a peakRssModule printed on `stderr`; NaN without one. */
export const peakRssMiBOf = (stderr: string): number => Number(/peak-rss-kib (\d+)/.exec(stderr)?.[1]) / 1024;
