import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.spec.ts", "test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real server processes: keep the 2-core machine from thrashing.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
