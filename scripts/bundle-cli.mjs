#!/usr/bin/env node
// Bundles the client program (dist/client/main.js, as tsc built it) into one file in its place:
// a small command then loads one module instead of ~90, which is most of its start-up. The
// server stays unbundled: its worker threads load modules by URL.
import { rename, rm } from "node:fs/promises";
import { build } from "esbuild";

const entry = "dist/client/main.js";
await rm("dist/client/chunks", { recursive: true, force: true });
await rename(entry, "dist/client/main.unbundled.js");
await build({
  entryPoints: { main: "dist/client/main.unbundled.js" },
  outdir: "dist/client",
  // What a command loads on demand (the queue's Redis client, ~2 MB) goes in chunks of its own,
  // read only by the commands that use it.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // CommonJS dependencies (commander, cli-progress) call require: give the ESM bundle one.
  banner: {
    js: "import { createRequire as __rpcpoolRequire } from 'node:module'; const require = __rpcpoolRequire(import.meta.url);",
  },
});
await rm("dist/client/main.unbundled.js");
await rm("dist/client/main.unbundled.js.map", { force: true });
