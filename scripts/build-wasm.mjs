#!/usr/bin/env node
// Compiles the Wasm kernels (src/csv/wasm/*.wat, hand-written WebAssembly text) with wabt's
// wat2wasm into dist/ beside their loaders, where the unbundled modules and the bundles (whose
// import.meta.url is rewritten to their own file under dist/) both look for them. Part of
// `npm run build`: the binaries are built from the project's own files, never committed.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import wabt from "wabt";

const source = "src/csv/wasm";
const target = "dist/src/csv/wasm";
const toolkit = await wabt();
await mkdir(target, { recursive: true });
for (const name of (await readdir(source)).filter((n) => n.endsWith(".wat"))) {
  const text = await readFile(join(source, name), "utf8");
  const module = toolkit.parseWat(name, text, { simd: true, bulk_memory: true });
  try {
    module.validate();
    const { buffer } = module.toBinary({});
    await writeFile(join(target, name.replace(/\.wat$/, ".wasm")), buffer);
  } finally {
    module.destroy();
  }
}
