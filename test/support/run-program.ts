import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..", "..");
export const clientProgram = join(root, "dist", "client", "main.js");
export const serverProgram = join(root, "dist", "server", "main.js");

export interface ProgramRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws with the output if it is not). */
  json: () => any;
}

/** Runs a built program by path (never through npx) and collects its output; killed after timeoutMs. */
export function runProgram(
  program: string,
  args: string[],
  options: { timeoutMs?: number; cwd?: string } = {},
) {
  const child = spawn(process.execPath, [program, ...args], {
    cwd: options.cwd ?? root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collectRun(child, args.join(" "), options.timeoutMs);
}

/**
 * Collects a started program's output until it exits. After timeoutMs it is killed and the run
 * fails, saying whether it had printed a whole JSON document (then something kept it alive).
 */
export function collectRun(child: ChildProcess, what: string, timeoutMs = 60_000): Promise<ProgramRun> {
  return new Promise<ProgramRun>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
      stdout += d;
    });
    child.stderr!.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      const hung = parses(stdout) ? "printed its whole JSON document but did not exit; " : "";
      reject(new Error(`timed out (${hung}killed): ${what}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      // A program a signal ended has the code a shell reports for it: 128 + the signal's number.
      const code = exitCode ?? (signal ? 128 + constants.signals[signal] : null);
      resolve({
        code,
        stdout,
        stderr,
        json: () => {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`not JSON (exit ${code}):\n${stdout}\nstderr: ${stderr}`);
          }
        },
      });
    });
  });
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export const rpcpool = (args: string[], options?: { timeoutMs?: number; cwd?: string }) =>
  runProgram(clientProgram, args, options);

/** A server program started by a test: its address once it listens, and its output so far. */
export interface ServerProcess {
  child: ChildProcess;
  address: string;
  stdout: () => string;
  stderr: () => string;
}

/**
 * Starts `rpcpool-server ARGS` (or another program printing "listening on ADDRESS") and resolves
 * once stdout says so, and `ready` (when given) matches too; rejects with its stderr if it exits
 * first or takes over 30 s. The caller stops it (kill, or its own stop with a signal).
 */
export function startServerProgram(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; ready?: RegExp; program?: string } = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [options.program ?? serverProgram, ...args], {
    cwd: options.cwd ?? root,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    child.stdout!.on("data", (d) => {
      stdout += d;
      const listening = /listening on (\S+)/.exec(stdout);
      if (listening && (!options.ready || options.ready.test(stdout))) {
        clearTimeout(timer);
        resolve({ child, address: listening[1]!, stdout: () => stdout, stderr: () => stderr });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}): ${stderr}`));
    });
  });
}

/** Runs the client with `input` on its standard input (a reader that stops early is no error). */
export function withInput(args: string[], input: string | Buffer) {
  const child = spawn(process.execPath, [clientProgram, ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin!.on("error", () => {});
  child.stdin!.end(input);
  return collectRun(child, args.join(" "));
}
