#!/usr/bin/env node
// The `rpcpool` program's first file (the build puts it at dist/client/main.js). It runs the
// bundled program (dist/client/program.cjs, client/main.ts and what it imports, as one CommonJS
// script) from V8's code cache (dist/client/program.cache): V8 then neither parses nor compiles
// what the last run compiled, which was about 20 ms of a tiny call's 110-125 ms on the 2-core
// development machine (docs/performance.md, "A tiny call"). Node 20 has no compile cache for ES
// modules (module.enableCompileCache is Node 22), hence a classic script through node:vm. This
// file is CommonJS too (dist/client/package.json says so): an ES module entry made Node start its
// ES module loader (and read fs/promises and readline for it), about 3 ms a command.
//
// The build writes the cache after a warm run (scripts/bundle-programs.mjs). A cache that is
// missing, or that V8 rejects (another Node, other V8 flags such as --cpu-prof), costs nothing
// but the compile: the program runs as before, and a fresh cache is written when it exits,
// through a file of its own renamed into place (two programs exiting at once cannot mix their
// bytes), if the folder can be written; if not, every run compiles, as before the cache.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Script } from "node:vm";

const program = join(__dirname, "program.cjs");
const cacheFile = program.replace(/\.cjs$/, ".cache");

let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // None yet: written when this run exits.
}
// The program is ASCII (the build checks), read as Latin-1: no UTF-8 decoding of its 765 KB.
// CommonJS's own wrapper, plus the URL of dist/ (the bundle's modules find their files, the
// in-process servers' bundle, proto/ and package.json, relative to it) and an import() of this
// module's (node:vm's own fails on a script from the cache: scripts/bundle-programs.mjs routes
// the program's through it), on a line of its own so the program's line numbers stay its own.
const script = new Script(
  `(function (exports, require, module, __filename, __dirname, __rpcpoolDist, __rpcpoolImport) {\n${readFileSync(program, "latin1")}\n})`,
  { filename: program, lineOffset: -1, cachedData },
);
if (process.env.RPCPOOL_TRACE_START) {
  // Before the program's own marks (its exit listener comes after this one).
  const state = cachedData === undefined ? "none" : script.cachedDataRejected ? "rejected" : "used";
  process.once("exit", () => process.stderr.write(`code cache: ${state}\n`));
}
if (cachedData === undefined || script.cachedDataRejected || process.env.RPCPOOL_WRITE_CODE_CACHE) {
  // At exit the cache holds every function this run compiled, not only the top level.
  process.once("exit", () => {
    const temporary = `${cacheFile}.${process.pid}`;
    try {
      writeFileSync(temporary, script.createCachedData());
      renameSync(temporary, cacheFile);
    } catch {
      // A folder this user cannot write (a global install): the next run compiles, as this one did.
      rmSync(temporary, { force: true });
    }
  });
}
const programModule = { exports: {} };
script.runInThisContext()(
  programModule.exports,
  createRequire(program),
  programModule,
  program,
  dirname(program),
  pathToFileURL(join(__dirname, "..", "/")).href,
  (specifier: string) => import(specifier),
);
