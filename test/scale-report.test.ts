import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const chromium = "/usr/bin/chromium";

describe("rpcpool scale", () => {
  const report = join(tmp.dir, "scale.html");
  let out: any;

  it("runs a workload on 1..N servers with consistent figures and an Amdahl fit", async () => {
    const run = await rpcpool(
      [
        "scale",
        "--max-local",
        "2",
        "--workload",
        "spin",
        "--iterations",
        "20000000",
        "--report",
        report,
        "--json",
      ],
      { timeoutMs: 120_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    out = run.json();
    expect(out.workload).toBe("spin");
    expect(out.runs.map((r: { servers: number }) => r.servers)).toEqual([1, 2]);
    const [one, two] = out.runs;
    expect(one.speedup).toBe(1);
    expect(two.speedup).toBeCloseTo(one.ms / two.ms, 6);
    expect(two.efficiency).toBeCloseTo(two.speedup / 2, 6);
    expect(two.serialFraction).toBeCloseTo((1 / two.speedup - 1 / 2) / (1 - 1 / 2), 6);
    expect(out.amdahl.parallelFraction).toBeGreaterThanOrEqual(0);
    expect(out.amdahl.parallelFraction).toBeLessThanOrEqual(1);
    expect(out.amdahl.predicted.map((p: { servers: number }) => p.servers)).toEqual([4, 8, 16, 64]);
    const html = readFileSync(report, "utf8");
    expect(html).toContain('id="speedup-chart"');
    expect(html).toContain('id="efficiency-chart"');
  });

  it("prints the figures in words, and refuses --servers with --max-local", async () => {
    const run = await rpcpool(
      ["scale", "--max-local", "2", "--workload", "sleep", "--sleep-ms", "20", "--tasks", "4"],
      { timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/speed-up/);
    expect(run.stdout).toMatch(/Amdahl fit: parallel fraction p = /);
    expect((await rpcpool(["scale", "--max-local", "2", "--servers", "127.0.0.1:1"])).code).toBe(2);
  });

  it("renders its charts in headless Chromium", async ({ skip }) => {
    skip(!existsSync(chromium), `no Chromium at ${chromium}`);
    const { chromium: browserType } = await import("playwright-core");
    const browser = await browserType.launch({
      executablePath: chromium,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`file://${report}`);
      for (const id of ["#speedup-chart", "#efficiency-chart"]) {
        const box = await page.locator(id).boundingBox();
        expect(box!.width).toBeGreaterThan(100);
        expect(box!.height).toBeGreaterThan(100);
      }
      // Measured points (one per n) and the ideal line and the Amdahl fit are drawn.
      expect(await page.locator("#speedup-chart circle.point").count()).toBe(2);
      expect(await page.locator("#efficiency-chart circle.point").count()).toBe(2);
      const series = await page
        .locator("#speedup-chart g.series")
        .evaluateAll((gs) => gs.map((g) => g.getAttribute("data-series")));
      expect(series.some((s) => s?.startsWith("ideal"))).toBe(true);
      expect(series.some((s) => s?.startsWith("Amdahl fit"))).toBe(true);
      const pathLength = await page
        .locator("#speedup-chart g.series path")
        .first()
        .evaluate((p) => (p as SVGPathElement).getTotalLength());
      expect(pathLength).toBeGreaterThan(10);
      await page.screenshot({ path: join(tmp.dir, "scale.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
