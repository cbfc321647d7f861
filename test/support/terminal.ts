import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { clientProgram } from "./run-program.js";

/** Why tests on a pseudo-terminal cannot run here, or undefined when they can. */
export const noTerminal = existsSync("/usr/bin/script")
  ? undefined
  : "util-linux `script` (/usr/bin/script) is not installed: no pseudo-terminal";

// `exec`: the shell script(1) starts ($SHELL, or dash as /bin/sh) must not stay between the terminal
// and the client. dash would otherwise take the Ctrl-C too, die of it, and script would report its
// 130 whatever the client did.
const quoted = (args: string[]) =>
  `exec ${[process.execPath, clientProgram, ...args].map((a) => `'${a}'`).join(" ")}`;

/** Runs the client on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
export function onTerminal(args: string[]): string {
  const run = spawnSync("script", ["-qec", quoted(args), "/dev/null"], { encoding: "utf8", timeout: 60_000 });
  return run.stdout;
}

/**
 * Runs the client on a pseudo-terminal and, once its output contains `when`, types Ctrl-C as a
 * person would (the terminal turns it into SIGINT for the program). Resolves with everything the
 * terminal showed and the exit status `script` reports (128 + the signal for a program it ended).
 */
export function interruptOnTerminal(
  args: string[],
  when: string,
): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", quoted(args), "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    let typed = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no "${when}" within 60 s; the terminal showed:\n${output}`));
    }, 60_000);
    child.stdout!.on("data", (data) => {
      output += data;
      if (!typed && output.includes(when)) {
        typed = true;
        child.stdin!.write("\u0003");
      }
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ output, code });
    });
  });
}
