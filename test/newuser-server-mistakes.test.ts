import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rpcpool, runProgram, serverProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// A new user's typos on the servers' and the client's flags: a usage error (exit 2) in words,
// like `--host 10.9.9.9 is not an address of this machine`, not grpc-js's "UNKNOWN: Name
// resolution failed for target dns:999.1.1.1:0" (exit 1) nor a bare "ENOENT".
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const missing = join(tmp.dir, "nope.pem");

describe("rpcpool-server", () => {
  it("--host that is no address nor a name: a usage error naming it", async () => {
    const run = await runProgram(serverProgram, ["--host", "999.1.1.1", "--port", "0"], {
      timeoutMs: 20_000,
    });
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(
      "error: --host 999.1.1.1: no such address or host name (e.g. 127.0.0.1, or 0.0.0.0 for every interface)",
    );
    expect(run.stdout).toBe("");
  });

  it.each([
    ["--token-file", [missing]],
    ["--tls-cert", [missing, "--tls-key", missing]],
  ])("%s of a missing file: 'no such file', exit 2", async (flag, rest) => {
    const run = await runProgram(serverProgram, [flag, ...rest, "--port", "0"], { timeoutMs: 20_000 });
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(`error: ${flag}: cannot read ${missing}: no such file`);
  });
});

describe("rpcpool", () => {
  it("--token-file missing and --tls-ca a folder: said in words, exit 2, one JSON document", async () => {
    const token = await rpcpool([
      "circles",
      "--radii",
      "1",
      "--token-file",
      missing,
      "--servers",
      "127.0.0.1:1",
    ]);
    expect(token.code).toBe(2);
    expect(token.stderr.split("\n")[0]).toBe(`error: --token-file: cannot read ${missing}: no such file`);
    const ca = await rpcpool([
      "circles",
      "--radii",
      "1",
      "--tls-ca",
      tmp.dir,
      "--servers",
      "127.0.0.1:1",
      "--json",
    ]);
    expect(ca.code).toBe(2);
    expect(ca.json()).toEqual({
      errors: [
        { code: "INVALID_ARGUMENT", message: `--tls-ca: cannot read ${tmp.dir}: it is a folder, not a file` },
      ],
    });
  });
});
