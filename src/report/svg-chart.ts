/** A line chart as plain SVG: no library, no script, renders anywhere (and prints). */
export interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
  color: string;
  dashed?: boolean;
  /** Draw a dot at each point (measured data) rather than a bare line (models). */
  dots?: boolean;
}

export function svgLineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  id: string;
}): string {
  const width = 620;
  const height = 340;
  const margin = { left: 60, right: 200, top: 40, bottom: 50 };
  const all = options.series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p.x));
  const yMax = niceCeil(Math.max(1, ...all.map((p) => (Number.isFinite(p.y) ? p.y : 0))));
  const x = (v: number) =>
    margin.left + ((v - 1) / Math.max(1e-9, xMax - 1)) * (width - margin.left - margin.right);
  const y = (v: number) => height - margin.bottom - (v / yMax) * (height - margin.top - margin.bottom);
  const ticksY = Array.from({ length: 5 }, (_, i) => (yMax * i) / 4);
  const ticksX = Array.from({ length: xMax }, (_, i) => i + 1).filter(
    (v) => xMax <= 12 || v % Math.ceil(xMax / 10) === 0,
  );
  const lines = options.series.map((s, i) => {
    const path = s.points
      .map((p, j) => `${j === 0 ? "M" : "L"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`)
      .join(" ");
    const dots = s.dots
      ? s.points
          .map(
            (p) =>
              `<circle class="point" cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="4" fill="${s.color}"/>`,
          )
          .join("")
      : "";
    const legendY = margin.top + 10 + i * 20;
    return (
      `<g class="series" data-series="${escapeXml(s.name)}">` +
      `<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>${dots}` +
      `<line x1="${width - margin.right + 12}" y1="${legendY}" x2="${width - margin.right + 32}" y2="${legendY}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>` +
      `<text x="${width - margin.right + 38}" y="${legendY + 4}" font-size="12">${escapeXml(s.name)}</text></g>`
    );
  });
  return [
    `<svg id="${options.id}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<text x="${width / 2 - 60}" y="22" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
    ...ticksY.map(
      (t) =>
        `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>` +
        `<text x="${margin.left - 8}" y="${y(t) + 4}" font-size="11" text-anchor="end">${round(t)}</text>`,
    ),
    ...ticksX.map(
      (t) =>
        `<text x="${x(t)}" y="${height - margin.bottom + 16}" font-size="11" text-anchor="middle">${t}</text>`,
    ),
    `<line x1="${margin.left}" y1="${height - margin.bottom}" x2="${width - margin.right}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<text x="${(margin.left + width - margin.right) / 2}" y="${height - 12}" font-size="12" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${height / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
    ...lines,
    "</svg>",
  ].join("\n");
}

function niceCeil(v: number): number {
  const step = 10 ** Math.floor(Math.log10(v)) / 2;
  return Math.ceil(v / step) * step;
}

const round = (v: number) => String(Math.round(v * 100) / 100);

function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
