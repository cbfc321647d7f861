import { describe, expect, it } from "vitest";
import { defaultDialect, readOptionsFrom, tableDialect } from "./read-options.js";
import { scanTable, type TableSink } from "./table-scanner.js";

/**
 * Scans a piece both ways a sink can take it (cell by cell, and row by row), checks that the two
 * agree, and returns the shape with the column sums (plain float sums: the values here are exact).
 */
type Options = Parameters<typeof readOptionsFrom>[0] & { select?: number[] };
const sum = (text: string | Uint8Array, options: Options = {}) => {
  const bytes = typeof text === "string" ? Buffer.from(text, "latin1") : text;
  const read = { ...readOptionsFrom(options), select: options.select };
  const byCell: number[] = [];
  const byRow: number[] = [];
  const cellSink: TableSink = {
    byCell: true,
    cell: (column, value) => {
      byCell[column] = (byCell[column] ?? 0) + value;
    },
    row: () => {},
  };
  const rowSink: TableSink = {
    byCell: false,
    cell: () => {},
    row: (values, count) => {
      for (let c = 0; c < count; c++) byRow[c] = (byRow[c] ?? 0) + values[c]!;
    },
  };
  const shape = scanTable(bytes, read, cellSink);
  expect(scanTable(bytes, read, rowSink)).toEqual(shape);
  if (!shape.error) expect(byRow).toEqual(byCell);
  return { ...shape, sums: byCell };
};
const sums = (text: string, options?: Options) => {
  const piece = sum(text, options);
  expect(piece.error).toBeUndefined();
  return piece.sums;
};

describe("the CSV scanner accepts", () => {
  it("`;` by default, LF and CRLF line ends, a last line without newline", () => {
    expect(sums("1;2\n3;4\n")).toEqual([4, 6]);
    expect(sums("1;2\r\n3;4\r\n")).toEqual([4, 6]);
    expect(sums("1;2\n3;4")).toEqual([4, 6]);
  });

  it("another delimiter, and tab as `tab`, `\\t` or a literal tab", () => {
    expect(sums("1,2\n3,4\n", { delimiter: "," })).toEqual([4, 6]);
    for (const delimiter of ["tab", "\\t", "\t"]) expect(sums("1\t2\n3\t4\n", { delimiter })).toEqual([4, 6]);
  });

  it("a decimal comma for Spanish-locale exports", () => {
    expect(sums("1,5;2\n0,25;-1,0e1\n", { decimal: "," })).toEqual([1.75, -8]);
  });

  it("a header line to skip, only the first non-blank line", () => {
    expect(sums("\nname;value\n1;2\n", { header: true })).toEqual([1, 2]);
  });

  it("a UTF-8 byte-order mark at the start", () => {
    expect(sums("\xef\xbb\xbf1;2\n")).toEqual([1, 2]);
  });

  it("blank lines and spaces or tabs around cells", () => {
    const piece = sum("\n 1 ;\t2\t\n   \n\r\n3;4\n\n");
    expect(piece.error).toBeUndefined();
    expect(piece.rows).toBe(2);
    expect(piece.lines).toBe(6);
    expect(piece.firstRowLine).toBe(2);
  });

  it.each([
    ["1", 1],
    ["-1", -1],
    ["+1", 1],
    ["1.5", 1.5],
    [".5", 0.5],
    ["5.", 5],
    ["-.5", -0.5],
    ["1e5", 1e5],
    ["2.5E-3", 2.5e-3],
    ["1e+2", 100],
    ["0.1", 0.1],
    ["00012", 12],
    ["123456789012345678901234567890", 1.2345678901234568e29],
    ["0.30000000000000004441", 0.30000000000000004],
    ["1.7976931348623157e308", 1.7976931348623157e308],
    ["4.9e-324", 5e-324],
    ["1e-400", 0],
    ["9007199254740993", 9007199254740992],
  ])("the number %s", (text, value) => {
    expect(sums(`${text}\n`)).toEqual([value]);
  });
});

describe("the CSV scanner refuses, with line and cell column,", () => {
  it.each([
    ["a word", "1;2\n3;abc\n", 2, 2, /"abc" is not a number/],
    ["an empty cell", "1;;3\n", 1, 2, /empty cell/],
    ["a trailing delimiter", "1;2;\n", 1, 3, /empty cell/],
    ["a blank cell", "1; ;3\n", 1, 2, /empty cell/],
    ["hex", "0x10;1\n", 1, 1, /"0x10" is not a number/],
    ["inf", "1\ninf\n", 2, 1, /not a number/],
    ["nan", "NaN\n", 1, 1, /not a number/],
    ["a space inside a number", "1 2;3\n", 1, 1, /space inside a number/],
    ["a dangling exponent", "1e\n", 1, 1, /not a number/],
    ["a lone dot", ".\n", 1, 1, /not a number/],
    ["a lone sign", "+\n", 1, 1, /not a number/],
    ["a double sign", "--1\n", 1, 1, /not a number/],
    ["a number out of range", "1;1e999\n", 1, 2, /out of float64 range/],
    ["a short row", "1;2;3\n4;5\n", 2, 3, /row has 2 cells, expected 3/],
    ["a long row", "1;2\n3;4;5\n", 2, 3, /row has 3 cells, expected 2/],
    ["a NUL byte", "1;2\n3;\u00004\n", 2, 2, /byte 0x00 is not allowed/],
    ["an invalid byte", "1;\xff\n", 1, 2, /byte 0xff is not allowed/],
    ["a lone CR", "1\r2;3\n", 1, 1, /byte 0x0d is not allowed/],
    ["a comma decimal when `.` is set", "1,5\n", 1, 1, /not a number/],
    ["a dot decimal when `,` is set", "1.5\n", 1, 1, /not a number/, { decimal: "," }],
  ] as Array<[string, string, number, number, RegExp, object?]>)(
    "%s",
    (_, text, line, column, message, options = {}) => {
      const piece = sum(text as string, options as object);
      expect(piece.error).toMatchObject({ line, column });
      expect(piece.error!.message).toMatch(message as RegExp);
    },
  );

  it("stops at the first refusal", () => {
    const piece = sum("1\n2\nx\ny\n");
    expect(piece.error).toMatchObject({ line: 3, column: 1 });
    expect(piece.rows).toBe(2);
  });

  it("does not treat the BOM or header specially in a piece that does not start the file", () => {
    expect(sum("\xef\xbb\xbf1\n", { startsFile: false }).error).toMatchObject({ line: 1, column: 1 });
    expect(sum("h\n1\n", { header: true, startsFile: false }).error).toMatchObject({ line: 1 });
  });
});

describe("quoted cells (RFC 4180)", () => {
  it("a quoted number is a number, blanks around or inside the quotes aside", () => {
    expect(sums('"1";"2.5"\n 3 ;" 4 "\n')).toEqual([4, 6.5]);
    expect(sums('"1,5";2\n', { decimal: "," })).toEqual([1.5, 2]);
  });

  it("a quoted text header, with delimiters, doubled quotes and newlines inside", () => {
    const piece = sum('"a;b";"say ""hi""\nthere"\n1;2\n3;4\n', { header: true });
    expect(piece.sums).toEqual([4, 6]);
    expect(piece.lines).toBe(4);
    expect(piece.firstRowLine).toBe(3);
  });

  it("counts newlines inside quotes as lines: a later refusal names its physical line", () => {
    const piece = sum('h;"x\ny"\n1;2\nabc;3\n', { header: true, select: [0] });
    expect(piece.error).toMatchObject({ line: 4, column: 1 });
  });

  it.each([
    ["a quote left open", '1;2\n3;"4\n', 2, 2, /not closed/],
    ["text after the closing quote", '1;"2"x\n', 1, 2, /text after the closing quote/],
    ["a quote inside an unquoted cell", '1;2"\n', 1, 2, /quote inside an unquoted cell/],
    ["a quoted word", '1;"abc"\n', 1, 2, /"abc" is not a number/],
    ["an empty quoted cell", '1;""\n', 1, 2, /empty cell/],
    ["a quoted cell that starts on an earlier line", '1;"a\nb";3\n', 1, 2, /"a\\nb"|not allowed/],
  ])("refuses %s at its cell", (_, text, line, column, message) => {
    const piece = sum(text);
    expect(piece.error).toMatchObject({ line, column });
    expect(piece.error!.message).toMatch(message);
  });

  it("a newline inside quotes in a data row moves the row's end", () => {
    const piece = sum('1;"2\n"\n3;4\n');
    // "2\n" is not a number, but its row is read as one row of two cells
    expect(piece.error).toMatchObject({ line: 1, column: 2 });
    const skipped = sum('1;"x\ny";2\n3;z;4\n', { select: [0, 2] });
    expect(skipped.error).toBeUndefined();
    expect(skipped.sums).toEqual([4, 6]);
    expect(skipped.lines).toBe(3);
  });
});

describe("a column selection", () => {
  it("reads only the selected columns, in the order given; others may hold anything", () => {
    const piece = sum('1;abc;2;"x;y"\n3;;4;z\n', { select: [2, 0] });
    expect(piece.error).toBeUndefined();
    expect(piece.sums).toEqual([6, 4]);
    expect(piece.columns).toBe(4);
  });

  it("still refuses text in a selected column, rows of another width, and a column past the row", () => {
    expect(sum("1;a\n2;b\nx;c\n", { select: [0] }).error).toMatchObject({ line: 3, column: 1 });
    expect(sum("1;a\n2\n", { select: [0] }).error).toMatchObject({ line: 2, column: 2 });
    expect(sum("1;2\n", { select: [2] }).error!.message).toMatch(/column 3 is selected/);
  });

  it("refuses a quote inside an unquoted cell it skips (the table could not be cut safely)", () => {
    expect(sum('1;5" pipe\n', { select: [0] }).error).toMatchObject({ line: 1, column: 2 });
  });
});

describe("read options", () => {
  it.each([["ab"], ["."], ["1"], ["-"], ["e"], [" "], ["\n"]])("refuses the delimiter %j", (delimiter) => {
    expect(() => readOptionsFrom({ delimiter })).toThrow(RangeError);
  });

  it("normalises a dialect once: defaults for what is missing or empty, tab spelled out, a quote refused", () => {
    expect(tableDialect({})).toEqual(defaultDialect);
    expect(tableDialect({ delimiter: "", decimal: "", columns: ["a"] })).toEqual({
      ...defaultDialect,
      columns: ["a"],
    });
    for (const delimiter of ["tab", "TAB", "\\t", "\t"])
      expect(tableDialect({ delimiter }).delimiter).toBe("\t");
    expect(() => tableDialect({ delimiter: '"' })).toThrow(/quotes cells/);
  });

  it("refuses a decimal other than . or , and a delimiter equal to it", () => {
    expect(() => readOptionsFrom({ decimal: ";" })).toThrow(/decimal/);
    expect(() => readOptionsFrom({ delimiter: ",", decimal: "," })).toThrow(/differ/);
  });
});
