// The lesson's ten tables are ten small files: each is summed on its server's event loop (no trip
// to a worker thread) when nothing else is summing there, and larger tables still go to the
// threads. Real server processes of one worker thread, real files, real calls.
import { ClientError, Pool } from "rpcpool";
import { columnSumsCall, columnSumsJob, lessonColumnSums, lessonTableBytes } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { tempDir } from "./support/temp-dir.js";

const servers = useServers(2);
const tmp = tempDir();
let pool: Pool;
beforeAll(async () => {
  pool = await Pool.connect(servers.servers.map((s) => s.address));
});
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});

describe("small tables", () => {
  it("the lesson's 1 MB table is summed on the server's event loop (thread 0), exactly", async () => {
    const file = tmp.file("tabla.csv", lessonTableBytes(10_100));
    // Two pieces (1 MiB and the rest): both summed where they were received, merged in order.
    const result = await columnSumsCall(pool.servers[0]!, file);
    expect(result.servedBy.threadId).toBe(0);
    expect(result.rows).toBe(10_100);
    expect(result.sums).toEqual(lessonColumnSums(10_100));
  });

  it("a table over 2 MiB still goes to a worker thread", async () => {
    const file = tmp.file("big.csv", lessonTableBytes(30_000));
    const result = await columnSumsCall(pool.servers[0]!, file);
    expect(result.servedBy.threadId).toBeGreaterThan(0);
    expect(result.sums).toEqual(lessonColumnSums(30_000));
  });

  it("a bad cell in the second piece is named by file, line and column; the other files keep their sums", async () => {
    const good = tmp.file("good.csv", lessonTableBytes(10_100));
    const bad = tmp.file("bad.csv", Buffer.concat([lessonTableBytes(10_100), Buffer.from("1;x;3\n")]));
    const job = await columnSumsJob(pool, [good, bad, good]);
    const [first, broken, third] = job.files;
    expect(first!.ok && first!.value.sums).toEqual(lessonColumnSums(10_100));
    expect(third!.ok && third!.value.sums).toEqual(lessonColumnSums(10_100));
    expect(broken!.ok).toBe(false);
    const error = !broken!.ok ? broken!.error : undefined;
    expect(error).toBeInstanceOf(ClientError);
    expect(error!.codeName).toBe("INVALID_ARGUMENT");
    expect(error!.details).toMatch(/bad\.csv: line 10101, column 2/);
  });

  it("a header and --columns on the event loop: the selected columns by name", async () => {
    const file = tmp.file("named.csv", "a;b;c\n1;2;3\n4;5;6\n");
    const result = await columnSumsCall(pool.servers[1]!, file, {
      read: { header: true, columns: ["c", "a"] },
    });
    expect(result.servedBy.threadId).toBe(0);
    expect(result.sums).toEqual([9, 5]);
    expect(result.columnNames).toEqual(["c", "a"]);
  });
});
