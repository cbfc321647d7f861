import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const built = (path: string) => fileURLToPath(new URL(`./dist/src/${path}`, import.meta.url));

export default defineConfig({
  // Tests import the package's public face as a user does, "rpcpool", "rpcpool/protocol" and "rpcpool/lesson", and get
  // the built package (npm test builds first): servers started in-process run their worker threads
  // from dist/ as an installed package does.
  resolve: {
    alias: [
      { find: /^rpcpool\/lesson$/, replacement: built("lesson/index.js") },
      { find: /^rpcpool\/protocol$/, replacement: built("protocol.js") },
      { find: /^rpcpool\/queue$/, replacement: built("queue/index.js") },
      { find: /^rpcpool$/, replacement: built("index.js") },
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
