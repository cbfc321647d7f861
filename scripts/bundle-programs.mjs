#!/usr/bin/env node
// Bundles the two programs (dist/client/main.js and dist/server/main.js, as tsc built them) and
// the CLI's in-process servers into one file each, in their place: a command then loads one
// module instead of ~100, which was most of its start-up. Modules found by URL at run time (the
// server's worker threads, the proto/ folder, package.json) keep working: each bundled module's
// `import.meta.url` is rewritten to the URL of its own file under dist/, which stays there
// unbundled, found from wherever the bundle (or one of its chunks) lies under dist/.
import { readFile, rename, rm } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { build } from "esbuild";

const dist = resolve("dist");

const ownUrls = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      const path = relative(dist, args.path).split("\\").join("/");
      const distUrl = 'import.meta.url.slice(0, import.meta.url.lastIndexOf("/dist/") + 6)';
      const own = `new URL(${JSON.stringify(path)}, ${distUrl}).href`;
      return { contents: source.replaceAll("import.meta.url", own), loader: "js" };
    });
  },
};

// commander requires node:child_process when it loads, for subcommands that are programs of their
// own (`git`-style), which rpcpool has none of: loading it (with dgram and the socket list) was
// about 1 ms of every command's start-up. It is required on first use instead. A commander that
// no longer has the line fails the build, not a run.
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(build) {
    build.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const line = "const childProcess = require('node:child_process');";
      if (!source.includes(line)) throw new Error(`${args.path}: "${line}" not found`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: source.replace(line, lazy), loader: "js" };
    });
  },
};

// The client takes its dependencies in (commander, cli-progress; the queue's Redis client goes in
// chunks of its own, read only by the commands that use it); the server and the CLI's in-process
// servers leave their packages outside, as several find their own .proto files by __dirname.
// Every bundle splits what it imports dynamically into chunks of its own (the queue's BullMQ and
// Redis client, loaded only with --queue or by the queue commands): inlined, they were imported at
// start-up, 20 MiB and a good part of a second for servers that never use them.
const programs = [
  { entry: "dist/client/main.js", packages: undefined },
  { entry: "dist/server/main.js", packages: "external" },
  { entry: "dist/src/cli/in-process-servers.js", packages: "external" },
];
for (const dir of ["dist/client/chunks", "dist/server/chunks", "dist/src/cli/chunks"]) {
  await rm(dir, { recursive: true, force: true });
}
for (const { entry, packages } of programs) {
  const unbundled = entry.replace(/\.js$/, ".unbundled.js");
  await rename(entry, unbundled);
  const name = entry.split("/").pop().replace(/\.js$/, "");
  await build({
    entryPoints: { [name]: unbundled },
    outdir: entry.slice(0, entry.lastIndexOf("/")),
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
    plugins: [ownUrls, lazyChildProcess],
    packages,
    // CommonJS dependencies (commander, grpc-js, ...) call require: give the ESM bundle one.
    banner: {
      js: "import { createRequire as __rpcpoolRequire } from 'node:module'; const require = __rpcpoolRequire(import.meta.url);",
    },
  });
  await rm(unbundled);
  await rm(`${unbundled}.map`, { force: true });
}
