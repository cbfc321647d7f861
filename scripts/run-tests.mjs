#!/usr/bin/env node
// Runs the whole vitest suite, says why each skipped test was skipped, and closes with the line
// CI reads: "N passed, N failed, N skipped" (it starts with "N passed, N failed").
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { skippedReport } from "./skip-reasons-reporter.mjs";

const report = ".vitest-report.json";
rmSync(report, { force: true });
rmSync(skippedReport, { force: true });
const run = spawnSync(
  process.execPath,
  [
    "node_modules/vitest/vitest.mjs",
    "run",
    "--reporter=default",
    "--reporter=json",
    "--reporter=./scripts/skip-reasons-reporter.mjs",
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  { stdio: "inherit" },
);
let passed = 0;
let failed = 0;
try {
  const results = JSON.parse(readFileSync(report, "utf8"));
  passed = results.numPassedTests;
  failed =
    results.numFailedTests +
    (results.numTotalTestSuites > 0 && results.success === false && results.numFailedTests === 0 ? 1 : 0);
} catch {
  failed = 1;
}
let skipped = [];
try {
  skipped = JSON.parse(readFileSync(skippedReport, "utf8"));
} catch {
  // No report: vitest did not get as far as running tests; the failure above says why.
}
for (const { file, test, reason } of skipped) console.log(`skipped: ${file} > ${test}: ${reason}`);
console.log(`${passed} passed, ${failed} failed, ${skipped.length} skipped`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
