#!/usr/bin/env node
// Bundles the two programs (dist/client/main.js and dist/server/main.js, as tsc built them) and
// the CLI's in-process servers into one file each: a command then loads one module instead of
// ~100, which was most of its start-up. The server and the in-process servers are ES modules in
// their place; the client is one CommonJS script, dist/client/program.cjs, that its first file
// (client/code-cache.ts, put at dist/client/main.js) runs from V8's code cache, written here
// after a warm run (dist/client/program.cache). Modules found by URL at run time (the
// server's worker threads, the proto/ folder, package.json) keep working: each bundled module's
// `import.meta.url` is rewritten to the URL of its own file under dist/, which stays there
// unbundled, found from wherever the bundle (or one of its chunks) lies under dist/.
import { spawnSync } from "node:child_process";
import { chmod, readFile, rename, rm, writeFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { build } from "esbuild";

const dist = resolve("dist");

/** Rewrites each module's `import.meta.url` to its own file's URL under `distUrl` (an expression). */
const ownUrls = (distUrl) => ({
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      const path = relative(dist, args.path).split("\\").join("/");
      const own = `new URL(${JSON.stringify(path)}, ${distUrl}).href`;
      return { contents: source.replaceAll("import.meta.url", own), loader: "js" };
    });
  },
});
/**
 * The client's script runs through node:vm, whose import() fails once the script comes from V8's
 * code cache ("A dynamic import callback was not specified", Node 20); each import() that stays
 * in the bundle (a package left outside, a built-in, a file found by URL) goes through a function
 * that client/code-cache.ts passes in, which imports in its own module. Relative imports of our
 * own modules are taken into the bundle and stay as they are. A bundle still holding an import()
 * fails the build below, not a run.
 */
const importsThroughLoader = {
  name: "imports-through-loader",
  setup(build) {
    build.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
      let source = await readFile(args.path, "utf8");
      if (source.includes("import.meta.url")) {
        const path = relative(dist, args.path).split("\\").join("/");
        source = source.replaceAll("import.meta.url", `new URL(${JSON.stringify(path)}, __rpcpoolDist).href`);
      }
      return { contents: source.replace(/\bimport\((?!\s*["']\.)/g, "__rpcpoolImport("), loader: "js" };
    });
  },
};
/** An ES module bundle finds dist/ from its own URL. */
const esmDist = 'import.meta.url.slice(0, import.meta.url.lastIndexOf("/dist/") + 6)';

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

// The server and the CLI's in-process servers leave their packages outside, as several find their
// own .proto files by __dirname. They split what they import dynamically into chunks of their own
// (the queue's BullMQ and Redis client, loaded only with --queue): inlined, they were imported at
// start-up, 20 MiB and a good part of a second for servers that never use them.
const programs = [
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
    plugins: [ownUrls(esmDist), lazyChildProcess],
    packages,
    // CommonJS dependencies (commander, grpc-js, ...) call require: give the ESM bundle one.
    banner: {
      js: "import { createRequire as __rpcpoolRequire } from 'node:module'; const require = __rpcpoolRequire(import.meta.url);",
    },
  });
  await rm(unbundled);
  await rm(`${unbundled}.map`, { force: true });
}

// The client: one CommonJS script with the packages a command's start needs (commander, protobuf's
// runtime, cli-progress, OpenTelemetry's API), and the others left to Node's require from
// node_modules, loaded only by the commands and options that use them (the queue's BullMQ and
// Redis client, grpc-js and its proto loader for --transport grpc-js and the call command's
// reflection, the tracing SDK and its exporters, prom-client): inside the script, every run would
// read and hash their megabytes (5.3 MB in all, against 1.2 MB without them). CommonJS, not an ES
// module, because Node 20 can run only a classic script from a code cache (client/code-cache.ts).
const client = "dist/client/main.js";
const clientEntry = "dist/client/main.unbundled.js";
const program = "dist/client/program.cjs";
await rename(client, clientEntry);
await rm(`${client}.map`, { force: true });
await build({
  entryPoints: [clientEntry],
  outfile: program,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  plugins: [importsThroughLoader, lazyChildProcess],
  // Fewer bytes for every run to read and V8 to hash (765 KB against 1.15 MB); names stay, and
  // program.cjs.map maps positions back (node --enable-source-maps).
  minifyWhitespace: true,
  // Non-ASCII characters written as escapes, so client/code-cache.ts reads the file as Latin-1: a
  // one-byte string, no UTF-8 decoding (checked below).
  charset: "ascii",
  external: [
    "@grpc/grpc-js",
    "@grpc/proto-loader",
    "@grpc/reflection",
    "@opentelemetry/exporter-trace-otlp-http",
    "@opentelemetry/exporter-trace-otlp-proto",
    "@opentelemetry/resources",
    "@opentelemetry/sdk-trace-node",
    "bullmq",
    "grpc-health-check",
    "ioredis",
    "piscina",
    "prom-client",
    "uplot",
  ],
});
await rm(clientEntry);
await rm(`${clientEntry}.map`, { force: true });
// The entry's `#!` line would sit inside the loader's function wrapper.
const bundled = await readFile(program, "utf8");
const leftImport = /[^\w.$]import\([^)]{0,60}/.exec(bundled);
if (leftImport) throw new Error(`${program}: an import() the code cache cannot run: ${leftImport[0]}`);
const nonAscii = /[^\x00-\x7f]/.exec(bundled);
if (nonAscii)
  throw new Error(`${program}: a non-ASCII character at ${nonAscii.index}, which Latin-1 would misread`);
if (bundled.startsWith("#!")) await writeFile(program, `//${bundled.slice(2)}`);
await rename("dist/client/code-cache.cjs", client);
await rename("dist/client/code-cache.cjs.map", `${client}.map`);
await rename("dist/client/code-cache.d.cts", "dist/client/main.d.ts");
// The loader is CommonJS: a program whose first file is an ES module starts Node's ES module
// loader, which the client needs only for the rare import() (client/code-cache.cts).
await writeFile("dist/client/package.json", '{ "type": "commonjs" }\n');
await chmod(client, 0o755);

// The code cache, from a warm run of a tiny call on the embedded default: the functions a
// command's start and a call compile. Without it (a machine that cannot start the in-process
// servers here), the program still runs, and writes its cache on its first exit.
await rm("dist/client/program.cache", { force: true });
const warm = spawnSync(process.execPath, [client, "circles", "--radii", "1"], {
  env: { ...process.env, RPCPOOL_WRITE_CODE_CACHE: "1" },
  stdio: ["ignore", "ignore", "pipe"],
  timeout: 60_000,
});
if (warm.status !== 0) {
  process.stderr.write(`bundle-programs: no code cache written (the warm run failed): ${warm.stderr}\n`);
}
