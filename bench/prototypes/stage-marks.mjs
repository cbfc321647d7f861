// --import preload: stage marks of one client run, on stderr at exit (ms since process start).
import cp from "node:child_process";
import dc from "node:diagnostics_channel";
import { syncBuiltinESMExports } from "node:module";

const marks = { preload: performance.now() };
let sockets = 0;
dc.subscribe("net.client.socket", () => {
  sockets++;
  marks.firstSocket ??= performance.now();
});
const spawn = cp.spawn;
cp.spawn = (...args) => {
  marks.firstSpawn ??= performance.now();
  const child = spawn(...args);
  // The first line a local server prints is "listening on ...".
  child.stdout?.once("data", () => {
    marks.lastListening = performance.now();
  });
  return child;
};
syncBuiltinESMExports();
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (...args) => {
  marks.firstOutput ??= performance.now();
  return write(...args);
};
process.on("exit", () => {
  marks.exit = performance.now();
  process.stderr.write(`MARKS ${JSON.stringify({ ...marks, sockets })}\n`);
});
