import { describe, expect, it } from "vitest";
import { roundSums } from "../compute/merge-pieces.js";
import { sumTablePiece } from "../compute/sum-table-piece.js";
import { readOptionsFrom } from "./read-options.js";

const sum = (text: string | Uint8Array, options: Parameters<typeof readOptionsFrom>[0] = {}) =>
  sumTablePiece(typeof text === "string" ? Buffer.from(text, "latin1") : text, readOptionsFrom(options));
const sums = (text: string, options?: Parameters<typeof readOptionsFrom>[0]) => {
  const piece = sum(text, options);
  expect(piece.error).toBeUndefined();
  return roundSums(piece.sums);
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

describe("read options", () => {
  it.each([["ab"], ["."], ["1"], ["-"], ["e"], [" "], ["\n"]])("refuses the delimiter %j", (delimiter) => {
    expect(() => readOptionsFrom({ delimiter })).toThrow(RangeError);
  });

  it("refuses a decimal other than . or , and a delimiter equal to it", () => {
    expect(() => readOptionsFrom({ decimal: ";" })).toThrow(/decimal/);
    expect(() => readOptionsFrom({ delimiter: ",", decimal: "," })).toThrow(/differ/);
  });
});
