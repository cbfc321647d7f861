import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// A table of several 1 MiB messages (the client's chunk size): the server leaves each message's
// rows in its memory and moves it to a worker, copying only the row across two messages
// (piece-cutter.ts, cutPieces with lend). Sums, line numbers and columns must not notice.
const servers = useServers(1, { workers: 2, args: ["--max-line-bytes", "4096"] });
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const rows = 400_000;
const header = "a;b;c\n";
/** Rows of varied widths, so that rows cross the messages' boundaries at varied offsets. */
const row = (i: number) => `${i};${(i * 7919) % 100_003};-${i % 977}\n`;
const text = header + Array.from({ length: rows }, (_, i) => row(i)).join("");
const sums = [0, 0, 0];
for (let i = 0; i < rows; i++) {
  sums[0] += i;
  sums[1] += (i * 7919) % 100_003;
  sums[2] -= i % 977;
}
const boundary = 1 << 20;

/** The line (1-based, the header is line 1) that holds byte `at` of the text. */
function lineAt(at: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < at; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/** The text with the second cell of line `line` replaced by `x`. */
function spoiled(line: number): string {
  const lines = text.split("\n");
  const cells = lines[line - 1]!.split(";");
  cells[1] = "x";
  lines[line - 1] = cells.join(";");
  return lines.join("\n");
}

describe("a table of many messages, its rows left in the messages' memory", () => {
  it("sums every row exactly, with the header and --columns", async () => {
    expect(text.length).toBeGreaterThan(5 * boundary);
    const file = tmp.file("many.csv", text);
    const run = await rpcpool(["column-sums", file, "--header", "--servers", servers.list, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results[0]).toMatchObject({ rows, columns: 3, sums });
    const picked = await rpcpool([
      ...["column-sums", file, "--header", "--columns", "c,a"],
      ...["--servers", servers.list, "--json"],
    ]);
    expect(picked.code, picked.stderr).toBe(0);
    expect(picked.json().results[0]).toMatchObject({ rows, sums: [sums[2], sums[0]] });
  });

  it("weighs every row with its own weight, across the messages' boundaries", async () => {
    const file = tmp.file("weighed.csv", text);
    const weights = tmp.file("w.txt", Array.from({ length: rows }, (_, i) => (i % 3) + 1).join("\n"));
    const run = await rpcpool([
      ...["weighted-means", file, "--header", "--weights", weights],
      ...["--servers", servers.list, "--json"],
    ]);
    expect(run.code, run.stderr).toBe(0);
    const weighed = [0, 0, 0];
    let total = 0;
    for (let i = 0; i < rows; i++) {
      const w = (i % 3) + 1;
      total += w;
      weighed[0] += w * i;
      weighed[1] += w * ((i * 7919) % 100_003);
      weighed[2] -= w * (i % 977);
    }
    expect(run.json().results[0]).toMatchObject({ rows, means: weighed.map((x) => x / total) });
  });

  it("places a malformed cell in the row across two messages, and inside a message", async () => {
    for (const line of [lineAt(2 * boundary), lineAt(3 * boundary + 5000)]) {
      const file = tmp.file(`bad-${line}.csv`, spoiled(line));
      const run = await rpcpool(["column-sums", file, "--header", "--servers", servers.list, "--json"]);
      expect(run.code).toBe(1);
      expect(run.json().errors[0].message).toContain(`line ${line}, column 2`);
    }
  });

  it("refuses a line longer than the server's cap with its number, after a message's rows", async () => {
    const line = lineAt(boundary + 100);
    const lines = text.split("\n");
    lines[line - 1] = `${"1".repeat(3 * boundary)};1;1`;
    const file = tmp.file("long.csv", lines.join("\n"));
    const run = await rpcpool(["column-sums", file, "--header", "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json().errors[0].message).toMatch(new RegExp(`line ${line}: the line is longer`));
  });
});
