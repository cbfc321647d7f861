import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LyingServer, startLyingServer } from "./support/lying-server.js";
import { clientProgram, collectRun, root } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { interruptOnTerminal, noTerminal } from "./support/terminal.js";

// Ctrl-C in the middle of a table job: what finished is printed, the rest is "interrupted", the
// exit code is 130. The server answers the first table and holds every later call: it reports one
// worker, and a job of small files keeps two calls a worker thread in flight (table-job.ts,
// `pipelinedFileBytes`), so a third call arriving means the client has the first result. Nothing
// here waits on a clock.
const tmp = tempDir();
let server: LyingServer;
beforeAll(async () => {
  server = await startLyingServer();
  server.lie = "hang";
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

function tables(): string[] {
  return ["a", "b", "c"].map((name, i) => tmp.file(`${name}.csv`, `${i + 1};${i + 2}\n`));
}

/** Resolves once the server has received `n` columnSums calls in all. */
async function untilCalls(n: number): Promise<void> {
  while ((server.calls.columnSums ?? 0) < n) await new Promise((r) => setTimeout(r, 10));
}

describe("Ctrl-C during column-sums", () => {
  it("with --json prints the finished results, CANCELLED for the rest, and exits 130", async () => {
    const before = server.calls.columnSums ?? 0;
    server.answerFirst = before + 1;
    const files = tables();
    const child = spawn(
      process.execPath,
      [clientProgram, "column-sums", ...files, "--servers", server.address, "--json"],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    const run = collectRun(child, "column-sums --json, interrupted");
    await untilCalls(before + 3);
    child.kill("SIGINT");
    const { code, stderr } = await run;
    const document = (await run).json();
    expect(code, stderr).toBe(130);
    expect(document.results).toEqual([expect.objectContaining({ file: files[0], sums: [1, 2] })]);
    expect(document.errors).toEqual(
      files.slice(1).map((file) => ({ file, code: "CANCELLED", message: "interrupted" })),
    );
  });

  it("on a terminal prints the finished file's sums and exits 130", async ({ skip }) => {
    skip(noTerminal !== undefined, noTerminal);
    const before = server.calls.columnSums ?? 0;
    server.answerFirst = before + 1;
    const files = tables();
    // The files bar shows 1/3 once the first table is done.
    const { output, code } = await interruptOnTerminal(
      ["column-sums", ...files, "--servers", server.address],
      "| 1/3",
    );
    expect(server.calls.columnSums).toBeGreaterThanOrEqual(before + 2);
    expect(output).toContain(`${files[0]}: 1 row x 2 columns`);
    expect(output).toContain(`error: ${files[1]}: CANCELLED: interrupted`);
    expect(code).toBe(130);
  });

  it("a second Ctrl-C exits at once, while the first is still being honoured", async ({ skip }) => {
    // A named pipe whose writer never writes (on a local server the command starts): the job reads it whole before it starts (pipes are
    // never split), and that read does not end on the first Ctrl-C. The writer's open returns when
    // the client has opened the pipe for reading, so its "opened" means the job is under way.
    const fifo = join(tmp.dir, "never.fifo");
    skip(spawnSync("mkfifo", [fifo]).status !== 0, "mkfifo failed: no named pipes here");
    const writer = spawn(
      process.execPath,
      [
        "-e",
        'require("fs").openSync(process.argv[1], "w"); console.log("opened"); setInterval(() => {}, 1e6)',
        fifo,
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    try {
      const child = spawn(process.execPath, [clientProgram, "column-sums", fifo, "--local", "1", "--json"], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const run = collectRun(child, "column-sums of a silent pipe, interrupted twice");
      await new Promise((resolve) => writer.stdout!.once("data", resolve));
      child.kill("SIGINT");
      let stderr = "";
      await new Promise<void>((resolve) => {
        child.stderr!.on("data", (data) => {
          stderr += data;
          if (stderr.includes("Ctrl-C again to quit at once")) resolve();
        });
      });
      child.kill("SIGINT");
      const { code, stdout } = await run;
      expect(code).toBe(130);
      expect(stdout).toBe("");
    } finally {
      writer.kill("SIGKILL");
    }
  });
});
