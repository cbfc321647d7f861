import { afterAll, describe, expect, it } from "vitest";
import { floatTable } from "../bench/float-table.js";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Issue 21's float table through real servers: their worker threads read its pieces with the Wasm
// decimal kernel (src/csv/wasm/decimal-sum.wat), whole or split across two servers, and the sums
// must be the exactly rounded ones, bit for bit.
const servers = useServers(2, { workers: 2 });
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("the float table's column sums", () => {
  const table = floatTable(60_000);
  const file = () => tmp.file("float.csv", table.text.toString("latin1"));

  it("are the exactly rounded sums, whole on one server and split over two", async () => {
    const path = file();
    for (const split of ["none", "256KB"]) {
      const run = await rpcpool(["column-sums", path, "--split", split, "--servers", servers.list, "--json"]);
      expect(run.code, run.stderr).toBe(0);
      const result = run.json().results[0];
      expect(result.rows).toBe(60_000);
      expect(result.sums).toEqual(table.exactSums);
    }
  });
});
