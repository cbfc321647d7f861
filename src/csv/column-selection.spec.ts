import { describe, expect, it } from "vitest";
import { chooseColumns, headerNames, parseColumnList, resolveColumns } from "./column-selection.js";
import { readOptionsFrom } from "./read-options.js";

const bytes = (text: string) => Buffer.from(text);

describe("--columns", () => {
  it("parses a comma-separated list, refusing an empty entry", () => {
    expect(parseColumnList(" a, 2 ,b c")).toEqual(["a", "2", "b c"]);
    expect(() => parseColumnList("a,,b")).toThrow(/empty column/);
    expect(() => parseColumnList("")).toThrow(/empty column/);
  });

  it("resolves numbers (1-based) and header names, in the order given", () => {
    expect(resolveColumns(["3", "1"], undefined)).toEqual({ select: [2, 0], names: ["3", "1"] });
    expect(resolveColumns(["c", "1"], ["a", "b", "c"])).toEqual({ select: [2, 0], names: ["c", "a"] });
  });

  it("refuses column 0, a name without a header, an unknown name, a column twice", () => {
    expect(() => resolveColumns(["0"], undefined)).toThrow(/numbered from 1/);
    expect(() => resolveColumns(["a"], undefined)).toThrow(/names need --header/);
    expect(() => resolveColumns(["x"], ["a", "b"])).toThrow(
      /no column "x" in the header \(it has "a", "b"\)/,
    );
    expect(() => resolveColumns(["a", "1"], ["a", "b"])).toThrow(/selected twice/);
  });

  it("reads the header's names after a byte-order mark and blank lines, quotes and all", () => {
    expect(headerNames(bytes('\ufeff\n \r\n"a;b" ; c ;"d ""e""\nf"\n1;2;3\n'), { delimiter: 0x3b })).toEqual([
      "a;b",
      "c",
      'd "e"\nf',
    ]);
    expect(headerNames(bytes('"open\n'), { delimiter: 0x3b })).toBeUndefined();
  });

  it("looks names up in the first piece of a file, takes only numbers in a piece that continues one", () => {
    const read = { ...readOptionsFrom({ header: true }), startsFile: true };
    expect(chooseColumns(["b"], read, bytes("a;b\n1;2\n")).select).toEqual([1]);
    expect(() => chooseColumns(["b"], { ...read, startsFile: false }, bytes("1;2\n"))).toThrow(/numbers/);
    expect(chooseColumns(["2"], { ...read, startsFile: false }, bytes("1;2\n")).names).toEqual(["2"]);
  });
});
