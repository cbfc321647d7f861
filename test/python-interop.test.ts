import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lessonTableBytes } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { root } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// The contract is language-neutral: a Python client with grpcio, from stubs generated out of proto/
// at test time, calls the TypeScript server.

/** A python3 that has grpcio and grpc_tools (Debian's packages are seen by /usr/bin/python3 only). */
function findPython(): string | undefined {
  const candidates = [process.env.RPCPOOL_PYTHON, "python3", "/usr/bin/python3"].filter(Boolean);
  return candidates.find(
    (python) =>
      spawnSync(python!, ["-c", "import grpc, grpc_tools.protoc"], { stdio: "ignore" }).status === 0,
  );
}

const python = findPython();
const skipReason = python
  ? undefined
  : "no python3 with grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools)";
if (skipReason) console.warn(`Python interop tests skipped: ${skipReason}`);

const script = join(root, "test", "python", "column_sums_client.py");
const healthProtoRoot = join(root, "node_modules", "grpc-health-check", "proto");
const googleProtoRoot = join(root, "node_modules", "google-proto-files");
const lessonSums = [54825, 259717, 186143, 424240, 264068, 994225, 362188, 313128, 339071, 277033];

let tmp: ReturnType<typeof tempDir>;
let stubs = "";

/**
 * Generates the Python modules of every proto of the contract, and of the standard protos it uses
 * (health, and google.rpc.Status with its error details).
 */
function generateStubs() {
  tmp = tempDir("rpcpool-python-");
  stubs = join(tmp.dir, "stubs");
  const protoc = (includeDir: string, files: string[]) =>
    execFileSync(
      python!,
      [
        "-m",
        "grpc_tools.protoc",
        "-I",
        includeDir,
        `--python_out=${stubs}`,
        `--grpc_python_out=${stubs}`,
        ...files,
      ],
      { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
    );
  mkdirSync(stubs, { recursive: true });
  const contract = "proto/rpcpool/compute/v1";
  const protos = readdirSync(join(root, contract)).filter((name) => name.endsWith(".proto"));
  protoc(
    "proto",
    protos.map((name) => `${contract}/${name}`),
  );
  protoc(healthProtoRoot, ["health/v1/health.proto"]);
  // Debian's grpc_tools bundles protoc 3.5, older than proto3 `optional` (one field of
  // error_details.proto uses it): a copy without the label has the same wire format.
  const googleRpc = ["google/rpc/status.proto", "google/rpc/error_details.proto"];
  const googleCopy = join(tmp.dir, "google-protos");
  mkdirSync(join(googleCopy, "google", "rpc"), { recursive: true });
  for (const file of googleRpc) {
    const text = readFileSync(join(googleProtoRoot, file), "utf8");
    writeFileSync(join(googleCopy, file), text.replace(/^(\s+)optional /gm, "$1"));
  }
  protoc(googleCopy, googleRpc);
}

/** Runs the Python client against the test's server and parses its one JSON document. */
function pythonClient(address: string, args: string[]): any {
  const run = spawnSync(python!, [script, "--stubs", stubs, "--address", address, ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`python exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe.skipIf(skipReason)(`Python client (grpcio)${skipReason ? `: skipped, ${skipReason}` : ""}`, () => {
  const servers = useServers(1);
  beforeAll(generateStubs);
  afterAll(() => tmp.cleanup());
  it("streams a lesson table in chunks and gets its column sums, equal to Python's math.fsum", () => {
    const file = tmp.file("tabla_00.csv", lessonTableBytes());
    // Small chunks: rows cross chunk boundaries, as they do with any client's own chunking.
    const reply = pythonClient(servers.list, ["sums", file, "--chunk-size", "4096", "--fsum"]);
    expect(reply).toMatchObject({
      rows: 10100,
      columns: 40,
      sums: [...lessonSums, ...lessonSums, ...lessonSums, ...lessonSums],
      servedBy: { server: servers.list },
    });
    expect(reply.sums).toEqual(reply.fsum);
  });

  it("asks grpc.health.v1 for the server and for the compute service", () => {
    expect(pythonClient(servers.list, ["health"])).toEqual({ status: "SERVING" });
    expect(pythonClient(servers.list, ["health", "--service", "rpcpool.compute.v1.ComputeService"])).toEqual({
      status: "SERVING",
    });
  });

  it("receives INVALID_ARGUMENT with the file, line and column of a bad cell", () => {
    const file = tmp.file("bad.csv", "1;2;3\n4;5;6\n7;x;9\n");
    const { error } = pythonClient(servers.list, ["sums", file]);
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.details).toContain("line 3, column 2");
    expect(error.trailing).toMatchObject({
      "rpcpool-file": file,
      "rpcpool-line": "3",
      "rpcpool-column": "2",
    });
    // The standard details, as Python's stock protobuf reads them from grpc-status-details-bin.
    expect(error.status).toEqual({
      code: 3,
      message: error.details,
      errorInfo: {
        reason: "MALFORMED_TABLE",
        domain: "rpcpool",
        metadata: { file, line: "3", column: "2" },
      },
    });
  });
});
