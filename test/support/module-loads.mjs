// `node --import ./module-loads.mjs PROGRAM`: every module the program loads, through the ESM
// loader or CommonJS's require, is appended, one URL a line, to the file RPCPOOL_TEST_MODULE_LOADS
// names (tracing.test.ts checks that a program without OTEL_* variables never loads the
// OpenTelemetry SDK; cli-start-up.test.ts that a tiny call loads no package).
import { appendFileSync } from "node:fs";
import Module, { isBuiltin, register } from "node:module";
import { pathToFileURL } from "node:url";

const file = process.env.RPCPOOL_TEST_MODULE_LOADS;
register("./module-loads-hooks.mjs", import.meta.url, { data: { file } });

// Node 20's loader hooks do not see require(): the client's script requires the packages some
// commands use (scripts/bundle-programs.mjs).
if (file) {
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    if (!isBuiltin(request)) {
      try {
        appendFileSync(file, `${pathToFileURL(Module._resolveFilename(request, parent, isMain)).href}\n`);
      } catch {
        // Not found: require itself throws below.
      }
    }
    return load.call(this, request, parent, isMain);
  };
}
