import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // Tests import the package's public face, as a user does: "rpcpool" and "rpcpool/lesson".
  resolve: {
    alias: [
      { find: /^rpcpool\/lesson$/, replacement: src("lesson/index.ts") },
      { find: /^rpcpool$/, replacement: src("index.ts") },
    ],
  },
  test: {
    include: ["src/**/*.spec.ts", "test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real server processes: keep the 2-core machine from thrashing.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
