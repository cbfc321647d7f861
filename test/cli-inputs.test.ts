import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { Pool } from "rpcpool";
import { columnSumsJob, lessonTableBytes } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { clientProgram, collectRun, root, rpcpool, withInput } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Tables as a person hands them over: standard input, pipes, process substitutions, and tables
// with mistakes a hint can explain, or no data at all.
const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * Writes into a named pipe from another process: opening a FIFO waits for its reader, and a
 * reader that never comes must not block the test's own thread.
 */
function writeToFifo(fifo: string, content: string | Uint8Array) {
  const writer = spawn("sh", ["-c", 'cat > "$0"', fifo], { stdio: ["pipe", "ignore", "ignore"] });
  writer.stdin!.end(content);
  return writer;
}

/** Runs a shell command line (bash: process substitution), the client as $RPCPOOL. */
function inBash(line: string) {
  const child = spawn("bash", ["-c", line], {
    cwd: root,
    env: { ...process.env, RPCPOOL: `${process.execPath} ${clientProgram}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collectRun(child, line);
}

describe("- and pipes", () => {
  it("reads a table from standard input", async () => {
    const run = await withInput(["column-sums", "-", "--servers", servers.list, "--json"], "1;2\n3;4\n");
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results[0]).toMatchObject({ file: "-", rows: 2, sums: [4, 6] });
  });

  it("reads the weights from standard input", async () => {
    const table = tmp.file("w.csv", "1;2\n3;4\n");
    const run = await withInput(
      ["weighted-means", table, "--weights", "-", "--servers", servers.list, "--json"],
      "1\n3\n",
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results[0].means).toEqual([2.5, 3.5]);
  });

  it("reads a process substitution: the file's results", async () => {
    const table = tmp.file("big.csv", lessonTableBytes(4000));
    const run = await inBash(
      `$RPCPOOL column-sums <(cat '${table}') '${table}' --split 64KB --servers ${servers.list} --json`,
    );
    expect(run.code, run.stderr).toBe(0);
    const [piped, file] = run.json().results;
    expect(piped.file).toMatch(/^\/dev\/fd\/\d+$/);
    expect(piped).toEqual({ ...file, file: piped.file, server: piped.server });
  });

  it("plans a pipe as one stream, and runs it in parts cut as it is read", async ({ skip }) => {
    const fifo = join(tmp.dir, "planned.fifo");
    skip(spawnSync("mkfifo", [fifo]).status !== 0, "mkfifo failed: no named pipes here");
    const pool = await Pool.connect(servers.list.split(","));
    try {
      const parts: number[] = [];
      let done = 0;
      const job = columnSumsJob(pool, [fifo], {
        split: { kind: "size", bytes: 64 << 10 },
        onPlan: (tasks) => parts.push(tasks.length),
        onEvent: (event) => {
          if (event.type === "done") done++;
        },
      });
      const writer = writeToFifo(fifo, lessonTableBytes(4000));
      const result = await job.finally(() => writer.kill());
      expect(parts).toEqual([1]);
      // 420 KB in parts of at least 64 KB, each cut at a row's end.
      expect(done).toBeGreaterThanOrEqual(6);
      expect(result.files[0]!.ok && result.files[0]!.value.rows).toBe(4000);
    } finally {
      await pool.close();
    }
  });

  it("reads a named pipe (FIFO)", async ({ skip }) => {
    const fifo = join(tmp.dir, "fifo.csv");
    skip(spawnSync("mkfifo", [fifo]).status !== 0, "mkfifo failed: no named pipes here");
    const writer = writeToFifo(fifo, "5;6\n7;8\n");
    const done = await rpcpool(["column-sums", fifo, "--servers", servers.list, "--json"]).finally(() =>
      writer.kill(),
    );
    expect(done.code, done.stderr).toBe(0);
    expect(done.json().results[0].sums).toEqual([12, 14]);
  });

  it("reads a FIFO whose writer wrote and left at once: the end is seen, nothing hangs", async ({ skip }) => {
    // The writer opens, writes and closes in microseconds, before the client could open the FIFO
    // a second time: a descriptor opened after the writer left is never told the pipe's end by
    // Linux (EPOLLHUP), which left the client waiting for ever (table-input.ts, openLive).
    const fifo = join(tmp.dir, "quick-fifo.csv");
    skip(spawnSync("mkfifo", [fifo]).status !== 0, "mkfifo failed: no named pipes here");
    const writer = spawn(
      "python3",
      [
        "-c",
        "import os,sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.write(fd, b'1;2\\n3;4\\n'); os.close(fd)",
        fifo,
      ],
      { stdio: "ignore" },
    );
    const done = await rpcpool(["column-sums", fifo, "--servers", servers.list, "--json"], {
      timeoutMs: 15_000,
    }).finally(() => writer.kill());
    expect(done.code, done.stderr).toBe(0);
    expect(done.json().results[0].sums).toEqual([4, 6]);
  });

  it("refuses - twice: standard input can be read once", async () => {
    const run = await rpcpool(["weighted-means", "-", "--weights", "-", "--servers", servers.list]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/standard input\) can be read once/);
  });
});

describe("hints", () => {
  const hintOf = async (content: string, args: string[] = []) => {
    const run = await rpcpool([
      "column-sums",
      tmp.file("h.csv", content),
      "--servers",
      servers.list,
      ...args,
    ]);
    expect(run.code).toBe(1);
    return run.stderr;
  };

  it("suggest --delimiter for a cell like 1,2,3", async () => {
    expect(await hintOf("1,2,3\n4,5,6\n")).toContain(
      `hint: ${join(tmp.dir, "h.csv")}: the cells look separated by ",", not ";": try --delimiter ,`,
    );
  });

  it("follow each refused file's error and name the file", async () => {
    const commas = tmp.file("commas.csv", "1,2,3\n");
    const words = tmp.file("words.csv", "width;height\n1;2\n");
    const run = await rpcpool(["column-sums", commas, words, "--servers", servers.list]);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^error: ${commas}: INVALID_ARGUMENT: `));
    expect(lines[1]).toBe(`hint: ${commas}: the cells look separated by ",", not ";": try --delimiter ,`);
    expect(lines[2]).toMatch(new RegExp(`^error: ${words}: INVALID_ARGUMENT: `));
    expect(lines[3]).toBe(`hint: ${words}: the first line looks like a header of column names: try --header`);
  });

  it("suggest --header for a first line of words", async () => {
    expect(await hintOf("width;height\n1;2\n")).toContain("try --header");
  });

  it("say a trailing delimiter makes an empty last cell", async () => {
    expect(await hintOf("1;2;\n3;4;\n")).toContain('line 1 ends with the delimiter ";"');
  });

  it("offer both readings of 1,5", async () => {
    expect(await hintOf("1,5;2\n")).toMatch(/try --delimiter ,; if it is a decimal comma, try --decimal ,/);
  });
});

describe("a table without data rows", () => {
  const cases = {
    empty: ["", []],
    "blank lines": ["\n  \n\n", []],
    "a header only": ["a;b\n", ["--header"]],
  } as const;

  it.each(Object.entries(cases))(
    "(%s) says so in text, and is a result of 0 rows in JSON",
    async (_, [content, flags]) => {
      const file = tmp.file("nodata.csv", content);
      const text = await rpcpool(["column-sums", file, ...flags, "--servers", servers.list]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/nodata\.csv: no data rows, on 127\.0\.0\.1:\d+/);
      const json = await rpcpool(["column-sums", file, ...flags, "--servers", servers.list, "--json"]);
      expect(json.json()).toEqual({
        results: [{ file, rows: 0, columns: 0, sums: [], server: expect.any(String) }],
        errors: [],
      });
    },
  );
});
