import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TableOptions } from "../../gen/rpcpool/compute/v1/table.js";
import { ByteBudget } from "./byte-budget.js";
import { DataRoot } from "./data-root.js";
import { defaultTableLimits, openTableCall } from "./table-stream.js";

const dir = mkdtempSync(join(tmpdir(), "remote-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rows = (value: number) => `${value};${value}\n`.repeat(20_000);

/** The pieces a server reads of its own file, one by one, with `between` run after the first. */
async function readRemote(name: string, between: () => void = () => {}): Promise<Buffer> {
  const root = await DataRoot.open(dir);
  async function* requests(): AsyncGenerator<{ options?: TableOptions; chunk?: Buffer }> {
    yield { options: TableOptions.fromPartial({ fileName: name, delimiter: ";", remotePath: name }) };
  }
  const { call } = await openTableCall(requests(), (message) => message.options, root);
  const limits = { ...defaultTableLimits, pieceBytes: 16 << 10 };
  const memory = { take: (bytes: number) => new Uint8Array(bytes), give: () => {} };
  const pieces: Uint8Array[] = [];
  for await (const piece of call.pieces!(limits, memory, new ByteBudget(1 << 30).holder("spec"))) {
    if (pieces.length === 0) between();
    pieces.push(piece);
  }
  return Buffer.concat(pieces);
}

describe("a file the server reads itself (--remote-paths)", () => {
  it("is read whole, in pieces, when it does not change", async () => {
    writeFileSync(join(dir, "still.csv"), rows(1));
    expect((await readRemote("still.csv")).toString()).toBe(rows(1));
  });

  it("is refused with ABORTED when it is written to while it is read, never half old and half new", async () => {
    const path = join(dir, "rewritten.csv");
    writeFileSync(path, rows(1));
    await expect(readRemote("rewritten.csv", () => writeFileSync(path, rows(2)))).rejects.toMatchObject({
      code: 10,
      message: expect.stringMatching(/rewritten\.csv: changed while being read/),
    });
  });

  it("is refused with ABORTED when it is cut short while it is read", async () => {
    const path = join(dir, "shortened.csv");
    writeFileSync(path, rows(1));
    await expect(readRemote("shortened.csv", () => writeFileSync(path, "1;1\n"))).rejects.toMatchObject({
      code: 10,
      message: expect.stringMatching(/shortened\.csv: changed while being read/),
    });
  });
});
