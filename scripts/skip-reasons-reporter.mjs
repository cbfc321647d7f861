// A vitest reporter that notes every skipped test with its reason, for run-tests.mjs to print.
// The reason is the note of `skip(condition, note)` in the test, or else the words after
// "skipped, " in the title of a suite skipped as a whole (`describe.skipIf(reason)(`...: skipped, ${reason}`)`).
import { writeFileSync } from "node:fs";

export const skippedReport = ".vitest-skipped.json";

function suiteReason(test) {
  for (let parent = test.parent; parent && parent.type === "suite"; parent = parent.parent) {
    const at = parent.name.indexOf("skipped, ");
    if (at >= 0) return parent.name.slice(at + "skipped, ".length);
  }
  return undefined;
}

export default class SkipReasonsReporter {
  onTestRunEnd(testModules) {
    const skipped = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== "skipped" || test.options.mode === "todo") continue;
        skipped.push({
          file: module.relativeModuleId,
          test: test.fullName,
          reason: result.note ?? suiteReason(test) ?? "no reason given",
        });
      }
    }
    writeFileSync(skippedReport, JSON.stringify(skipped));
  }
}
