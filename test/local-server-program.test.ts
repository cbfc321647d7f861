import { join } from "node:path";
import { Pool } from "rpcpool";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "./support/temp-dir.js";

// Pool.local({ program }) starts a person's own server program: when it fails, the message names
// that program, never rpcpool-server, which the person did not ask for.
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("Pool.local with a program of one's own", () => {
  it("names a program that does not exist", async () => {
    const program = join(tmp.dir, "my-server.js");
    await expect(Pool.local({ servers: 1, program })).rejects.toThrow(
      `the server program ${program} does not exist`,
    );
  });

  it("names a program that exits before it listens", async () => {
    const program = tmp.file("quits.mjs", "process.exit(3);\n");
    const failure = Pool.local({ servers: 1, program, stderr: "ignore" });
    await expect(failure).rejects.toThrow(`${program} exited with code 3 before listening`);
    await expect(failure).rejects.not.toThrow(/rpcpool-server/);
  });
});
