// `node --import ./module-loads.mjs PROGRAM`: every module the program loads through the ESM loader
// is appended, one URL a line, to the file RPCPOOL_TEST_MODULE_LOADS names (tracing.test.ts checks
// that a program without OTEL_* variables never loads the OpenTelemetry SDK).
import { register } from "node:module";

register("./module-loads-hooks.mjs", import.meta.url, {
  data: { file: process.env.RPCPOOL_TEST_MODULE_LOADS },
});
