import { describe, expect, it } from "vitest";
import { rpcpool } from "./support/run-program.js";

// 1e400 looks like a number but is beyond float64 (Infinity). --pi 1e400 was a usage error
// already; --radii and --lists sent Infinity to a server, which refused it (exit 1). docs/cli.md:
// a malformed --radii or --lists is a usage error, exit 2, before any server is started.
describe("a number beyond float64 on the command line", () => {
  it("--radii 1,1e400: a usage error naming it, exit 2, one JSON document", async () => {
    const run = await rpcpool(["circles", "--radii", "1,1e400", "--servers", "127.0.0.1:1", "--json"]);
    expect(run.code).toBe(2);
    expect(run.json()).toEqual({
      errors: [
        {
          code: "INVALID_ARGUMENT",
          message: '--radii: "1e400" is beyond the largest number (about 1.8e308)',
        },
      ],
    });
  });

  it("--lists [[1],[2,-1e400]]: a usage error naming the item, exit 2", async () => {
    const run = await rpcpool(["means", "--lists", "[[1],[2,-1e400]]", "--servers", "127.0.0.1:1"]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(
      "error: --lists: item 2, number 2 is beyond the largest number (about 1.8e308)",
    );
  });
});
