import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ClientError, Pool, type RunningServer, startServer } from "rpcpool";
import { ExactAccumulatorServiceDefinition, lessonServices } from "rpcpool/lesson";
import { startLocalServer } from "rpcpool/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { clientProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { until } from "./support/waits.js";

// A client that vanishes without closing its connection (a stopped process, a cut link) answers
// nothing, not even the server's HTTP/2 ping: the server's keepalive notices, closes the
// connection, and the session's objects are released. SIGSTOP stands for the cut link: the
// client's kernel still acknowledges TCP, so only the ping tells the server the client is gone.

const temp = tempDir();
afterAll(() => temp.cleanup());

describe("a client that stops answering mid-session", () => {
  it("has its session ended and its objects released by the server's keepalive", async () => {
    const server: RunningServer = await startServer({
      port: 0,
      workers: 1,
      services: await lessonServices(),
      keepaliveMs: 300,
      keepaliveTimeoutMs: 300,
    });
    // A table that never ends: the server's AddTable keeps waiting on the client's callback.
    const fifo = join(temp.dir, "endless.csv");
    await once(spawn("mkfifo", [fifo]), "exit");
    const client = spawn(process.execPath, [clientProgram, "accumulate", fifo, "--servers", server.address], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const writer = createWriteStream(fifo);
    writer.on("error", () => {});
    try {
      writer.write("1;2\n3;4\n");
      await until(() => server.sessions().objects === 1, "the client's accumulator is made", 1500);
      // Several keepalive periods pass while the client answers: its session lives on.
      await sleep(1000);
      expect(server.sessions()).toEqual({ sessions: 1, objects: 1 });
      client.kill("SIGSTOP");
      // Hang guard only (15 s); the keepalive's time and timeout are 0.3 s each.
      await until(() => server.sessions().sessions === 0, "the server ends the session", 1500);
      expect(server.sessions()).toEqual({ sessions: 0, objects: 0 });
    } finally {
      writer.destroy();
      client.kill("SIGKILL");
      await server.close(1000);
    }
  });
});

describe("rpcpool-server's --keepalive-ms and --max-session-objects", () => {
  it("free a stopped client's object for another client", async () => {
    // One object on the whole server: another client gets it only once the stopped one's is freed.
    const server = await startLocalServer({
      workers: 1,
      stderr: "ignore",
      args: ["--keepalive-ms", "300", "--keepalive-timeout-ms", "300", "--max-session-objects", "1"],
    });
    const fifo = join(temp.dir, "endless-2.csv");
    await once(spawn("mkfifo", [fifo]), "exit");
    const client = spawn(process.execPath, [clientProgram, "accumulate", fifo, "--servers", server.address], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const writer = createWriteStream(fifo);
    writer.on("error", () => {});
    const pool = await Pool.connect([server.address]);
    try {
      writer.write("1;2\n3;4\n");
      // The client opens its table once the server pulls it: its object exists by then.
      await once(writer, "open");
      const session = await pool.session();
      const create = () =>
        session.create(ExactAccumulatorServiceDefinition).then(
          async (object) => {
            await object.release();
            return "created";
          },
          (error: ClientError) => `${error.codeName}: ${error.details}`,
        );
      let outcome = await create();
      expect(outcome).toBe(
        "RESOURCE_EXHAUSTED: too many session objects on this server (limit 1, --max-session-objects): release some first",
      );
      client.kill("SIGSTOP");
      // Hang guard only (15 s).
      for (let i = 0; i < 150 && outcome !== "created"; i++) {
        await sleep(100);
        outcome = await create();
      }
      expect(outcome).toBe("created");
    } finally {
      writer.destroy();
      client.kill("SIGKILL");
      await pool.close();
      await server.stop();
    }
  });
});
