import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ClientError } from "../../rpc/client-error.js";
import { Status } from "../../rpc/grpc-status.js";
import { pipeReader } from "./pipe-reader.js";
import { filled } from "./stream-parts.js";
import type { ReadInto } from "./table-input.js";

// A real FIFO written by a real process (cat, or node writing slowly), read as standard input is.
const dir = mkdtempSync(join(tmpdir(), "pipe-reader-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fifos = 0;

/** A reader of a FIFO that `writer` (a shell command, its stdout the FIFO) fills, and its exit. */
function pipeFrom(writer: string): { read: ReadInto; exited: Promise<number | null> } {
  const fifo = join(dir, `fifo-${fifos++}`);
  execFileSync("mkfifo", [fifo]);
  const child = spawn("bash", ["-c", `${writer} > '${fifo}'`], { stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  // Blocks until the writer opens its end (it was started just before).
  const fd = openSync(fifo, "r");
  const read = pipeReader(fd, (error) => new ClientError(Status.FAILED_PRECONDITION, String(error)));
  return { read, exited };
}

async function all(read: ReadInto, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let next = 0;
  for await (const chunk of filled(read, () => Buffer.alloc(size))) {
    // Every buffer but the last is full: reads land in the buffer the caller fills.
    expect(next, "only the last buffer is short").toBe(0);
    if (chunk.length < size) next = 1;
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

describe("pipeReader", () => {
  it("gives a FIFO's bytes in order into full buffers, then 0 at its end", async () => {
    const bytes = randomBytes(5_000_000);
    const file = join(dir, "bytes");
    writeFileSync(file, bytes);
    for (const size of [1 << 20, 100_003, 4096]) {
      const { read, exited } = pipeFrom(`cat '${file}'`);
      expect((await all(read, size)).equals(bytes)).toBe(true);
      expect(await read(Buffer.alloc(10), 0, 10)).toBe(0);
      expect(await exited).toBe(0);
    }
  });

  it("gives bytes written slowly, in small pieces", async () => {
    const writer = `node -e 'let i = 0; const t = setInterval(() => { process.stdout.write(String(i).padStart(5, "0") + "\\n"); if (++i === 300) clearInterval(t); }, 1)'`;
    const { read, exited } = pipeFrom(writer);
    const text = (await all(read, 1 << 16)).toString();
    expect(text).toBe(Array.from({ length: 300 }, (_, i) => `${String(i).padStart(5, "0")}\n`).join(""));
    expect(await exited).toBe(0);
  });

  it("moves bytes read ahead to another buffer when the caller turns to one", async () => {
    const bytes = randomBytes(300_000);
    const file = join(dir, "ahead");
    writeFileSync(file, bytes);
    const { read } = pipeFrom(`cat '${file}'`);
    const out: Buffer[] = [];
    // Each read into a fresh buffer: the rest of the previous one, read ahead, is moved.
    for (;;) {
      const buffer = Buffer.alloc(50_000);
      const n = await read(buffer, 7, 40_000);
      if (n === 0) break;
      out.push(buffer.subarray(7, 7 + n));
    }
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
  });

  it("gives 0 at once for an empty pipe", async () => {
    const { read, exited } = pipeFrom("true");
    expect(await read(Buffer.alloc(1 << 20), 0, 1 << 20)).toBe(0);
    expect(await exited).toBe(0);
  });
});
