import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { ensureLessonTables, lessonTableBytes } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { netnsUnavailable, type VirtualHost, VirtualNetwork } from "./support/netns.js";
import { clientProgram, root, serverProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Three machines on one Ethernet segment, built from network namespaces: a client and two servers
// that listen on 0.0.0.0 in their own namespaces and are reached by their own addresses.

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`multi-host tests skipped: ${skipReason}`);

const lessonSums = [54825, 259717, 186143, 424240, 264068, 994225, 362188, 313128, 339071, 277033];
const lessonRow = [...lessonSums, ...lessonSums, ...lessonSums, ...lessonSums];
// The lesson's table repeated: long enough calls that a server is surely mid-call when its link is cut.
const repeats = 20;

let tmp: ReturnType<typeof tempDir> | undefined;
let network: VirtualNetwork | undefined;
let client: VirtualHost;
let servers: string[] = [];
let lessonFiles: string[] = [];
let bigFiles: string[] = [];

/** The tables, and the three hosts with a server listening on 0.0.0.0 in each of the last two. */
async function buildHosts() {
  tmp = tempDir("rpcpool-multi-host-");
  lessonFiles = await ensureLessonTables(tmp.dir);
  const big = Buffer.concat(Array(repeats).fill(lessonTableBytes()));
  bigFiles = [0, 1, 2, 3].map((i) => tmp!.file(`big_${i}.csv`, big));
  network = new VirtualNetwork(3);
  client = network.hosts[0]!;
  servers = [];
  for (const host of network.hosts.slice(1)) {
    const server = await network.startServer(host, serverProgram, [
      "--host",
      "0.0.0.0",
      "--port",
      "50051",
      "--workers",
      "1",
      "--quiet",
      // Without a name every server would stamp its replies "0.0.0.0:50051".
      "--name",
      `${host.address}:50051`,
    ]);
    expect(server.firstLine).toBe("listening on 0.0.0.0:50051");
    servers.push(`${host.address}:50051`);
  }
}

function columnSums(files: string[]) {
  return network!.runNode(
    client,
    [clientProgram, "column-sums", ...files, "--servers", servers.join(","), "--json"],
    {
      cwd: root,
      timeoutMs: 60_000,
    },
  );
}

function withoutServers(out: { results: Array<{ server: string }> }) {
  return { ...out, results: out.results.map(({ server: _, ...rest }) => rest) };
}

/**
 * Watches the server at address from the client's namespace (the test process itself is in no
 * namespace of the virtual network). `ready` resolves once the watch has had its first answer, so a
 * job started after it cannot finish before the watch looks; `busy` resolves when the server has a
 * call in flight.
 */
async function watchBusy(address: string) {
  const poll = `
    const [poolModule, address] = process.argv.slice(1);
    const { Pool } = await import(poolModule);
    const pool = await Pool.connect([address]);
    try {
      for (let i = 0; i < 3000; i++) {
        const info = await pool.servers[0].refreshInfo();
        if (i === 0) console.log("watching");
        if (info.callsInFlight > 0) process.exit(0);
        await new Promise((r) => setTimeout(r, 5));
      }
      process.exit(3);
    } finally {
      await pool.close();
    }`;
  const poolModule = pathToFileURL(join(root, "dist/src/index.js")).href;
  const child = network!.spawnNode(client, ["--input-type=module", "-e", poll, poolModule, address]);
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", () => resolve());
    exited.then((code) =>
      reject(new Error(`the watch on ${address} ended before it polled (exit ${code}): ${stderr}`)),
    );
  });
  await ready;
  const busy = exited.then((code) => {
    if (code !== 0) throw new Error(`${address} never got work (exit ${code}): ${stderr}`);
  });
  return { busy };
}

describe.skipIf(skipReason)(
  `several hosts (network namespaces)${skipReason ? `: skipped, ${skipReason}` : ""}`,
  () => {
    let clean: unknown;
    beforeAll(buildHosts, 60_000);
    afterAll(() => {
      network?.destroy();
      tmp?.cleanup();
    });

    it("sums the lesson's tables on servers reached by their own addresses", async () => {
      const run = await columnSums([...bigFiles, ...lessonFiles]);
      expect(run.code, run.stderr).toBe(0);
      const out = run.json();
      expect(out.errors).toEqual([]);
      const byFile = new Map(out.results.map((r: any) => [r.file, r]));
      for (const file of lessonFiles) {
        expect(byFile.get(file)).toMatchObject({ rows: 10100, columns: 40, sums: lessonRow });
      }
      for (const file of bigFiles) {
        expect(byFile.get(file)).toMatchObject({
          rows: 10100 * repeats,
          columns: 40,
          sums: lessonRow.map((s) => s * repeats),
        });
      }
      // Both servers took part: the work really crossed the virtual network to each of them.
      expect(new Set(out.results.map((r: any) => r.server))).toEqual(new Set(servers));
      clean = withoutServers(out);
    });

    it("finishes the job with identical results when one server's link is cut mid-job", async () => {
      expect(clean, "needs the clean run above").toBeDefined();
      const [cutServer, survivor] = servers;
      // The job starts only once the watch has had its first answer: with the Wasm kernel a server
      // sums its files in well under a second, and a watch still starting up on loaded cores (CI's
      // run did this once) began polling after the work was done.
      const watch = await watchBusy(cutServer!);
      const job = columnSums([...bigFiles, ...lessonFiles]);
      await watch.busy;
      network!.cut(network!.hosts[1]!);
      // The cut server's call hangs until the client's keepalive gives up on it (about 15 s).
      const run = await job;
      expect(run.code, run.stderr).toBe(0);
      expect(withoutServers(run.json())).toEqual(clean);
      expect(run.stderr).toMatch(new RegExp(`retried: \\S+: ${cutServer} -> ${survivor}`));
    }, 120_000);
  },
);
