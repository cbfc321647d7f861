import type { ScalingReport } from "../metrics/scaling-fit.js";
import { amdahl } from "../metrics/speedup.js";
import { svgLineChart } from "./svg-chart.js";

/**
 * A self-contained HTML page of a scaling run: speed-up against n with the ideal line and the
 * Amdahl fit, efficiency against n, and the table of figures. Inline SVG: no script, no network.
 */
export function speedupReportHtml(
  report: ScalingReport,
  about: { workload: string; tasks: number; when: string },
): string {
  const measured = report.runs.map((r) => ({ x: r.servers, y: r.speedup }));
  const maxN = Math.max(...report.runs.map((r) => r.servers));
  const ns = Array.from({ length: maxN }, (_, i) => i + 1);
  // The fit is drawn past the measured n, where its prediction is the point of it.
  const nsAhead = Array.from({ length: Math.max(maxN, 8) }, (_, i) => i + 1);
  const p = report.amdahl.parallelFraction;
  const speedupChart = svgLineChart({
    id: "speedup-chart",
    title: "Speed-up S = T1 / Tn",
    xLabel: "servers n",
    yLabel: "speed-up",
    series: [
      { name: "ideal (S = n)", points: nsAhead.map((n) => ({ x: n, y: n })), color: "#999", dashed: true },
      ...(p === null
        ? []
        : [
            {
              name: `Amdahl fit, p = ${p.toFixed(3)}`,
              points: nsAhead.map((n) => ({ x: n, y: amdahl(p, n) })),
              color: "#e67e22",
            },
          ]),
      { name: "measured", points: measured, color: "#2166ac", dots: true },
    ],
  });
  const efficiencyChart = svgLineChart({
    id: "efficiency-chart",
    title: "Efficiency E = S / n",
    xLabel: "servers n",
    yLabel: "efficiency",
    series: [
      { name: "ideal (E = 1)", points: ns.map((n) => ({ x: n, y: 1 })), color: "#999", dashed: true },
      {
        name: "measured",
        points: report.runs.map((r) => ({ x: r.servers, y: r.efficiency })),
        color: "#1a9850",
        dots: true,
      },
    ],
  });
  const rows = report.runs
    .map(
      (r) =>
        `<tr><td>${r.servers}</td><td>${r.ms.toFixed(1)}</td><td>${r.speedup.toFixed(3)}</td><td>${r.efficiency.toFixed(3)}</td><td>${r.serialFraction === null ? "" : r.serialFraction.toFixed(3)}</td></tr>`,
    )
    .join("\n");
  const predictions = report.amdahl.predicted
    .map(
      (a, i) =>
        `<tr><td>${a.servers}</td><td>${a.speedup.toFixed(2)}</td><td>${report.gustafson[i]!.speedup.toFixed(2)}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rpcpool speed-up: ${about.workload}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}.charts{display:flex;flex-wrap:wrap;gap:2em}</style>
</head><body>
<h1>Speed-up of <code>${about.workload}</code> with 1..${maxN} servers</h1>
<p>${about.tasks} tasks per run, measured ${about.when}. S = T1/Tn, E = S/n, Karp-Flatt serial fraction e = (1/S - 1/n)/(1 - 1/n).
Amdahl's parallel fraction p is fitted by least squares on 1/S = (1 - p) + p/n${p === null ? "" : `: p = ${p.toFixed(4)}, so S &lt; ${report.amdahl.maxSpeedup === Number.POSITIVE_INFINITY ? "&infin;" : report.amdahl.maxSpeedup!.toFixed(1)} for any n`}.</p>
<div class="charts">${speedupChart}${efficiencyChart}</div>
<table id="runs"><thead><tr><th>n</th><th>time (ms)</th><th>speed-up</th><th>efficiency</th><th>serial fraction</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Predicted for larger n</h2>
<table id="predictions"><thead><tr><th>n</th><th>Amdahl S</th><th>Gustafson scaled S</th></tr></thead><tbody>
${predictions}
</tbody></table>
</body></html>
`;
}
