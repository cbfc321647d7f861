import { existsSync } from "node:fs";
import { type LocalServer, startLocalServers } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { makeTestCa } from "./support/test-ca.js";

// A server whose certificate the client does not trust is not "unreachable": the client says TLS
// refused it, and why.
const noOpenssl = existsSync("/usr/bin/openssl") ? undefined : "openssl is not installed: no test CA";
const tmp = tempDir();
let servers: LocalServer[] = [];
let good: ReturnType<typeof makeTestCa>;
let other: ReturnType<typeof makeTestCa>;
let plain: LocalServer[] = [];
beforeAll(async () => {
  if (noOpenssl) return;
  good = makeTestCa(tmp.dir, "good");
  other = makeTestCa(tmp.dir, "other");
  servers = await startLocalServers(1, {
    workers: 1,
    args: ["--tls-cert", good.serverCert, "--tls-key", good.serverKey],
    stderr: "ignore",
  });
  plain = await startLocalServers(1, { workers: 1, stderr: "ignore" });
});
afterAll(async () => {
  await Promise.all([...servers, ...plain].map((s) => s.stop()));
  tmp.cleanup();
});

describe("an untrusted server certificate", () => {
  it("is reported as a TLS refusal, with the reason", async ({ skip }) => {
    skip(noOpenssl !== undefined, noOpenssl);
    const run = await rpcpool([
      "circles",
      "--radii",
      "1",
      "--servers",
      servers[0]!.address,
      "--tls-ca",
      other.ca,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/warning: skipping 127\.0\.0\.1:\d+: UNAVAILABLE: TLS refused: /);
    expect(run.stderr).toMatch(/error: UNAVAILABLE: TLS refused \(127\.0\.0\.1:\d+: [^)]*certificate[^)]*\)/);
    expect(run.stderr).not.toContain("no server could be reached");
    expect(run.stderr).not.toContain("DeprecationWarning");
  });

  it("so is a TLS connection to a server that does not speak TLS", async ({ skip }) => {
    skip(noOpenssl !== undefined, noOpenssl);
    const run = await rpcpool([
      "circles",
      "--radii",
      "1",
      "--servers",
      plain[0]!.address,
      "--tls-ca",
      good.ca,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: UNAVAILABLE: TLS refused/);
  });
});
