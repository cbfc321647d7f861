import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ClientError, Pool, type PoolServer } from "rpcpool";
import { computeMethods, Divisor, TableOptions } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { tempDir } from "./support/temp-dir.js";

const tmp = tempDir();
const root = join(tmp.dir, "root");
const outside = join(tmp.dir, "outside");
mkdirSync(join(root, "sub"), { recursive: true });
mkdirSync(outside);
writeFileSync(join(root, "sub", "table.csv"), "1;2\n3;4\n");
writeFileSync(join(root, "sub", "fifo-later.csv"), "1;2\n3;4\n");
writeFileSync(join(root, "long-line.csv"), `1;2\n${"5".repeat(3 << 20)}\n3;4\n`);
// The secret: its cells must never reach a client, as sums or quoted in a message.
writeFileSync(join(outside, "table.csv"), "1000;2000\nSECRET;x\n");
execFileSync("mkfifo", [join(root, "fifo.csv")]);
execFileSync("mkfifo", [join(tmp.dir, "a-fifo")]);
const served = useServers(1, { args: ["--data-root", root] });
let pool: Pool;
let server: PoolServer;
beforeAll(async () => {
  pool = await Pool.connect([served.servers[0]!.address], { retries: 0 });
  server = pool.servers[0]!;
});
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});

const outcome = (promise: Promise<{ sums?: number[]; means?: number[] }>) =>
  promise.then(
    (reply) => `OK ${JSON.stringify(reply.sums ?? reply.means)}`,
    (error: ClientError) => `${error.codeName}: ${error.details}`,
  );

/** ColumnSums of a remote path; the stream stays open until `hold` settles (the client's gap). */
function remoteSums(remotePath: string, hold?: Promise<unknown>) {
  async function* requests() {
    yield { options: TableOptions.fromPartial({ fileName: remotePath, delimiter: ";", remotePath }) };
    if (hold) await hold;
  }
  return server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 20_000 });
}

const fdCount = () => readdirSync(`/proc/${served.servers[0]!.process.pid}/fd`).length;

describe("files under --data-root are opened once, at once, and checked as opened", () => {
  it("refuses a FIFO at once (a FIFO never blocks the server)", async () => {
    expect(await outcome(remoteSums("fifo.csv"))).toMatch(
      /^FAILED_PRECONDITION: fifo\.csv: not a regular file/,
    );
  });

  it("reads the file it checked, even if a folder becomes a link out of the root before the client half-closes", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const call = outcome(remoteSums("sub/table.csv", gate));
    // Time for the server to take the first message, then the swap: sub becomes a link outside.
    await sleep(500);
    renameSync(join(root, "sub"), join(root, "sub-moved"));
    symlinkSync(outside, join(root, "sub"));
    release();
    const result = await call;
    expect(result).not.toMatch(/1000|SECRET/);
    // The file opened before the swap; or, had the server been slower, a refusal.
    expect(result).toMatch(/^OK \[4,6\]$|^PERMISSION_DENIED/);
    expect(await outcome(remoteSums("sub/table.csv"))).toMatch(/^PERMISSION_DENIED: sub\/table\.csv: /);
    // The link again a folder, for the tests after.
    renameSync(join(root, "sub"), join(root, "sub-link"));
    renameSync(join(root, "sub-moved"), join(root, "sub"));
  });

  it("reads the file it opened even if it becomes a FIFO before the client half-closes", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const call = outcome(remoteSums("sub/fifo-later.csv", gate));
    await sleep(500);
    renameSync(join(tmp.dir, "a-fifo"), join(root, "sub", "fifo-later.csv"));
    release();
    expect(await call).toMatch(/^OK \[4,6\]$|^FAILED_PRECONDITION/);
    // And the server still answers (a blocked thread pool would not).
    expect(await outcome(remoteSums("sub/table.csv"))).toBe("OK [4,6]");
  });

  it("refuses a line longer than --max-line-bytes in a file, naming the line", async () => {
    expect(await outcome(remoteSums("long-line.csv"))).toMatch(
      /^INVALID_ARGUMENT: long-line\.csv: line 2: the line is longer than this server's cap of 1048576 bytes \(--max-line-bytes\)/,
    );
  });

  it("keeps its descriptors flat over 40 refused calls (validated before the file is opened)", async () => {
    const weighNaN = () => {
      async function* requests() {
        yield {
          options: {
            table: TableOptions.fromPartial({ fileName: "t", delimiter: ";", remotePath: "sub/table.csv" }),
            weights: [1, Number.NaN],
            divisor: Divisor.DIVISOR_WEIGHTS,
            weightsHandle: "",
            weightsOffset: 0,
            weightsCount: 0,
          },
        };
      }
      return server.clientStream(computeMethods.weightedMeans, requests(), { timeoutMs: 20_000 });
    };
    expect(await outcome(weighNaN())).toMatch(/^INVALID_ARGUMENT: .*weight 2 is not a finite number/);
    const before = fdCount();
    for (let i = 0; i < 40; i++) await outcome(weighNaN());
    for (let i = 0; i < 20; i++) await outcome(remoteSums("fifo.csv"));
    for (let i = 0; i < 20; i++) await outcome(remoteSums("sub/table.csv"));
    expect(fdCount() - before).toBeLessThanOrEqual(3);
  });
});
