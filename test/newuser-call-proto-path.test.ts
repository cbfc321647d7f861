import { describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";

// `rpcpool call --proto proto/pkg/v1/x.proto`: the path as a new user types it (from the project's
// folder, no -I for the file itself). It worked, but @grpc/proto-loader printed "Warning: ... not
// found in any of the include paths" on stderr first; the working directory is now the last
// include path, as protoc's default.
const servers = useServers(1);
const method = "rpcpool.compute.v1.ComputeService/Means";
const request = '{"lists":[{"values":[1,3]}]}';

describe("call --proto with a path relative to the working directory", () => {
  it("with -I for its imports: the reply, and nothing on stderr", async () => {
    const run = await rpcpool([
      "call",
      method,
      request,
      "--proto",
      "proto/rpcpool/compute/v1/compute.proto",
      "-I",
      "proto",
      "--servers",
      servers.list,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).means).toEqual([2]);
    expect(run.stderr).toBe("");
  });

  it("as ./path, and as a name under -I: the same", async () => {
    for (const proto of [
      ["./proto/rpcpool/compute/v1/compute.proto", "-I", "proto"],
      ["rpcpool/compute/v1/compute.proto", "-I", "proto"],
    ]) {
      const run = await rpcpool(["call", method, request, "--proto", ...proto, "--servers", servers.list]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe("");
    }
  });
});
