import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const tmp = tempDir();
const root = join(tmp.dir, "root");
mkdirSync(root, { recursive: true });
const servers = useServers(2, { args: ["--data-root", root] });
afterAll(() => tmp.cleanup());

/**
 * A table of 3 columns whose middle one is quoted text with the delimiter, doubled quotes and
 * newlines inside, under a quoted header: some MB, so that the server cuts it into several pieces.
 */
function notesTable(rows: number) {
  let text = '"id";"note; with ""quotes""\nand a newline";"price"\n';
  let ids = 0;
  let prices = 0;
  for (let i = 0; i < rows; i++) {
    const price = (i % 97) + 0.5;
    text += `${i};"row ${i}; see ""x""\n${"-".repeat(i % 50)}\n";"${price}"\n`;
    ids += i;
    prices += price;
  }
  return { text, ids, prices };
}

describe("quoted cells (RFC 4180)", () => {
  it("reads quoted numbers and a quoted text header", async () => {
    const file = tmp.file("quoted.csv", '"a";"b"\n"1";"2.5"\n3;" 4 "\n');
    const run = await rpcpool(["column-sums", file, "--header", "--servers", servers.list, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results[0]).toMatchObject({ rows: 2, columns: 2, sums: [4, 6.5] });
  });

  it("sums a table of several pieces whose quoted cells hold newlines, sent, split and read by the server", async () => {
    const { text, ids, prices } = notesTable(40_000);
    expect(text.length).toBeGreaterThan(2 << 20);
    const file = tmp.file("notes.csv", text);
    writeFileSync(join(root, "notes.csv"), text);
    const args = ["--header", "--columns", "id,price", "--servers", servers.list, "--json"];
    for (const extra of [["--split", "none"], ["--split", "700KB"], ["--remote-paths"]]) {
      const run = await rpcpool([
        "column-sums",
        extra[0] === "--remote-paths" ? "notes.csv" : file,
        ...extra,
        ...args,
      ]);
      expect(run.code, `${extra.join(" ")}: ${run.stderr}`).toBe(0);
      const result = run.json().results[0];
      expect(result).toMatchObject({
        rows: 40_000,
        columns: 2,
        sums: [ids, prices],
        selected: ["id", "price"],
      });
      if (extra[1] === "700KB") expect(result.server).toContain(",");
    }
  });

  it("names the physical line of a refusal after newlines inside quotes, whole and split", async () => {
    const { text } = notesTable(20_000);
    const lines = text.split("\n");
    // Line 27003 of the file is where row 9000 starts (rows take 3 lines, after a 2-line header).
    expect(lines[27_002]).toMatch(/^9000;/);
    lines[27_002] = lines[27_002]!.replace(/^9000;/, "x;");
    const file = tmp.file("bad-notes.csv", lines.join("\n"));
    for (const split of ["none", "300KB"]) {
      const run = await rpcpool([
        "column-sums",
        file,
        "--header",
        "--columns",
        "1,3",
        "--split",
        split,
        "--servers",
        servers.list,
        "--json",
      ]);
      expect(run.code).toBe(1);
      expect(run.json().errors[0].message).toMatch(/line 27003, column 1: "x" is not a number/);
    }
  });

  it("refuses a split that cut inside a quoted cell it did not read, saying to give --split none", async () => {
    // The head has no quote, so --split cuts the file unread; the quoted newlines come later.
    let text = "";
    for (let i = 0; i < 20_000; i++) text += i < 100 ? `${i};0\n` : `${i};"a\n\n\nb"\n`;
    const file = tmp.file("late-quotes.csv", text);
    const args = ["column-sums", file, "--columns", "1", "--servers", servers.list, "--json"];
    const split = await rpcpool([...args, "--split", "64KB"]);
    expect(split.code).toBe(1);
    expect(split.json().errors[0].message).toMatch(/not closed.*--split cut .* give --split none/);
    const whole = await rpcpool([...args, "--split", "none"]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.json().results[0].sums).toEqual([(20_000 * 19_999) / 2]);
  });

  it("refuses a quote left open, a stray quote, and text after a closing quote, in words", async () => {
    const open = tmp.file("open.csv", '1;2\n3;"4\n5;6\n');
    const stray = tmp.file("stray.csv", '1;2\n3;4" pipe\n');
    const after = tmp.file("after.csv", '1;"2"3\n');
    const run = await rpcpool(["column-sums", open, stray, after, "--servers", servers.list, "--json"]);
    const messages = run.json().errors.map((e: { message: string }) => e.message);
    expect(messages[0]).toMatch(/line 2, column 2: the quote that opens this cell is not closed/);
    expect(messages[1]).toMatch(/line 2, column 2: .*quote inside an unquoted cell/);
    expect(messages[2]).toMatch(/line 1, column 2: text after the closing quote/);
  });
});

describe("--columns", () => {
  const table = 'name;qty;price;comment\nnut;2;0.5;small\nbolt;3;1.25;"long, grey"\nwasher;5;0.1;x\n';

  it("sums the columns named in the header, or numbered, in the order given; text elsewhere is no error", async () => {
    const file = tmp.file("items.csv", table);
    let run = await rpcpool([
      "column-sums",
      file,
      "--header",
      "--columns",
      "price,qty",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().results[0]).toMatchObject({
      rows: 3,
      columns: 2,
      sums: [1.85, 10],
      selected: ["price", "qty"],
    });
    run = await rpcpool(["column-sums", file, "--header", "--columns", "2", "--servers", servers.list]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/3 rows x 1 column \(qty\)/);
    const bare = tmp.file("items-bare.csv", table.split("\n").slice(1).join("\n"));
    run = await rpcpool(["column-sums", bare, "--columns", "3,2", "--servers", servers.list, "--json"]);
    expect(run.json().results[0]).toMatchObject({ sums: [1.85, 10], selected: [3, 2] });
  });

  it("weights the selected columns only, split or not", async () => {
    let text = "label;x;y\n";
    const weights: number[] = [];
    for (let i = 0; i < 6000; i++) {
      text += `item ${i};${i % 10};${i % 7}\n`;
      weights.push((i % 3) + 1);
    }
    const file = tmp.file("weighted.csv", text);
    const w = tmp.file("weights.json", JSON.stringify(weights));
    const args = [
      "weighted-means",
      file,
      "--weights",
      w,
      "--header",
      "--columns",
      "y,x",
      "--servers",
      servers.list,
      "--json",
    ];
    const whole = await rpcpool([...args, "--split", "none"]);
    expect(whole.code, whole.stderr).toBe(0);
    const split = await rpcpool([...args, "--split", "16KB"]);
    expect(split.code, split.stderr).toBe(0);
    const [a, b] = [whole.json().results[0], split.json().results[0]];
    expect(a.selected).toEqual(["y", "x"]);
    expect(b).toMatchObject({ means: a.means, selected: ["y", "x"], columns: 2 });
    expect(b.server).toContain(",");
    let wx = 0;
    let wy = 0;
    let ws = 0;
    weights.forEach((wt, i) => {
      wx += wt * (i % 10);
      wy += wt * (i % 7);
      ws += wt;
    });
    expect(a.means[0]).toBeCloseTo(wy / ws, 12);
    expect(a.means[1]).toBeCloseTo(wx / ws, 12);
  });

  it("keeps refusing text in a selected column, with the hint --columns; an unknown name is refused in words", async () => {
    const file = tmp.file("items2.csv", table);
    let run = await rpcpool(["column-sums", file, "--header", "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json().errors[0].message).toMatch(/line 2, column 1: "nut" is not a number/);
    expect(run.stderr).toMatch(/hint: .*--columns/);
    run = await rpcpool([
      "column-sums",
      file,
      "--header",
      "--columns",
      "name",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.json().errors[0].message).toMatch(/line 2, column 1: "nut" is not a number/);
    run = await rpcpool([
      "column-sums",
      file,
      "--header",
      "--columns",
      "cost",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.json().errors[0]).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(run.json().errors[0].message).toMatch(
      /no column "cost" in the header \(it has "name", "qty", "price", "comment"\)/,
    );
    run = await rpcpool(["column-sums", file, "--columns", "qty", "--servers", servers.list, "--json"]);
    expect(run.json().errors[0].message).toMatch(/names need --header/);
  });

  it("gives a refused call's first piece back: many refusals leave the servers able to work", async () => {
    const files = Array.from({ length: 12 }, (_, i) => tmp.file(`unknown-${i}.csv`, table));
    const run = await rpcpool(
      ["column-sums", ...files, "--header", "--columns", "cost", "--servers", servers.list, "--json"],
      { timeoutMs: 30_000 },
    );
    expect(run.json().errors).toHaveLength(12);
    const after = await rpcpool(
      ["column-sums", ...files, "--header", "--columns", "qty", "--servers", servers.list, "--json"],
      { timeoutMs: 30_000 },
    );
    expect(after.code, after.stderr).toBe(0);
  });

  it("selects columns of the tables added to an accumulator", async () => {
    const a = tmp.file("acc-a.csv", table);
    const b = tmp.file("acc-b.csv", table);
    const run = await rpcpool([
      "accumulate",
      a,
      b,
      "--header",
      "--columns",
      "qty",
      "--servers",
      servers.list,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const { results } = run.json();
    expect(results.map((r: { sums: number[] }) => r.sums)).toEqual([[10], [20]]);
  });

  it("is a usage error when malformed", async () => {
    for (const columns of ["a,,b", ""]) {
      const run = await rpcpool(["column-sums", "x.csv", "--columns", columns, "--servers", servers.list]);
      expect(run.code, columns).toBe(2);
      expect(run.stderr).toMatch(/--columns/);
    }
  });
});
