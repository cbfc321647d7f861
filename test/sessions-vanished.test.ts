import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type RunningServer, startServer } from "rpcpool";
import { lessonServices } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { clientProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// A client that vanishes without closing its connection (a stopped process, a cut link) answers
// nothing, not even the server's HTTP/2 ping: the server's keepalive notices, closes the
// connection, and the session's objects are released. SIGSTOP stands for the cut link: the
// client's kernel still acknowledges TCP, so only the ping tells the server the client is gone.

const temp = tempDir();
afterAll(() => temp.cleanup());

async function until(check: () => boolean, what: string, tries = 1500): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await sleep(10);
  if (!check()) throw new Error(`timed out waiting until ${what}`);
}

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
      await until(() => server.sessions().objects === 1, "the client's accumulator is made");
      // Several keepalive periods pass while the client answers: its session lives on.
      await sleep(1000);
      expect(server.sessions()).toEqual({ sessions: 1, objects: 1 });
      client.kill("SIGSTOP");
      // Hang guard only (15 s); the keepalive's time and timeout are 0.3 s each.
      await until(() => server.sessions().sessions === 0, "the server ends the session");
      expect(server.sessions()).toEqual({ sessions: 0, objects: 0 });
    } finally {
      writer.destroy();
      client.kill("SIGKILL");
      await server.close(1000);
    }
  });
});
