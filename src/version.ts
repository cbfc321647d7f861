import { createRequire } from "node:module";

/** The package's version, read from package.json wherever the module runs from. */
export const version: string = (() => {
  const require = createRequire(import.meta.url);
  for (const path of ["../package.json", "../../package.json"]) {
    try {
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === "rpcpool" && pkg.version) return pkg.version;
    } catch {}
  }
  return "0.0.0";
})();
