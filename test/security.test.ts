import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthCheck } from "./support/grpc-clients.js";
import { rpcpool, serverProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { makeTestCa } from "./support/test-ca.js";

const tmp = tempDir();
const children: ChildProcess[] = [];
let good: ReturnType<typeof makeTestCa>;
let other: ReturnType<typeof makeTestCa>;
let table: string;
let token: string;
let wrongToken: string;

async function server(args: string[]) {
  const child = spawn(process.execPath, [serverProgram, "--port", "0", "--workers", "1", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  return { address: line.replace("listening on ", ""), stderr: () => stderr };
}

beforeAll(() => {
  good = makeTestCa(tmp.dir, "good");
  other = makeTestCa(tmp.dir, "other");
  table = tmp.file("t.csv", "1;2\n3;4\n");
  token = tmp.file("token", "s3cret-token-value\n");
  wrongToken = tmp.file("wrong", "not-the-token\n");
});
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  tmp.cleanup();
});

const sums = (args: string[]) => rpcpool(["column-sums", table, "--json", ...args]);

const noOpenssl = existsSync("/usr/bin/openssl") ? undefined : "openssl is not installed: no test CA";
describe.skipIf(noOpenssl)(
  `TLS, mutual TLS and the bearer token${noOpenssl ? `: skipped, ${noOpenssl}` : ""}`,
  () => {
    it("serves TLS to a client that trusts its CA, and refuses one that does not", async () => {
      const { address } = await server(["--tls-cert", good.serverCert, "--tls-key", good.serverKey]);
      const ok = await sums(["--servers", address, "--tls-ca", good.ca]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.json().results[0].sums).toEqual([4, 6]);
      const wrongCa = await sums(["--servers", address, "--tls-ca", other.ca]);
      expect(wrongCa.code).toBe(1);
      expect(wrongCa.stderr).toMatch(/UNAVAILABLE|no server could be reached/);
      const plaintext = await sums(["--servers", address]);
      expect(plaintext.code).toBe(1);
    });

    it("with mutual TLS, accepts the CA's client certificate and refuses another or none", async () => {
      const { address } = await server([
        "--tls-cert",
        good.serverCert,
        "--tls-key",
        good.serverKey,
        "--tls-ca",
        good.ca,
      ]);
      const ok = await sums([
        "--servers",
        address,
        "--tls-ca",
        good.ca,
        "--tls-cert",
        good.clientCert,
        "--tls-key",
        good.clientKey,
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      const untrusted = await sums([
        "--servers",
        address,
        "--tls-ca",
        good.ca,
        "--tls-cert",
        other.clientCert,
        "--tls-key",
        other.clientKey,
      ]);
      expect(untrusted.code).toBe(1);
      const none = await sums(["--servers", address, "--tls-ca", good.ca]);
      expect(none.code).toBe(1);
    });

    it("checks the token on every call: wrong or missing is UNAUTHENTICATED; health stays open", async () => {
      const { address, stderr } = await server(["--token-file", token]);
      const ok = await sums(["--servers", address, "--token-file", token]);
      expect(ok.code, ok.stderr).toBe(0);
      for (const args of [["--token-file", wrongToken], []]) {
        const refused = await sums(["--servers", address, ...args]);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(/UNAUTHENTICATED|bearer token/);
        expect(refused.stderr + refused.stdout).not.toContain("s3cret");
      }
      expect(await healthCheck(address)).toBe("SERVING");
      expect(stderr()).not.toContain("s3cret");
    });

    it("warns when it listens beyond loopback without TLS or token, and not with them", async () => {
      const open = await server(["--host", "0.0.0.0"]);
      await expect
        .poll(() => open.stderr(), { timeout: 10_000 })
        .toMatch(/warning: .*without TLS or a token/);
      const tokenOnly = await server(["--host", "0.0.0.0", "--token-file", token]);
      const guarded = await server([
        "--host",
        "0.0.0.0",
        "--token-file",
        token,
        "--tls-cert",
        good.serverCert,
        "--tls-key",
        good.serverKey,
      ]);
      await expect.poll(() => tokenOnly.stderr(), { timeout: 10_000 }).toMatch(/warning: .*clear text/);
      // The guarded server started after the token-only one, whose warning is in: give its stderr as long.
      await new Promise((r) => setTimeout(r, 200));
      expect(guarded.stderr()).not.toMatch(/warning/);
    });

    it("refuses unreadable TLS or token files as usage errors (exit 2)", async () => {
      expect((await sums(["--servers", "127.0.0.1:1", "--token-file", `${tmp.dir}/none`])).code).toBe(2);
      expect((await sums(["--servers", "127.0.0.1:1", "--tls-ca", `${tmp.dir}/none`])).code).toBe(2);
      const bad = spawn(process.execPath, [
        serverProgram,
        "--port",
        "0",
        "--tls-cert",
        `${tmp.dir}/none`,
        "--tls-key",
        good.serverKey,
      ]);
      const [code] = await once(bad, "exit");
      expect(code).toBe(2);
    });
  },
);
