import { describe, expect, it } from "vitest";
import { rpcpool } from "./support/run-program.js";

// A new user copies a server's address as a URL (`http://10.0.0.5:50051`, as a browser or a
// dashboard shows it). It was "not HOST:PORT, dns:///NAME:PORT, nor a file (no such file)": true,
// but it did not say the fix. Now the usage error (exit 2) says to drop the scheme.
describe("--servers given as a URL", () => {
  it("alone: says to drop the scheme, with the address to give", async () => {
    const run = await rpcpool(["circles", "--radii", "1", "--servers", "http://127.0.0.1:50051", "--json"]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(
      'error: --servers: "http://127.0.0.1:50051" is a URL, not HOST:PORT: drop the scheme, --servers 127.0.0.1:50051',
    );
    expect(run.json().errors[0].code).toBe("INVALID_ARGUMENT");
  });

  it("in a list: the same, for that item", async () => {
    const run = await rpcpool(["circles", "--radii", "1", "--servers", "127.0.0.1:1,grpc://[::1]:50051/"]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(
      'error: --servers: "grpc://[::1]:50051/" is a URL, not HOST:PORT: drop the scheme, [::1]:50051',
    );
  });

  it("a URL without a port says what it said before", async () => {
    const run = await rpcpool(["circles", "--radii", "1", "--servers", "http://example"]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(
      'error: --servers: "http://example" is not HOST:PORT, dns:///NAME:PORT, nor a file (no such file)',
    );
  });
});
