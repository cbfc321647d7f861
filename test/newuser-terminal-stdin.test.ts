import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { clientProgram, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { noTerminal } from "./support/terminal.js";

// A new user who forgets the request (`rpcpool call pkg.S/M`) or types `column-sums -` at a
// terminal: the program reads the terminal. It must say so on stderr, not sit there silent as if
// hung; and from a pipe it says nothing (the pipe's bytes are the input).
const servers = useServers(1);
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const method = "rpcpool.compute.v1.ComputeService/Means";

/**
 * Runs the client on a pseudo-terminal (util-linux `script`); once the terminal shows `when`, types
 * `typed` then Ctrl-D as a person would. Resolves with what the terminal showed; a program that
 * never shows `when` is killed after a hang guard.
 */
function typeOnTerminal(
  args: string[],
  when: string,
  typed: string,
): Promise<{ output: string; code: number | null }> {
  const command = `exec ${[process.execPath, clientProgram, ...args].map((a) => `'${a}'`).join(" ")}`;
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    let typing = false;
    const guard = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the terminal never showed "${when}"; it showed:\n${output}`));
    }, 20_000);
    child.stdout!.on("data", (data) => {
      output += data;
      if (!typing && output.includes(when)) {
        typing = true;
        child.stdin!.write(`${typed}\n`);
        // Ctrl-D on a new line ends the terminal's input; sent apart, as a second keystroke.
        setTimeout(() => child.stdin!.write("\u0004"), 200);
      }
    });
    child.on("close", (code) => {
      clearTimeout(guard);
      resolve({ output, code });
    });
  });
}

describe("standard input from a terminal", () => {
  it("call without its JSON says it reads the request from the terminal, then calls", async ({ skip }) => {
    skip(noTerminal !== undefined, noTerminal);
    const { output, code } = await typeOnTerminal(
      ["call", method, "--servers", servers.list],
      "reading the request (one JSON rpcpool.compute.v1.MeansRequest) from the terminal: type it, then Ctrl-D",
      '{"lists":[{"values":[1,3]}]}',
    );
    expect(code).toBe(0);
    expect(output).toContain('{"means":[2]');
  });

  it("column-sums - says it reads the table from the terminal", async ({ skip }) => {
    skip(noTerminal !== undefined, noTerminal);
    const { output, code } = await typeOnTerminal(
      ["column-sums", "-", "--servers", servers.list, "--json"],
      "reading the table from the terminal",
      "1;2",
    );
    expect(code).toBe(0);
    expect(output).toContain('"sums":[1,2]');
  });

  it("from a file or /dev/null, nothing is said of a terminal", async () => {
    const run = await rpcpool([
      "map",
      method,
      tmp.file("in.jsonl", '{"lists":[{"values":[1,3]}]}\n'),
      "--servers",
      servers.list,
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    const piped = await rpcpool(["call", method, "--servers", servers.list]); // stdin: /dev/null, not a terminal
    expect(piped.stderr).not.toContain("terminal");
  });
});
