#!/usr/bin/env node
// Bundles the two programs (dist/client/main.js and dist/server/main.js, as tsc built them) and
// the CLI's in-process servers into one file each, in their place: a command then loads one
// module instead of ~100, which was most of its start-up. Modules found by URL at run time (the server's worker threads, the proto/
// folder, package.json) keep working: each bundled module's `import.meta.url` is rewritten to the
// URL of its own file under dist/, which stays there unbundled.
import { readFile, rename, rm } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { build } from "esbuild";

/** `import.meta.url` of each module, as if it had not been bundled into `outfile`. */
function ownUrls(outfile) {
  return {
    name: "own-import-meta-url",
    setup(build) {
      build.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
        const source = await readFile(args.path, "utf8");
        if (!source.includes("import.meta.url")) return undefined;
        const path = relative(dirname(resolve(outfile)), args.path)
          .split("\\")
          .join("/");
        const own = `new URL(${JSON.stringify(path.startsWith(".") ? path : `./${path}`)}, import.meta.url).href`;
        return { contents: source.replaceAll("import.meta.url", own), loader: "js" };
      });
    },
  };
}

// The client takes its few dependencies in (commander, cli-progress); the server leaves its
// packages outside, as several find their own .proto files by __dirname.
// The CLI's in-process servers (its embedded default) are a bundle of their own, loaded by URL
// only when a command has no --servers.
const programs = [
  { entry: "dist/client/main.js", packages: undefined },
  { entry: "dist/server/main.js", packages: "external" },
  { entry: "dist/src/cli/in-process-servers.js", packages: "external" },
];
for (const { entry, packages } of programs) {
  const unbundled = entry.replace(/\.js$/, ".unbundled.js");
  await rename(entry, unbundled);
  await build({
    entryPoints: [unbundled],
    outfile: entry,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
    plugins: [ownUrls(entry)],
    packages,
    // CommonJS dependencies (commander, grpc-js, ...) call require: give the ESM bundle one.
    banner: {
      js: "import { createRequire as __rpcpoolRequire } from 'node:module'; const require = __rpcpoolRequire(import.meta.url);",
    },
  });
  await rm(unbundled);
  await rm(`${unbundled}.map`, { force: true });
}
