#!/usr/bin/env node
// A/B of `rpcpool column-sums --remote-paths` of the whole-process bench's 4 x 105 MB tables
// (bench/whole-data.ts, in $RPCPOOL_BENCH_DATA or $TMPDIR/rpcpool-bench-data: run the --whole
// bench once to write them), one 2-thread server per build, builds interleaved round by round;
// also a tiny --remote-paths call per build (the client's start-up, to take the server's part)
// and the in-process parse rate (bench/parse-throughput.ts) between rounds, as the ceiling.
// Each build is a copy of a built dist/ in ab-NAME/dist at the repository's root (ignored by git):
//   npm run build && cp -r dist ab-new/ ; (the other build's sources) npm run build && cp -r dist ab-old/
//   node bench/remote-paths-ab.mjs old,new 6
// Prints each run (wall, server CPU, its threads' CPU from /proc) and medians; Linux only.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const data = process.env.RPCPOOL_BENCH_DATA ?? `${(await import("node:os")).tmpdir()}/rpcpool-bench-data`;
const files = [0, 1, 2, 3].map((i) => `big-${i}.csv`);
const builds = process.argv[2] ? process.argv[2].split(",") : ["old", "new"];
const rounds = Number(process.argv[3] ?? 5);
const tick = 100; // USER_HZ
function cpuOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / tick;
}
function threadsOf(pid) {
  const out = {};
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const name = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const f = s.split(") ")[1].split(" ");
      out[`${name}:${t}`] = ((Number(f[11]) + Number(f[12])) * 1000) / tick;
    } catch {}
  }
  return out;
}
async function start(build) {
  const child = spawn(
    "node",
    [`${root}/ab-${build}/dist/server/main.js`, "--port", "0", "--workers", "2", "--data-root", data],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const address = await new Promise((resolve, reject) => {
    let text = "";
    const on = (d) => {
      text += d;
      const m = text.match(/(127\.0\.0\.1|localhost|\[::\]|0\.0\.0\.0):(\d+)/);
      if (m) resolve(`127.0.0.1:${m[2]}`);
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.on("exit", () => reject(new Error(text)));
  });
  return { child, address };
}
const servers = {};
for (const b of builds) servers[b] = await start(b);
const results = Object.fromEntries(builds.map((b) => [b, []]));
const tiny = Object.fromEntries(builds.map((b) => [b, []]));
const ceilings = [];
const { parseThroughput } = await import(`${root}/dist/bench/parse-throughput.js`);
const big0 = readFileSync(`${data}/big-0.csv`);
for (let r = -1; r < rounds; r++) {
  if (r >= 0) {
    const [k, js] = parseThroughput(big0, 2);
    ceilings.push([k.value, js.value]);
    console.log(`ceiling: kernel ${k.value.toFixed(0)} MB/s, JS ${js.value.toFixed(0)} MB/s`);
  }
  for (const b of r % 2 ? builds : [...builds].reverse()) {
    const s = servers[b];
    const c0 = cpuOf(s.child.pid);
    const t0 = threadsOf(s.child.pid);
    const at = process.hrtime.bigint();
    const run = spawnSync(
      "node",
      [
        `${root}/ab-${b}/dist/client/main.js`,
        "column-sums",
        ...files,
        "--remote-paths",
        "--json",
        "--servers",
        s.address,
      ],
      { encoding: "utf8" },
    );
    const wall = Number(process.hrtime.bigint() - at) / 1e6;
    if (run.status !== 0) {
      console.error(run.stderr);
      process.exit(1);
    }
    const cpu = cpuOf(s.child.pid) - c0;
    const t1 = threadsOf(s.child.pid);
    const per = Object.entries(t1)
      .map(([k, v]) => [k, v - (t0[k] ?? 0)])
      .filter(([, v]) => v >= 30)
      .map(([k, v]) => `${k.split(":")[0]}=${v}`)
      .join(" ");
    if (r >= 0) results[b].push({ wall, cpu });
    const at2 = process.hrtime.bigint();
    const t = spawnSync(
      "node",
      [
        `${root}/ab-${b}/dist/client/main.js`,
        "column-sums",
        "lesson/tabla_00.csv",
        "--remote-paths",
        "--json",
        "--servers",
        s.address,
      ],
      { encoding: "utf8" },
    );
    if (t.status !== 0) {
      console.error(t.stderr);
      process.exit(1);
    }
    if (r >= 0) tiny[b].push(Number(process.hrtime.bigint() - at2) / 1e6);
    console.log(
      `${r < 0 ? "warm" : r} ${b}: wall ${wall.toFixed(0)} ms = ${(420.0027 / (wall / 1000)).toFixed(0)} MB/s, server cpu ${cpu} ms [${per}]`,
    );
  }
}
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
for (const b of builds) {
  const w = results[b].map((x) => x.wall),
    c = results[b].map((x) => x.cpu);
  console.log(
    `${b}: wall median ${med(w).toFixed(0)} min ${Math.min(...w).toFixed(0)} ms (best ${(420.0027 / (Math.min(...w) / 1000)).toFixed(0)} MB/s, median ${(420.0027 / (med(w) / 1000)).toFixed(0)} MB/s); server cpu median ${med(c)} ms`,
  );
}
const kc = med(ceilings.map((c) => c[0])),
  jc = med(ceilings.map((c) => c[1]));
console.log(`ceiling medians: kernel ${kc.toFixed(0)} x2, JS ${jc.toFixed(0)} x2`);
for (const b of builds) {
  const w = med(results[b].map((x) => x.wall)),
    tw = med(tiny[b]);
  const whole = 420.0027 / (w / 1000),
    part = 420.0027 / ((w - tw) / 1000);
  console.log(
    `${b}: median whole ${whole.toFixed(0)} MB/s = ${(whole / (2 * kc)).toFixed(2)}x kernel, ${(whole / (2 * jc)).toFixed(2)}x JS; tiny call ${tw.toFixed(0)} ms; server's part ${part.toFixed(0)} MB/s = ${(part / (2 * kc)).toFixed(2)}x kernel`,
  );
}
for (const b of builds) servers[b].child.kill();
