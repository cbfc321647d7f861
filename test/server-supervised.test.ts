import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Pool } from "rpcpool";
import { LessonClient } from "rpcpool/lesson";
import { describe, expect, it } from "vitest";
import { root } from "./support/run-program.js";

/** Starts a server as a supervisor would, with the documented command; resolves its address. */
async function supervised(command: string, args: string[]) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "ignore"] });
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  return { child, address: line.replace(/^listening on /, "") };
}

describe("a server under a supervisor (docs/several-machines.md)", () => {
  it("deploy/run-server.sh: SIGTERM to the PID the supervisor knows drains the server and exits 0", async () => {
    const { child, address } = await supervised("sh", [
      join(root, "deploy/run-server.sh"),
      "--port",
      "0",
      "--workers",
      "1",
      // The largest values the flags take (2^31 - 1 ms, a timer's limit).
      "--grace",
      "2147483647",
      "--max-deadline-ms",
      "2147483647",
    ]);
    const pool = await Pool.connect([address], { retries: 0 });
    try {
      const inFlight = new LessonClient(pool).sleep(1000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const exit = once(child, "exit");
      child.kill("SIGTERM");
      const result = await inFlight;
      // The script exec'd the server: the PID signalled is the server's own.
      expect(result.servedBy!.pid).toBe(child.pid);
      const [code] = await exit;
      expect(code).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
