import { truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TableOptions } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
// The built modules, as a server runs them: the worker threads load dist/'s table-worker.js.
import { WorkerPool } from "../dist/src/host/worker-pool.js";
import { ByteBudget } from "../dist/src/lesson/host/byte-budget.js";
import { DataRoot } from "../dist/src/lesson/host/data-root.js";
import { PieceSlots } from "../dist/src/lesson/host/piece-slots.js";
import { defaultTableLimits, openTableCall, sumTable } from "../dist/src/lesson/host/table-stream.js";
import { tempDir } from "./support/temp-dir.js";

// A server's own file is read by its worker threads, stripe by stripe (remote-file.ts): a read that
// fails in a worker mid-file must refuse the call as the event loop's reads did, and no worker may
// read the descriptor once the call has ended (it is closed then, and its number reused).
const tmp = tempDir();
const pool = new WorkerPool(2);
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});

/** Integer rows, about `bytes` long. */
function table(bytes: number): string {
  const row = "1;22;333;4444;55555\n";
  return row.repeat(Math.ceil(bytes / row.length));
}

type Run = WorkerPool["run"];

/** ColumnSums of `name` under the temp dir, its worker tasks run by `run`. */
async function sumOwnFile(name: string, run: Run, signal = new AbortController().signal) {
  const root = await DataRoot.open(tmp.dir);
  async function* requests(): AsyncGenerator<{ options?: TableOptions; chunk?: Buffer }> {
    yield { options: TableOptions.fromPartial({ fileName: name, delimiter: ";", remotePath: name }) };
  }
  const { call } = await openTableCall(requests(), (message) => message.options, root);
  const work = {
    threads: 2,
    pieces: new PieceSlots(3 << 19, 8),
    buffered: new ByteBudget(256 << 20, 30_000),
    run,
  };
  return sumTable(call, work, { signal, peer: "spec" }, defaultTableLimits);
}

describe("a server's own file, read by its worker threads", () => {
  it("is refused with ABORTED when a worker's read comes up short mid-file (the file was cut short)", async () => {
    const path = join(tmp.dir, "cut.csv");
    writeFileSync(path, table(24 << 20));
    const refusedInWorker: string[] = [];
    let first = true;
    const run = (<T>(module: string | URL, exportName: string, args?: unknown[], options?: never) => {
      const task = pool.run<T>(module, exportName, args, options);
      task.catch((error: Error) => refusedInWorker.push(error.message));
      if (!first) return task;
      first = false;
      // Cut short once the first stripes are read: the stripes handed out after it read past the end.
      return task.then((result) => {
        truncateSync(path, 1 << 20);
        return result;
      });
    }) as Run;
    await expect(sumOwnFile("cut.csv", run)).rejects.toMatchObject({
      code: 10,
      message: expect.stringMatching(/^cut\.csv: changed while being read/),
    });
    expect(refusedInWorker).toContain("the file is shorter than when it was opened");
    expect(pool.running).toBe(0);
  });

  it("sums the file whole when it does not change, and leaves no task running", async () => {
    writeFileSync(join(tmp.dir, "still.csv"), table(6 << 20));
    const { merger, bytes } = await sumOwnFile("still.csv", pool.run.bind(pool));
    const rows = Math.ceil((6 << 20) / 20);
    expect(bytes).toBe(rows * 20);
    expect(merger.rows).toBe(rows);
    expect(merger.sums()).toEqual([rows, 22 * rows, 333 * rows, 4444 * rows, 55555 * rows]);
    expect(pool.running).toBe(0);
  });

  it("once cancelled, ends with every worker task settled: none reads the closed descriptor", async () => {
    writeFileSync(join(tmp.dir, "long.csv"), table(24 << 20));
    const abort = new AbortController();
    let tasks = 0;
    const run: Run = (module, exportName, args, options) => {
      if (++tasks === 3) abort.abort(new Error("cancelled by the spec"));
      return pool.run(module, exportName, args, options);
    };
    await expect(sumOwnFile("long.csv", run, abort.signal)).rejects.toThrow();
    expect(pool.running).toBe(0);
    expect(pool.waitingTotal).toBe(0);
  });
});
