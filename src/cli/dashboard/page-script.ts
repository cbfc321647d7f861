/**
 * The dashboard page's own script, run in the browser (as text: it is served, not imported). It
 * keeps ten minutes of each server's figures from the server-sent events, draws them with uPlot
 * (served by the program, no CDN), and draws the task stream on a canvas of its own.
 */
export const pageScript = String.raw`
"use strict";
const keepS = 600;
const history = new Map(); // address -> {t:[], rate:[], p95:[], busy:[]}
let charts = [];
let chartKey = "";
const colours = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#7f7f7f","#bcbd22","#17becf"];
const methodColour = new Map();
function colourOf(method) {
  if (!methodColour.has(method)) methodColour.set(method, colours[methodColour.size % colours.length]);
  return methodColour.get(method);
}
function text(tag, value, cls) {
  const e = document.createElement(tag);
  e.textContent = value;
  if (cls) e.className = cls;
  return e;
}
function fixed(x, n) { return x === undefined ? "" : Number(x).toFixed(n); }
function drawTable(servers) {
  const body = document.querySelector("#servers tbody");
  body.replaceChildren();
  for (const s of servers) {
    const tr = document.createElement("tr");
    tr.className = "server";
    tr.dataset.address = s.address;
    const cells = s.error
      ? [s.address, "unreachable: " + s.error]
      : [s.address, s.name, Object.entries(s.labels || {}).map(([k, v]) => k + "=" + v).join(","), s.version,
         fixed(s.uptimeSeconds, 0) + " s", s.workersBusy + "/" + s.workers, s.inFlight, s.completed, s.failed,
         fixed(s.callsPerSecond, 1), fixed(s.p50Ms, 1), fixed(s.p95Ms, 1), s.storeBytes, s.sessions, s.queuedTasks];
    for (const c of cells) tr.append(text("td", c === undefined ? "" : String(c)));
    body.append(tr);
  }
}
function record(now, servers) {
  for (const s of servers) {
    if (!history.has(s.address)) history.set(s.address, { t: [], rate: [], p95: [], busy: [] });
    const h = history.get(s.address);
    h.t.push(now);
    h.rate.push(s.error ? null : s.callsPerSecond);
    h.p95.push(s.error ? null : s.p95Ms);
    h.busy.push(s.error ? null : s.workersBusy);
    while (h.t.length > 0 && h.t[0] < now - keepS) for (const k of ["t", "rate", "p95", "busy"]) h[k].shift();
  }
}
function chartData(addresses, field) {
  const t = history.get(addresses[0]).t;
  return [t, ...addresses.map((a) => {
    const h = history.get(a);
    // Servers joined at different times: align each on the first server's clock by index from the end.
    const out = new Array(t.length).fill(null);
    const offset = t.length - h.t.length;
    for (let i = 0; i < h[field].length; i++) if (i + offset >= 0) out[i + offset] = h[field][i];
    return out;
  })];
}
const chartSpecs = [["rate", "calls/s"], ["p95", "p95 latency, ms"], ["busy", "workers busy"]];
function drawCharts(addresses) {
  const key = addresses.join(",");
  const holder = document.getElementById("charts");
  if (key !== chartKey) {
    for (const c of charts) c.destroy();
    holder.replaceChildren();
    charts = chartSpecs.map(([field, title]) => {
      const div = document.createElement("div");
      div.className = "chart";
      holder.append(div);
      return new uPlot({
        title, width: 440, height: 220,
        series: [{}, ...addresses.map((a, i) => ({ label: a, stroke: colours[i % colours.length], width: 2, spanGaps: false }))],
        scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      }, chartData(addresses, field), div);
    });
    chartKey = key;
  } else {
    charts.forEach((c, i) => c.setData(chartData(addresses, chartSpecs[i][0])));
  }
}
function drawStream(servers) {
  const canvas = document.getElementById("stream");
  const rows = [];
  for (const s of servers) {
    if (s.error || !s.recent) continue;
    const lanes = Math.max(s.workers || 1, ...s.recent.map((c) => c.lane + 1));
    for (let lane = 0; lane < lanes; lane++) rows.push({ server: s, lane });
  }
  const rowH = 18, left = 190, width = canvas.clientWidth || 900;
  canvas.width = width;
  canvas.height = Math.max(40, rows.length * rowH + 20);
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.font = "11px sans-serif";
  // The last minute, or less while the servers have less to show: bars are then wide enough to see.
  let earliest = Infinity;
  for (const s of servers) for (const c of s.recent || []) earliest = Math.min(earliest, s.nowUnixMs - c.startUnixMs);
  const span = Math.min(60000, Math.max(5000, Number.isFinite(earliest) ? earliest * 1.1 : 60000));
  rows.forEach((row, i) => {
    const y = i * rowH;
    g.fillStyle = "#333";
    g.fillText(row.server.address + " #" + row.lane, 4, y + 13);
    g.fillStyle = i % 2 ? "#f4f4f4" : "#fafafa";
    g.fillRect(left, y, width - left, rowH - 2);
    const now = row.server.nowUnixMs;
    for (const c of row.server.recent) {
      if (c.lane !== row.lane) continue;
      const x0 = left + (width - left) * (1 - (now - c.startUnixMs) / span);
      const x1 = left + (width - left) * (1 - (now - c.endUnixMs) / span);
      g.fillStyle = c.code === 0 ? colourOf(c.method) : "#000";
      g.fillRect(Math.max(left, x0), y + 1, Math.max(1, x1 - Math.max(left, x0)), rowH - 4);
    }
  });
  g.fillStyle = "#666";
  g.fillText("-" + Math.round(span / 1000) + " s", left, canvas.height - 4);
  g.fillText("now", width - 24, canvas.height - 4);
  const legend = document.getElementById("legend");
  legend.replaceChildren(...[...methodColour].map(([m, c]) => {
    const e = text("span", m.replace(/^\/.*\./, ""), "method");
    e.style.borderLeft = "12px solid " + c;
    return e;
  }));
}
function drawQueue(queue) {
  const e = document.getElementById("queue");
  if (!queue) { e.hidden = true; return; }
  e.hidden = false;
  e.textContent = queue.error ? "queue: " + queue.error
    : "queue " + queue.name + ": " + Object.entries(queue.counts).map(([k, v]) => k + " " + v).join(", ");
}
const events = new EventSource("events");
events.onmessage = (message) => {
  const snapshot = JSON.parse(message.data);
  const now = snapshot.t / 1000;
  record(now, snapshot.servers);
  drawTable(snapshot.servers);
  drawCharts(snapshot.servers.map((s) => s.address));
  drawStream(snapshot.servers);
  drawQueue(snapshot.queue);
  document.getElementById("status").textContent = "updated " + new Date(snapshot.t).toLocaleTimeString();
};
events.onerror = () => { document.getElementById("status").textContent = "disconnected; retrying"; };
`;
