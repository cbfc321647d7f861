import { spawn } from "node:child_process";
import { lessonColumnSums, lessonTableBytes } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { clientProgram, collectRun, root, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Standard input that is a pipe (`cat t.csv | rpcpool column-sums -`) is read by the event loop
// straight into the job's buffers (src/lesson/client/pipe-reader.ts), not as process.stdin: the
// shell's pipe here, not the socket pair a spawned child's stdin is (test/cli-stdin.test.ts).
const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** The client's JSON document with `writer`'s output piped into it by bash (after `before`, in its shell). */
async function piped(writer: string, args: string[], before = "") {
  const line = `${writer} | { ${before} '${process.execPath}' '${clientProgram}' column-sums - --servers ${servers.list} --json ${args.join(" ")}; }`;
  const run = await collectRun(
    spawn("bash", ["-o", "pipefail", "-c", line], { cwd: root, stdio: ["ignore", "pipe", "pipe"] }),
    "column-sums of a pipe",
  );
  expect(run.code, run.stderr).toBe(0);
  return run.json() as { results: Array<Record<string, unknown>> };
}

describe("a table piped by the shell into standard input", () => {
  it("gives the file's sums, whole and cut into parts", async () => {
    const rows = 70_000;
    const file = tmp.file("table.csv", lessonTableBytes(rows));
    const fromFile = await rpcpool(["column-sums", file, "--servers", servers.list, "--json"]);
    const sums = (fromFile.json() as { results: Array<{ sums: number[] }> }).results[0]!.sums;
    expect(sums).toEqual(lessonColumnSums(rows));
    for (const split of ["none", "auto", "300KB"]) {
      const document = await piped(`cat '${file}'`, ["--split", split]);
      expect(document.results[0]).toMatchObject({ file: "-", rows, sums });
    }
  });

  it("gives a table written slowly in pieces that end mid-row", async () => {
    // 7 rows at a time, each write cut in two at an odd byte, a millisecond apart.
    const writer = `node --input-type=module -e '
      const { lessonTableBytes } = await import("rpcpool/lesson");
      const all = lessonTableBytes(7000);
      for (let at = 0; at < all.length; at += 997) {
        process.stdout.write(all.subarray(at, at + 997));
        await new Promise((r) => setTimeout(r, at % 50 === 0 ? 1 : 0));
      }'`;
    const document = await piped(writer, ["--split", "64KB"]);
    expect(document.results[0]).toMatchObject({ rows: 7000, sums: lessonColumnSums(7000) });
  });

  it("reads a pipe that its parent made non-blocking", async () => {
    const file = tmp.file("table-nb.csv", lessonTableBytes(7000));
    // O_NONBLOCK on the read end, as a parent may leave it: a read may find the pipe empty (EAGAIN).
    const nonBlocking = `/usr/bin/python3 -c 'import os, fcntl; fcntl.fcntl(0, fcntl.F_SETFL, fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK)';`;
    const writer = `{ sleep 0.2; cat '${file}'; }`;
    for (const split of ["none", "64KB"]) {
      const document = await piped(writer, ["--split", split], nonBlocking);
      expect(document.results[0]).toMatchObject({ rows: 7000, sums: lessonColumnSums(7000) });
    }
  });

  it("an empty pipe is an empty table, as an empty file is", async () => {
    const file = tmp.file("empty.csv", "");
    const fromFile = await rpcpool(["column-sums", file, "--servers", servers.list, "--json"]);
    const document = await piped("true", []);
    expect(document.results[0]).toMatchObject({
      rows: (fromFile.json() as { results: Array<{ rows: number }> }).results[0]!.rows,
    });
  });
});
