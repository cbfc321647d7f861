// Scratch bundles of the built programs with esbuild: node /tmp/prof/build.mjs
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";

const require = createRequire(`${process.cwd()}/package.json`);
const esbuild = require("esbuild");
// CommonJS packages that read files beside themselves (protos, piscina's worker) keep their own __dirname.
const keepDirname = {
  name: "keep-dirname",
  setup(build) {
    build.onLoad({ filter: /node_modules.*\.js$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes("__dirname") && !text.includes("__filename")) return undefined;
      return {
        contents: `var __dirname = ${JSON.stringify(dirname(args.path))}, __filename = ${JSON.stringify(args.path)};\n${text}`,
        loader: "js",
      };
    });
  },
};
const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "error",
  plugins: [keepDirname],
  banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
};
const W = `${process.cwd()}/dist`;
const B = "/tmp/prof/bundle/dist";
await esbuild.build({ ...common, entryPoints: [`${W}/client/main.js`], outfile: `${B}/client/main.js` });
await esbuild.build({ ...common, entryPoints: [`${W}/server/main.js`], outfile: `${B}/server/main.js` });
await esbuild.build({
  ...common,
  entryPoints: [`${W}/src/server/table-worker.js`],
  outfile: `${B}/server/table-worker.js`,
});
await esbuild.build({
  ...common,
  entryPoints: [`${W}/src/server/user-worker.js`],
  outfile: `${B}/server/user-worker.js`,
});
console.log("built");
