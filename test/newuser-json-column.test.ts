import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// docs/cli.md: a malformed JSON line is `FILE: line N, column C: ...`, "the column when the JSON
// is malformed". Node 20's JSON.parse names a position for some mistakes only ("Unexpected token
// 'o', "not json" is not valid JSON" has none): a new user's stray word or `{"a":}` lost its column.
const servers = useServers(1);
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const method = "rpcpool.compute.v1.ComputeService/Means";

describe("the column of a malformed JSON line", () => {
  it("map: each malformed line's error says its line and column; the good lines are answered", async () => {
    const input = tmp.file(
      "in.jsonl",
      ['{"lists":[{"values":[1,3]}]}', "not json", '{"lists":}', "", '{"lists":[1,,2]}'].join("\n"),
    );
    const run = await rpcpool(["map", method, input, "--servers", servers.list]);
    expect(run.code).toBe(1);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0].means).toEqual([2]);
    expect(lines.slice(1).map((l) => l.error.message.split(": not JSON")[0])).toEqual([
      `${input}: line 2, column 2`,
      `${input}: line 3, column 10`,
      `${input}: line 5, column 13`,
    ]);
  });

  it("call: a request that is not JSON is a usage error naming the column", async () => {
    const run = await rpcpool(["call", method, "{'lists':[]}", "--servers", servers.list]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toMatch(/^error: the request, column 2: not JSON: /);
    const word = await rpcpool(["call", method, "lists", "--servers", servers.list]);
    expect(word.code).toBe(2);
    expect(word.stderr.split("\n")[0]).toMatch(/^error: the request, column 1: not JSON: /);
  });
});
