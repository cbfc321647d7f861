import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ClientError, Pool } from "rpcpool";
import {
  ColumnSumsRequest,
  columnSumsCall,
  computeMethods,
  LessonClient,
  weightedMeansCall,
} from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Issue 17: a refusal naming a file or handle with a non-ASCII character (données.csv) once made
// the server exit: its legacy rpcpool-* trailer was not a valid header value, grpc-js threw on the
// path that answers the call, and nothing caught it. A pool then retried on the next server and
// stopped that one too. Each call here is refused; the server must answer the next one.

const servers = useServers(1);
const tmp = tempDir();
const file = join(tmp.dir, "données.csv");
writeFileSync(file, "1;2\n3;x\n");
let pool: Pool;
beforeAll(async () => {
  pool = await Pool.connect([servers.servers[0]!.address], { retries: 0 });
});
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});

async function refusal(promise: Promise<unknown>): Promise<ClientError> {
  const outcome = await promise.then(
    () => undefined,
    (error: ClientError) => error,
  );
  expect(outcome, "the call was expected to be refused").toBeDefined();
  return outcome!;
}

/** The server still runs and answers: the refusal did not take it down. */
async function expectAlive() {
  expect(servers.servers[0]!.process.exitCode).toBeNull();
  expect((await new LessonClient(pool).sleep(1)).elapsedMs).toBeGreaterThanOrEqual(0);
}

describe("a refusal naming something in UTF-8", () => {
  it("ColumnSums: INVALID_ARGUMENT with the file name intact, and the server lives", async () => {
    const error = await refusal(
      pool.map([file], (name, server, signal) => columnSumsCall(server, name, { signal })),
    );
    expect(error.codeName).toBe("INVALID_ARGUMENT");
    expect(error.details).toContain("données.csv: line 2, column 2");
    expect(error.errorDetails.errorInfo?.metadata?.file).toContain("données.csv");
    await expectAlive();
  });

  it("WeightedMeans: the same", async () => {
    const error = await refusal(
      pool.map([file], (name, server, signal) => weightedMeansCall(server, name, [1, 1], { signal })),
    );
    expect(error.codeName).toBe("INVALID_ARGUMENT");
    expect(error.details).toContain("données.csv: line 2, column 2");
    expect(error.errorDetails.errorInfo?.metadata?.file).toContain("données.csv");
    await expectAlive();
  });

  it("Store/Keep of a refused ColumnSums: the same", async () => {
    const error = await refusal(
      pool.keep(computeMethods.columnSums, [
        ColumnSumsRequest.fromPartial({ options: { fileName: "données.csv" } }),
        ColumnSumsRequest.fromPartial({ chunk: Buffer.from("1;2\n3;x\n") }),
      ]),
    );
    expect(error.codeName).toBe("INVALID_ARGUMENT");
    expect(error.details).toContain("données.csv: line 2, column 2");
    expect(error.errorDetails.errorInfo?.metadata?.file).toBe("données.csv");
    await expectAlive();
  });

  it("VALUE_MISSING for a non-ASCII handle: the handle intact in its details", async () => {
    const handle = "é".repeat(64);
    const error = await refusal(
      pool.map([file], (name, server, signal) =>
        columnSumsCall(server, name, { tableHandle: handle, signal }),
      ),
    );
    expect(error.codeName).toBe("FAILED_PRECONDITION");
    expect(error.errorDetails.errorInfo).toMatchObject({ reason: "VALUE_MISSING", metadata: { handle } });
    expect(error.details).toContain(handle);
    await expectAlive();
  });

  it("a session's AddTable (rpcpool accumulate): the same", async () => {
    const run = await rpcpool(["accumulate", file, "--servers", servers.list, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json().errors.map((e: { code: string }) => e.code)).toEqual(["INVALID_ARGUMENT"]);
    expect(run.stderr).toContain("données.csv: line 2, column 2");
    await expectAlive();
  });
});
