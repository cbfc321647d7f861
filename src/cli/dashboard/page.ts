/** The dashboard's HTML: the table, three charts, the task stream; its script and uPlot come from the program. */
export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rpcpool dashboard</title>
<link rel="stylesheet" href="uPlot.min.css">
<style>
  body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
  h1 { font-size: 18px; margin: 0 0 8px; }
  h2 { font-size: 14px; margin: 18px 0 6px; }
  table { border-collapse: collapse; }
  th, td { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  #charts { display: flex; flex-wrap: wrap; gap: 12px; }
  #stream { width: 100%; border: 1px solid #ddd; }
  .method { margin-right: 14px; padding-left: 4px; }
  #status { color: #888; margin-left: 12px; font-size: 12px; }
</style>
</head>
<body>
<h1>rpcpool dashboard<span id="status">connecting</span></h1>
<div id="queue" hidden></div>
<table id="servers"><thead><tr>
<th>server</th><th>name</th><th>labels</th><th>version</th><th>uptime</th><th>workers busy</th><th>in flight</th>
<th>completed</th><th>failed</th><th>calls/s</th><th>p50 ms</th><th>p95 ms</th><th>store bytes</th><th>sessions</th><th>queued</th>
</tr></thead><tbody></tbody></table>
<h2>Over time</h2>
<div id="charts"></div>
<h2>Task stream: the last minute's calls, per server and lane, coloured by method (black: failed)</h2>
<canvas id="stream" height="40"></canvas>
<div id="legend"></div>
<script src="uPlot.iife.min.js"></script>
<script src="page.js"></script>
</body>
</html>
`;
