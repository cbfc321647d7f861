import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Chromium } from "./support/chromium.js";
import { useServers } from "./support/local-servers.js";
import { noRedis, startRedis } from "./support/redis-server.js";
import { clientProgram, root, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// `rpcpool dashboard` (docs/observability.md) against two real servers, rendered by a real
// headless Chromium over the DevTools protocol: the page lists both servers and draws its charts
// and task stream from the server-sent events. RPCPOOL_SCREENSHOT=1 writes docs/images/dashboard.png.
const servers = useServers(2);
const means = "rpcpool.compute.v1.ComputeService/Means";
const tmp = tempDir();
let dashboard: ChildProcess;
let url = "";
let browser: Chromium;

beforeAll(async () => {
  dashboard = spawn(
    process.execPath,
    [clientProgram, "dashboard", "--servers", servers.list, "--port", "0", "--interval-ms", "250"],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  const [line] = (await once(createInterface({ input: dashboard.stdout! }), "line")) as [string];
  url = line.replace("dashboard on ", "");
  browser = await Chromium.launch();
});

afterAll(async () => {
  await browser?.close();
  if (dashboard && dashboard.exitCode === null) {
    const exited = once(dashboard, "exit");
    dashboard.kill("SIGTERM");
    await exited;
  }
  tmp.cleanup();
});

/** Polls the page until `expression` is true (a hang guard, not a timing assertion). */
async function pageUntil(expression: string, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await browser.evaluate<boolean>(expression)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting until the page ${what}`);
}

/** Pixels of a canvas that are neither blank nor white: something was drawn. */
const inked = (selector: string) => `(() => {
  const c = document.querySelector(${JSON.stringify(selector)});
  if (!c || c.width === 0 || c.height === 0) return 0;
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200)) n++;
  return n;
})()`;

describe("rpcpool dashboard in Chromium", () => {
  it("serves its own page and uPlot (no CDN), and refuses other paths", async () => {
    const page = await (await fetch(url)).text();
    expect(page).not.toMatch(/https?:\/\//);
    expect((await fetch(new URL("uPlot.iife.min.js", url))).status).toBe(200);
    expect((await fetch(new URL("nothing", url))).status).toBe(404);
  });

  it("shows both servers, draws the charts and the task stream from live events", async () => {
    await browser.goto(url);
    await pageUntil(`document.querySelectorAll("#servers tr.server").length === 2`, "lists two servers");
    const addresses = await browser.evaluate<string[]>(
      `[...document.querySelectorAll("#servers tr.server")].map((tr) => tr.dataset.address)`,
    );
    expect(addresses.sort()).toEqual(servers.servers.map((s) => s.address).sort());

    // Calls while the page watches: they show in the charts and as bars in the task stream.
    const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ lists: [{ values: [i, 2 * i] }] }));
    const file = tmp.file("means.jsonl", `${lines.join("\n")}\n`);
    for (let round = 0; round < 3; round++) {
      const run = await rpcpool(["map", means, file, "--chunksize", "4", "--servers", servers.list]);
      expect(run.code, run.stderr).toBe(0);
    }
    await pageUntil(
      `[...document.querySelectorAll("#servers tr.server")].every((tr) => Number(tr.children[7].textContent) > 0)`,
      "counts the calls on both servers",
    );
    await pageUntil(`document.querySelectorAll(".uplot canvas").length === 3`, "draws three uPlot charts");
    await pageUntil(`${inked(".uplot canvas")} > 0`, "draws lines in the first chart");
    await pageUntil(`${inked("#stream")} > 500`, "draws bars in the task stream");
    expect(await browser.evaluate<string>(`document.getElementById("legend").textContent`)).toContain(
      "Means",
    );

    const png = await browser.screenshot();
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    const where = process.env.RPCPOOL_SCREENSHOT ? join(root, "docs", "images") : tmp.dir;
    mkdirSync(where, { recursive: true });
    writeFileSync(join(where, "dashboard.png"), png);
  });
});

describe.skipIf(noRedis)("rpcpool dashboard --queue", () => {
  it("sends the durable queue's depth with every snapshot", async () => {
    const redis = await startRedis();
    const queued = spawn(
      process.execPath,
      [
        clientProgram,
        "dashboard",
        "--servers",
        servers.list,
        "--port",
        "0",
        "--interval-ms",
        "200",
        "--queue",
        redis.url,
      ],
      { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const [line] = (await once(createInterface({ input: queued.stdout! }), "line")) as [string];
      const page = line.replace("dashboard on ", "");
      // No server works this queue: the job's one task waits.
      const submitted = await rpcpool([
        "submit",
        "means",
        "--lists",
        "[[1,2,3]]",
        "--queue",
        redis.url,
        "--json",
      ]);
      expect(submitted.code, submitted.stderr).toBe(0);
      const events = await fetch(new URL("events", page));
      const reader = events.body!.getReader();
      let text = "";
      let queue: any;
      for (let i = 0; i < 100 && !(queue?.counts?.waiting > 0); i++) {
        const { value } = await reader.read();
        text += Buffer.from(value!).toString("utf8");
        const events = text.split("\n\n").filter((e) => e.startsWith("data: "));
        if (events.length > 0) queue = JSON.parse(events[events.length - 1]!.slice(6)).queue;
      }
      await reader.cancel();
      expect(queue).toMatchObject({ name: "tasks", counts: { jobs: 1, waiting: 1, running: 0 } });
    } finally {
      const exited = once(queued, "exit");
      queued.kill("SIGTERM");
      await exited;
      await redis.stop();
    }
  });
});
