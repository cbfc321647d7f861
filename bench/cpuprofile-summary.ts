#!/usr/bin/env node
// Where a `node --cpu-prof` profile's time went: self time by package or by our module folder,
// and the top functions. For docs/performance-baseline.md; not part of `npm run bench`.
//
//   node --cpu-prof --cpu-prof-dir /tmp/prof dist/client/main.js circles --radii 1,2 --servers ...
//   node dist/bench/cpuprofile-summary.js /tmp/prof/*.cpuprofile [--top 15]
import { readFileSync } from "node:fs";

// `... | head` closes stdout early: end quietly, as the rpcpool programs do (exit 141).
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(141);
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The bucket of a script URL: a package, a folder of ours, a Node internal, or V8's pseudo-frames. */
export function bucketOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native/V8 builtins)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const ours = /\/dist\/(src\/[^/]+|client|server|bench)\//.exec(url);
  if (ours) return `rpcpool ${ours[1]}`;
  return url.replace(/^file:\/\//, "");
}

export function summarize(profile: Profile, top = 12) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    const bucket = bucketOf(url, functionName);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);
    const name = `${functionName || "(anonymous)"} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, "")}:${lineNumber + 1}` : ""}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    buckets: sorted(buckets).map(([name, us]) => ({ name, ms: us / 1000 })),
    functions: sorted(functions)
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000 })),
  };
}

if (process.argv[1]?.endsWith("cpuprofile-summary.js")) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf("--top");
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 12;
  const files = args.filter((a, i) => !a.startsWith("--") && (topAt < 0 || i !== topAt + 1));
  for (const file of files) {
    const summary = summarize(JSON.parse(readFileSync(file, "utf8")) as Profile, top);
    const line = (name: string, ms: number) =>
      `  ${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / summary.wallMs).toFixed(1).padStart(5)}%  ${name}`;
    process.stdout.write(
      `${file}: ${summary.wallMs.toFixed(1)} ms profiled\n  self time by package or folder:\n`,
    );
    for (const b of summary.buckets.filter((b) => b.ms >= 0.5))
      process.stdout.write(`${line(b.name, b.ms)}\n`);
    process.stdout.write("  top functions (self time):\n");
    for (const f of summary.functions) process.stdout.write(`${line(f.name, f.ms)}\n`);
  }
}
