import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { ClientError, Pool, type PoolServer } from "rpcpool";
import { computeMethods, TableOptions } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";

const servers = useServers(1);
let pool: Pool;
beforeAll(async () => {
  pool = await Pool.connect([servers.servers[0]!.address]);
});
afterAll(() => pool.close());

/** Streams arbitrary bytes as a table, in the chunks given. */
async function sumBytes(server: PoolServer, chunks: Uint8Array[], delimiter = ";") {
  async function* requests() {
    yield {
      options: TableOptions.fromPartial({ fileName: "fuzz.csv", delimiter }),
    };
    for (const chunk of chunks) yield { chunk: Buffer.from(chunk) };
  }
  return server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 30_000 });
}

describe("a server fed random bytes", () => {
  it("always answers with a result or INVALID_ARGUMENT, and stays up", async () => {
    const server = pool.servers[0]!;
    const printable = fc
      .constantFrom(..."0123456789;.,-+eE \t\r\nx\u0000".split(""))
      .map((c) => c.charCodeAt(0));
    const arbitraryBytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.array(printable, { maxLength: 400 }).map((a) => Uint8Array.from(a)),
    );
    await fc.assert(
      fc.asyncProperty(arbitraryBytes, fc.integer({ min: 1, max: 64 }), async (bytes, cut) => {
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += cut) chunks.push(bytes.subarray(i, i + cut));
        try {
          const reply = await sumBytes(server, chunks);
          expect(reply.sums).toHaveLength(reply.columns);
        } catch (error) {
          expect(error).toBeInstanceOf(ClientError);
          expect((error as ClientError).codeName, (error as ClientError).details).toBe("INVALID_ARGUMENT");
          expect((error as ClientError).details).toMatch(/^fuzz\.csv: /);
        }
      }),
      { numRuns: 300 },
    );
    expect((await server.refreshInfo()).pid).toBe(servers.servers[0]!.process.pid);
  });

  it("refuses a stream without options first", async () => {
    const server = pool.servers[0]!;
    async function* requests() {
      yield { chunk: Buffer.from("1;2\n") };
    }
    const call = server.clientStream(computeMethods.columnSums, requests(), { timeoutMs: 5000 });
    await expect(call).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });
});
