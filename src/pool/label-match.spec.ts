import { describe, expect, it } from "vitest";
import { ClientError } from "../rpc/client-error.js";
import { parseLabel } from "../rpc/server-labels.js";
import { matching, meets, mergeRules, rank } from "./label-match.js";
import type { ServerConnection } from "./server-connection.js";

// The pure rules of labels (docs/scheduling.md); the engine's use of them runs over real servers
// in test/labels.test.ts.
const server = (address: string, labels?: Record<string, string>) =>
  ({ address, info: labels ? { labels } : undefined }) as unknown as ServerConnection;

describe("label rules", () => {
  it("meet a requirement only with every pair; an absent key is not an empty value", () => {
    expect(meets({ gpu: "1", zone: "a" }, { gpu: "1" })).toBe(true);
    expect(meets({ gpu: "1" }, { gpu: "1", zone: "a" })).toBe(false);
    expect(meets({}, { gpu: "" })).toBe(false);
    expect(meets({ gpu: "" }, { gpu: "" })).toBe(true);
    expect(meets({}, undefined)).toBe(true);
  });

  it("rank by the preferred pairs held", () => {
    expect(rank({ gpu: "1", zone: "a" }, { gpu: "1", zone: "a" })).toBe(2);
    expect(rank({ gpu: "1", zone: "b" }, { gpu: "1", zone: "a" })).toBe(1);
    expect(rank({ gpu: "1" }, undefined)).toBe(0);
  });

  it("merge key by key, the later over the earlier, and refuse a bad key as INVALID_ARGUMENT", () => {
    expect(mergeRules({ require: { zone: "a", gpu: "1" } }, { require: { zone: "b" } })).toEqual({
      require: { zone: "b", gpu: "1" },
      prefer: undefined,
    });
    expect(mergeRules({}, {})).toEqual({ require: undefined, prefer: undefined });
    expect(mergeRules({ require: {} }, { prefer: {} })).toEqual({ require: undefined, prefer: undefined });
    expect(() => mergeRules({}, { prefer: { "a b": "1" } })).toThrow(ClientError);
  });

  it("list the matching servers, preferred first, in the pool's order otherwise", () => {
    const list = [server("a", { zone: "a" }), server("b", { zone: "b", gpu: "1" }), server("p")];
    const names = (rules: Parameters<typeof matching>[1]) => matching(list, rules).map((s) => s.address);
    expect(names({})).toEqual(["a", "b", "p"]);
    expect(names({ require: { gpu: "1" } })).toEqual(["b"]);
    expect(names({ prefer: { zone: "b" } })).toEqual(["b", "a", "p"]);
  });

  it("parse KEY=VALUE with the key's grammar", () => {
    expect(parseLabel("example.com/pool=big=yes")).toEqual(["example.com/pool", "big=yes"]);
    expect(parseLabel("gpu=")).toEqual(["gpu", ""]);
    expect(() => parseLabel("gpu")).toThrow(/not KEY=VALUE/);
    expect(() => parseLabel("=1")).toThrow(/letters, digits/);
    expect(() => parseLabel("g pu=1")).toThrow(/letters, digits/);
  });
});
