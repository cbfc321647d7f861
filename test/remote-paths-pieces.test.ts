import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ClientError, Pool, type PoolServer } from "rpcpool";
import { computeMethods, TableOptions } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toScaled } from "../src/exact/bigint-reference.js";
import { useServers } from "./support/local-servers.js";
import { tempDir } from "./support/temp-dir.js";

// A file the server reads itself is read and parsed by its worker threads, stripe by stripe
// (remote-file.ts): its sums, rows, exact sums and refusals must be the very ones of the same bytes
// streamed by a client, however many pieces, and however many such calls share the server.
// An exact sum's partials depend on where the pieces were cut; its value does not: compared as that.
const tmp = tempDir();
const root = join(tmp.dir, "root");
mkdirSync(root, { recursive: true });

/** Rows of floats across many magnitudes (so the exact sums matter), about `bytes` long. */
function floats(bytes: number, seed: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const x = ((i * 7919 + seed) % 10_007) - 5000;
    const line = `${x * 1e-8};${x / 3};${x * 1e12};${i}\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join("");
}

const big = floats(6 << 20, 1);
writeFileSync(join(root, "big.csv"), big);
// A bad cell far in (line 60,001: pieces after the first), and a line over the cap there.
const lines = floats(5 << 20, 2).split("\n");
const badLine = 60_000;
writeFileSync(
  join(root, "bad-cell.csv"),
  [...lines.slice(0, badLine), "1;2;x3;4", ...lines.slice(badLine)].join("\n"),
);
const longLine = `${"9".repeat(3 << 19)};1;1;1`;
writeFileSync(
  join(root, "long-line.csv"),
  [...lines.slice(0, badLine), longLine, ...lines.slice(badLine)].join("\n"),
);
// Quoted cells from line 60,001 on (the stripes before are read by the workers, the rest by the
// event loop's cutter), and a quoted cell holding newlines across several lines.
const quoted = [
  ...lines.slice(0, badLine),
  ...lines.slice(badLine).map((line) => line.replace(/^([^;]*);/, '"$1";')),
].join("\n");
writeFileSync(join(root, "quoted.csv"), quoted);
const quotedNewlines = [
  ...lines.slice(0, badLine),
  `"1${"\n".repeat(5)}2";1;1;1`,
  ...lines.slice(badLine),
].join("\n");
writeFileSync(join(root, "quoted-newlines.csv"), quotedNewlines);
const texts = new Map([
  ["quoted.csv", quoted],
  ["quoted-newlines.csv", quotedNewlines],
  ["big.csv", big],
  ["bad-cell.csv", [...lines.slice(0, badLine), "1;2;x3;4", ...lines.slice(badLine)].join("\n")],
  ["long-line.csv", [...lines.slice(0, badLine), longLine, ...lines.slice(badLine)].join("\n")],
]);

const served = useServers(1, { workers: 2, args: ["--data-root", root] });
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

type Wire = { partials: number[]; scaled: Array<{ exponent: number; partials: number[] }> };

/** An exact sum's value, times 2^(1074 + 4096): every double and band is an integer multiple of it. */
function exactValue(wire: Wire): string {
  let total = 0n;
  for (const p of wire.partials) total += toScaled(p) << 4096n;
  for (const band of wire.scaled)
    for (const p of band.partials) total += toScaled(p) << BigInt(4096 + band.exponent);
  return total.toString();
}

const outcome = (promise: Promise<{ rows: number; sums: number[]; exact: Wire[] }>) =>
  promise.then(
    (reply) => ({ rows: reply.rows, sums: reply.sums, exact: reply.exact.map(exactValue) }),
    (error: ClientError) => `${error.codeName}: ${error.details}`,
  );

/** ColumnSums of a file under the server's data root. */
function remote(name: string) {
  async function* requests() {
    yield { options: TableOptions.fromPartial({ fileName: name, delimiter: ";", remotePath: name }) };
  }
  return outcome(server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 20_000 }));
}

/** ColumnSums of the same bytes sent by the client, in 64 KiB chunks. */
function streamed(name: string) {
  const bytes = Buffer.from(texts.get(name)!);
  async function* requests() {
    yield { options: TableOptions.fromPartial({ fileName: name, delimiter: ";" }) };
    for (let at = 0; at < bytes.length; at += 65_536) yield { chunk: bytes.subarray(at, at + 65_536) };
  }
  return outcome(server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 20_000 }));
}

describe("a server's own file, two pieces per worker task", () => {
  it("sums bit-identically to the same bytes streamed", async () => {
    const own = await remote("big.csv");
    expect(typeof own).not.toBe("string");
    expect(own).toEqual(await streamed("big.csv"));
  });

  it("names the same file, line and column for a bad cell many pieces in", async () => {
    const own = await remote("bad-cell.csv");
    expect(own).toMatch(/^INVALID_ARGUMENT: bad-cell\.csv: line 60001, column 3: /);
    expect(own).toBe(await streamed("bad-cell.csv"));
  });

  it("names the same line for a line longer than --max-line-bytes (and than a piece) many pieces in", async () => {
    const own = await remote("long-line.csv");
    expect(own).toMatch(/^INVALID_ARGUMENT: long-line\.csv: line 60001: the line is longer/);
    expect(own).toBe(await streamed("long-line.csv"));
  });

  it("sums a file with quoted cells after its first pieces as the same bytes streamed", async () => {
    const own = await remote("quoted.csv");
    expect(typeof own).not.toBe("string");
    expect(own).toEqual(await streamed("quoted.csv"));
  });

  it("refuses a quoted cell holding newlines many pieces in as the same bytes streamed", async () => {
    const own = await remote("quoted-newlines.csv");
    expect(own).toMatch(/^INVALID_ARGUMENT: quoted-newlines\.csv: line 60001/);
    expect(own).toBe(await streamed("quoted-newlines.csv"));
  });

  it("finishes a dozen calls at once, more than the server's slots, all with the same sums", async () => {
    const expected = await remote("big.csv");
    const all = await Promise.all(Array.from({ length: 12 }, () => remote("big.csv")));
    for (const one of all) expect(one).toEqual(expected);
  });
});
