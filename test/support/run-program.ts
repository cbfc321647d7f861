import { spawn } from "node:child_process";
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
  return new Promise<ProgramRun>((resolve, reject) => {
    const child = spawn(process.execPath, [program, ...args], {
      cwd: options.cwd ?? root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out: ${args.join(" ")}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
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

export const rpcpool = (args: string[], options?: { timeoutMs?: number; cwd?: string }) =>
  runProgram(clientProgram, args, options);
