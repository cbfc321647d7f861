import { describe, expect, it } from "vitest";
import { jsonErrorOffset } from "./json-error-offset.js";

describe("jsonErrorOffset", () => {
  it("is undefined for JSON that parses", () => {
    for (const text of ['{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"]}', " 7 ", '""', "[]", "{}"]) {
      expect(JSON.parse(text) === undefined).toBe(false);
      expect(jsonErrorOffset(text)).toBeUndefined();
    }
  });

  it("points at the first character that cannot be JSON", () => {
    expect(jsonErrorOffset("not json")).toBe(1); // "n" may start null: "o" is the mistake, as V8 says
    expect(jsonErrorOffset('{"a":}')).toBe(5);
    expect(jsonErrorOffset("[1,,2]")).toBe(3);
    expect(jsonErrorOffset("{'a':1}")).toBe(1);
    expect(jsonErrorOffset('{"a":1} x')).toBe(8);
    expect(jsonErrorOffset('{"a":tru}')).toBe(8);
    expect(jsonErrorOffset('{"a":01}')).toBe(6);
    expect(jsonErrorOffset('{"a":1')).toBe(6);
    expect(jsonErrorOffset("")).toBe(0);
  });
});
