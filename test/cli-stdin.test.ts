import { spawn } from "node:child_process";
import { lessonColumnSums, lessonTableBytes } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { startLyingServer } from "./support/lying-server.js";
import { clientProgram, collectRun, root, rpcpool, withInput } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Standard input is streamed like a file (issue 21): sent as it is read, and with --split cut at
// rows' ends as it is read. Its results are the file's, bit for bit; the client's memory stays
// bounded whatever the size. Real server processes; the client is the built program.
const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** What must not depend on the input being a file or a stream: everything but the name and servers. */
function comparable(document: {
  results: Array<Record<string, unknown>>;
  errors: Array<Record<string, unknown>>;
}) {
  return {
    results: document.results.map(({ file: _, server: __, ...rest }) => rest),
    errors: document.errors.map((e) => ({
      ...e,
      file: "",
      message: String(e.message).replace(/^[^:]*: /, ""),
    })),
  };
}

/** Column sums of `content` as a file and through stdin, with `args`; the stdin run's document. */
async function sameAsFile(content: string | Buffer, args: string[]) {
  const file = tmp.file("table.csv", content);
  const common = ["--servers", servers.list, "--json", ...args];
  const fromFile = await rpcpool(["column-sums", file, ...common]);
  const fromStdin = await withInput(["column-sums", "-", ...common], content);
  expect(fromStdin.code, fromStdin.stderr).toBe(fromFile.code);
  expect(JSON.stringify(comparable(fromStdin.json()))).toBe(JSON.stringify(comparable(fromFile.json())));
  return fromStdin.json();
}

/** A table whose second cell is quoted text with delimiters, doubled quotes and newlines inside. */
function notesTable(rows: number): string {
  let text = '"id";"note; with ""quotes""\nand a newline";"price"\n';
  for (let i = 0; i < rows; i++)
    text += `${i};"row ${i}; see ""x""\n${"-".repeat(i % 50)}\n";"${(i % 97) + 0.5}"\n`;
  return text;
}

describe("a table on standard input", () => {
  const table = lessonTableBytes(40_000);

  it("gives the file's sums, whole and cut into parts as it is read", async () => {
    for (const split of ["none", "auto", "300KB"]) {
      const document = await sameAsFile(table, ["--split", split]);
      expect(document.results[0]).toMatchObject({ file: "-", rows: 40_000, sums: lessonColumnSums(40_000) });
    }
  });

  it("never cuts inside a quoted cell that holds newlines; --columns names reach every part", async () => {
    const text = notesTable(30_000);
    const args = ["--header", "--columns", "id,price"];
    for (const split of ["none", "200KB"]) {
      const document = await sameAsFile(text, ["--split", split, ...args]);
      expect(document.results[0]).toMatchObject({ rows: 30_000, selected: ["id", "price"] });
    }
  });

  it("cuts a table whose lines end in CRLF and that starts with a byte-order mark", async () => {
    const crlf = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(table.toString().replaceAll("\n", "\r\n")),
    ]);
    await sameAsFile(crlf, ["--split", "256KB"]);
  });

  it("names the line and column of a bad cell in a later part, as for the file", async () => {
    const lines = table.toString().split("\n");
    lines[31_234] = lines[31_234]!.replace(/^\d+/, "x1");
    const document = await sameAsFile(lines.join("\n"), ["--split", "300KB"]);
    expect(document.errors).toEqual([
      { file: "-", code: "INVALID_ARGUMENT", message: '-: line 31235, column 1: "x1" is not a number' },
    ]);
  });

  it("places a later part's refusal after blank lines and quoted newlines, from the lines the servers read", async () => {
    // No client counts a stream's lines: a part after the first is placed from the parts before
    // it, whose servers said how many lines they read (blank lines and newlines inside quotes too).
    const lines = table.toString().split("\n");
    for (const at of [2_000, 9_000, 17_000]) lines[at] = `\n\n${lines[at]}`;
    lines[33_000] = lines[33_000]!.replace(/^\d+/, "x9");
    const blanks = await sameAsFile(lines.join("\n"), ["--split", "300KB"]);
    expect(blanks.errors).toEqual([
      { file: "-", code: "INVALID_ARGUMENT", message: '-: line 33007, column 1: "x9" is not a number' },
    ]);
    const notes = notesTable(20_000).split("\n");
    notes[50_002] = notes[50_002]!.replace(/"[\d.]+"$/, '"9,x"');
    const quoted = await sameAsFile(notes.join("\n"), [
      "--split",
      "200KB",
      "--header",
      "--columns",
      "id,price",
    ]);
    expect(quoted.errors).toEqual([
      expect.objectContaining({
        file: "-",
        code: "INVALID_ARGUMENT",
        message: expect.stringMatching(/^-: line 50003, /),
      }),
    ]);
  });

  it("a refused row width in a later part is the file's refusal", async () => {
    const lines = table.toString().split("\n");
    lines[25_000] = `${lines[25_000]};1`;
    const document = await sameAsFile(lines.join("\n"), ["--split", "300KB"]);
    expect(document.errors[0]).toMatchObject({ file: "-", code: "INVALID_ARGUMENT" });
  });

  it("an empty stdin, cut or not, has no data rows", async () => {
    for (const split of ["none", "1KB"]) {
      const run = await withInput(["column-sums", "-", "--split", split, "--servers", servers.list], "");
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^-: no data rows, on 127\.0\.0\.1:\d+/);
    }
  });
});

describe("a server that fails while a stream is sent", () => {
  const table = lessonTableBytes(20_000);

  it("gets a cut stream's part sent again to another server: the file's sums", async () => {
    // A server whose replies are refused (it says it read a byte more than was sent): every part
    // it takes must be sent again, from the bytes the client holds, to the honest one.
    const liar = await startLyingServer();
    liar.lie = "wrong-bytes";
    try {
      const list = `${liar.address},${servers.list.split(",")[0]}`;
      const run = await withInput(
        ["column-sums", "-", "--split", "200KB", "--servers", list, "--json"],
        table,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.json().results[0]).toMatchObject({ rows: 20_000, sums: lessonColumnSums(20_000) });
      expect(liar.calls.columnSums ?? 0).toBeGreaterThan(0);
    } finally {
      await liar.close();
    }
  });

  it("refuses a stream sent whole once its server failed after reading some: it cannot be sent again", async () => {
    const liar = await startLyingServer();
    liar.lie = "wrong-bytes";
    try {
      const run = await withInput(
        ["column-sums", "-", "--split", "none", "--servers", liar.address, "--json"],
        table,
      );
      expect(run.code).toBe(1);
      const [error] = run.json().errors;
      expect(error).toMatchObject({ file: "-", code: "ABORTED" });
      expect(error.message).toMatch(/^-: can be read once, and .* failed .* give --split SIZE/);
    } finally {
      await liar.close();
    }
  });
});

describe("Ctrl-C while a stream is cut and sent", () => {
  it("gives the stream no result (not the sums of the parts done), and exits 130", async () => {
    // One worker: the parts go one at a time. The server answers the first and holds the next,
    // so a second call means a part is done and the stream is not.
    const server = await startLyingServer();
    server.lie = "hang";
    server.answerFirst = 1;
    try {
      const child = spawn(
        process.execPath,
        [clientProgram, "column-sums", "-", "--split", "64KB", "--servers", server.address, "--json"],
        { cwd: root, stdio: ["pipe", "pipe", "pipe"] },
      );
      child.stdin!.on("error", () => {});
      child.stdin!.end(lessonTableBytes(4000));
      const run = collectRun(child, "column-sums - in parts, interrupted");
      while ((server.calls.columnSums ?? 0) < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      child.kill("SIGINT");
      const done = await run;
      expect(done.code, done.stderr).toBe(130);
      expect(done.json()).toEqual({
        results: [],
        errors: [{ file: "-", code: "CANCELLED", message: "interrupted" }],
      });
    } finally {
      await server.close();
    }
  });
});

describe("the client's memory", () => {
  it.each(["auto", "none"])(
    "stays under 200 MiB while ~300 MB are piped through it (--split %s)",
    async (split) => {
      // 10,101 rows (a multiple of the pattern's 7) of about 1 MB, written as the pipe takes them.
      const blocks = 285;
      const writer = `
      const { lessonTableBytes } = await import("rpcpool/lesson");
      const block = lessonTableBytes(10101);
      for (let i = 0; i < ${blocks}; i++)
        if (!process.stdout.write(block)) await new Promise((r) => process.stdout.once("drain", r));`;
      // The client's own peak resident set, printed as it exits (process.exit runs "exit" listeners).
      const peak = tmp.file(
        "peak.cjs",
        'process.on("exit", () => process.stderr.write("peak-rss-kib " + process.resourceUsage().maxRSS + "\\n"));',
      );
      const line = `node --input-type=module -e '${writer}' | node --require '${peak}' '${clientProgram}' column-sums - --split ${split} --servers ${servers.list} --json`;
      const run = await collectRun(
        spawn("bash", ["-o", "pipefail", "-c", line], { cwd: root, stdio: ["ignore", "pipe", "pipe"] }),
        "300 MB through stdin",
        120_000,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.json().results[0]).toMatchObject({
        rows: 10101 * blocks,
        sums: lessonColumnSums(10101 * blocks),
      });
      const kib = Number(/peak-rss-kib (\d+)/.exec(run.stderr)?.[1]);
      expect(kib).toBeGreaterThan(0);
      expect(kib / 1024, `peak resident set ${(kib / 1024).toFixed(0)} MiB`).toBeLessThan(200);
    },
  );
});
