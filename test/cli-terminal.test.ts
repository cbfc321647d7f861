import { spawn } from "node:child_process";
import { lessonTableBytes } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { type LyingServer, startLyingServer } from "./support/lying-server.js";
import { clientProgram, collectRun, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { interruptOnTerminal, noTerminal, onTerminal } from "./support/terminal.js";

// The CLI as a person at a terminal meets it: Ctrl-C mid-job, `| head`, long outputs.
// Wider than a server's default --max-columns (10,000, docs/limits.md): this file is about the
// client's output of very wide results.
const servers = useServers(2, { args: ["--max-columns", "200000"] });
const tmp = tempDir();
let stuck: LyingServer;
beforeAll(async () => {
  stuck = await startLyingServer();
  stuck.lie = "hang";
});
afterAll(async () => {
  await stuck.close();
  tmp.cleanup();
});

const hideCursor = "\u001b[?25l";
const showCursor = "\u001b[?25h";
const wrapOff = "\u001b[?7l";
const wrapOn = "\u001b[?7h";

describe("Ctrl-C during a job", () => {
  it("gives the terminal back its cursor and line wrapping, and ends as Ctrl-C does", async ({ skip }) => {
    skip(noTerminal !== undefined, noTerminal);
    const table = tmp.file("held.csv", "1;2\n");
    // The server holds the call: the job is running, its bars drawn, when Ctrl-C comes.
    const { output, code } = await interruptOnTerminal(
      ["column-sums", table, "--servers", stuck.address],
      "files",
    );
    expect(output).toContain(hideCursor);
    const afterHiding = output.slice(output.lastIndexOf(hideCursor));
    expect(afterHiding).toContain(showCursor);
    expect(output.slice(output.lastIndexOf(wrapOff))).toContain(wrapOn);
    expect(code).toBe(130);
  });
});

describe("the progress bar", () => {
  it("counts files, a split file once, and each server's parts", ({ skip }) => {
    skip(noTerminal !== undefined, noTerminal);
    // Once flaky: cli-progress draws on a 100 ms timer, and a job done sooner showed no bar. The
    // bars are now drawn once more when they stop (the test below pins that down).
    const split = tmp.file("split.csv", lessonTableBytes(2000));
    const whole = tmp.file("whole.csv", "1;2\n");
    const out = onTerminal(["column-sums", split, whole, "--split", "64KB", "--servers", servers.list]);
    expect(out).toContain("2000 rows x 40 columns");
    const files = [...out.matchAll(/ files\s+\|[^|]*\| (\d+)\/(\d+)/g)].map((m) => Number(m[2]));
    expect(files.length).toBeGreaterThan(0);
    for (const total of files) expect(total).toBe(2);
    expect(out).toMatch(/127\.0\.0\.1:\d+\s+\|[^|]*\| \d+\/\d+ parts/);
  });

  it("is drawn, with its counts, even for a job done before its first redraw", ({ skip }) => {
    skip(noTerminal !== undefined, noTerminal);
    // Two tiny files: done in a few milliseconds, well within cli-progress's 100 ms redraw.
    const out = onTerminal([
      "column-sums",
      tmp.file("tiny1.csv", "1\n"),
      tmp.file("tiny2.csv", "2\n"),
      "--servers",
      servers.list,
    ]);
    expect(out).toMatch(/ files\s+\|[^|]*\| 2\/2/);
    expect(out).toMatch(/127\.0\.0\.1:\d+\s+\|[^|]*\| \d+\/2 files/);
  });
});

describe("long outputs", () => {
  it("prints 130,000 circles as a table", async () => {
    const run = await rpcpool(["circles", "--radii", "1..130000", "--servers", servers.list], {
      timeoutMs: 120_000,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split("\n").filter((l) => /^\s*\d+\s/.test(l))).toHaveLength(130_000);
  });

  it("prints the sums of a table of 130,000 columns", async () => {
    // As many as overflow Math.max(...widths); the 200,000 take the server long.
    const wide = tmp.file("wide.csv", `${Array(130_000).fill("1").join(";")}\n`);
    const run = await rpcpool(["column-sums", wide, "--servers", servers.list], { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("1 row x 130000 columns");
    expect(run.stdout).toContain("129991-130000:");
  });
});

describe("a closed stdout (| head)", () => {
  it("ends the program quietly", async () => {
    const child = spawn(
      process.execPath,
      [clientProgram, "circles", "--radii", "1..130000", "--servers", servers.list],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    // Read the first bytes, then close the pipe as `head -1` does.
    child.stdout.once("data", () => child.stdout.destroy());
    const run = await collectRun(child, "circles | head", 120_000);
    expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(run.code).toBe(141);
  });
});
