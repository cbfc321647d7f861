import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { ClientError, Pool, type RunningServer, startServer } from "rpcpool";
import {
  accumulateTables,
  ExactAccumulatorServiceDefinition,
  LessonClient,
  lessonColumnSums,
  lessonServices,
  lessonTableBytes,
  TableSourceServiceDefinition,
} from "rpcpool/lesson";
import { startLocalServer } from "rpcpool/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { clientProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { until } from "./support/waits.js";

// Sessions when a side dies, over real processes: the lesson's server (rpcpool-server) killed under
// its client's calls, and the lesson's client (rpcpool accumulate) killed under its server's.

const temp = tempDir();
afterAll(() => temp.cleanup());

describe("the lesson's exact accumulator, a session class", () => {
  it("gives running sums equal, bit for bit, to the column sums of the tables put together", async () => {
    const table = lessonTableBytes(700);
    const bad = temp.file("bad.csv", "1;2\n3;x\n");
    const files = [temp.file("a.csv", table), bad, temp.file("b.csv", table), temp.file("c.csv", table)];
    const all = temp.file("all.csv", Buffer.concat([table, table, table]));
    const server = await startServer({ port: 0, workers: 2, services: await lessonServices() });
    const pool = await Pool.connect([server.address]);
    try {
      const reports: number[] = [];
      const outcomes = [];
      for await (const outcome of accumulateTables(pool, files, {
        onProgress: (_, bytes) => reports.push(bytes),
      })) {
        outcomes.push(outcome);
      }
      expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
      const refused = outcomes[1] as { ok: false; error: ClientError };
      expect(refused.error.codeName).toBe("INVALID_ARGUMENT");
      expect(refused.error.details).toBe(`${bad}: line 2, column 2: "x" is not a number`);
      const last = outcomes[3] as { ok: true; value: { sums: number[]; tables: number; totalRows: number } };
      expect(last.value).toMatchObject({ tables: 3, totalRows: 2100 });
      expect(last.value.sums).toEqual(lessonColumnSums(700).map((sum) => sum * 3));
      expect(last.value.sums).toEqual((await new LessonClient(pool).columnSums(all)).sums);
      expect(reports.length).toBeGreaterThanOrEqual(3);
      expect(server.sessions()).toEqual({ sessions: 0, objects: 0 });
    } finally {
      await pool.close();
      await server.close(1000);
    }
  });
});

describe("a server that dies mid-session", () => {
  it("ends every call in flight on both sides with UNAVAILABLE; nothing hangs", async () => {
    const local = await startLocalServer({ workers: 1, stderr: "ignore" });
    const pool = await Pool.connect([local.address]);
    try {
      const session = await pool.session();
      const asked: string[] = [];
      const callbackEnds: string[] = [];
      session.expose(TableSourceServiceDefinition, {
        // Never answers: the server's AddTable waits on it.
        nextChunk: ({ fileName }, { signal }) =>
          new Promise((_resolve, reject) => {
            asked.push(fileName);
            signal.addEventListener("abort", () => {
              callbackEnds.push(fileName);
              reject(signal.reason);
            });
          }),
      });
      const first = await session.create(ExactAccumulatorServiceDefinition);
      const second = await session.create(ExactAccumulatorServiceDefinition);
      const pending = [
        first.call("addTable", { fileName: "one.csv" }),
        second.call("addTable", { fileName: "two.csv" }),
      ].map((call) => call.catch((error: unknown) => error as ClientError));
      await until(() => asked.length === 2, "the server waits on both callbacks");

      local.process.kill("SIGKILL");
      const errors = await Promise.all(pending);
      expect(errors.map((e) => e instanceof ClientError && e.codeName)).toEqual([
        "UNAVAILABLE",
        "UNAVAILABLE",
      ]);
      expect((errors[0] as ClientError).details).toContain("a session is not moved to another server");
      expect((await session.ended).codeName).toBe("UNAVAILABLE");
      expect(callbackEnds.sort()).toEqual(["one.csv", "two.csv"]);
      const late = await first.call("sums", {}).catch((error: unknown) => error as ClientError);
      expect(late).toBeInstanceOf(ClientError);
      expect((late as ClientError).codeName).toBe("UNAVAILABLE");
    } finally {
      await pool.close();
      await local.stop();
    }
  });
});

describe("a client that dies mid-session", () => {
  it("has its objects released and its session ended on the server", async () => {
    const server: RunningServer = await startServer({
      port: 0,
      workers: 1,
      services: await lessonServices(),
    });
    // A table that never ends: the server keeps pulling from the client until it is killed.
    const fifo = join(temp.dir, "endless.csv");
    await once(spawn("mkfifo", [fifo]), "exit");
    const client = spawn(process.execPath, [clientProgram, "accumulate", fifo, "--servers", server.address], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const writer = createWriteStream(fifo);
    writer.on("error", () => {});
    try {
      writer.write("1;2\n3;4\n");
      await until(() => server.sessions().objects === 1, "the client's accumulator is made");
      client.kill("SIGKILL");
      await until(() => server.sessions().sessions === 0, "the server ends the session");
      expect(server.sessions()).toEqual({ sessions: 0, objects: 0 });
    } finally {
      writer.destroy();
      if (client.exitCode === null && client.signalCode === null) client.kill("SIGKILL");
      await server.close(1000);
    }
  });
});
