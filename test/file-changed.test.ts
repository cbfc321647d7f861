import { renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { Pool } from "rpcpool";
import { columnSumsJob, lessonTableBytes, weightedMeansJob } from "rpcpool/lesson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { tempDir } from "./support/temp-dir.js";

// A file rewritten while a job reads it is refused with ABORTED ("changed while being read"),
// whole or split: never a sum of old and new parts. The job's own hooks rewrite it at a known
// step, so each case is deterministic.
const servers = useServers(2);
const tmp = tempDir();
let pool: Pool;
beforeAll(async () => {
  pool = await Pool.connect(servers.list.split(","));
});
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});

const rows = 3000;
const original = () => Buffer.from(lessonTableBytes(rows));
/** The same bytes but for every digit 1 made a 2: the same size, other sums. */
const rewritten = () => Buffer.from(original().toString("latin1").replaceAll("1", "2"), "latin1");
const split = { kind: "size" as const, bytes: 32 << 10 };

function expectRefused(
  outcome: { ok: boolean; error?: { codeName: string; details: string } },
  file: string,
) {
  expect(outcome.ok).toBe(false);
  expect(outcome.error).toMatchObject({ codeName: "ABORTED" });
  expect(outcome.error!.details).toContain(`${file}: changed while being read`);
}

describe("a file rewritten while a job reads it", () => {
  it("in place after its first part was summed: refused, not mixed", async () => {
    const file = tmp.file("in-place.csv", original());
    let done = 0;
    let tasks = 0;
    const job = await columnSumsJob(pool, [file], {
      split,
      onPlan: (planned) => {
        tasks = planned.length;
      },
      onEvent: (event) => {
        // The next parts start only after this event: they read the rewritten file.
        if (event.type === "done" && ++done === 1) writeFileSync(file, rewritten());
      },
    });
    expect(tasks).toBeGreaterThan(4);
    expectRefused(job.files[0]!, file);
  });

  it("replaced by another file (a new inode) between planning and reading", async () => {
    const file = tmp.file("replaced.csv", original());
    const job = await columnSumsJob(pool, [file], {
      split,
      onPlan: () => {
        const other = tmp.file("replacement.csv", rewritten());
        const { atime, mtime } = statSync(file);
        utimesSync(other, atime, mtime);
        renameSync(other, file);
      },
    });
    expectRefused(job.files[0]!, file);
  });

  it("whole (not split), grown between planning and reading", async () => {
    const file = tmp.file("grown.csv", "1;2\n3;4\n");
    const job = await columnSumsJob(pool, [file], {
      split: { kind: "none" },
      onPlan: () => writeFileSync(file, "1;2\n3;4\n5;6\n"),
    });
    expectRefused(job.files[0]!, file);
  });

  it("in place with its size and modification time put back: its change time gives it away", async () => {
    // Lines of two rows become one row and blank lines: the same bytes, the same size, fewer rows.
    const lines = Array.from({ length: 4000 }, () => "1;2\n3;4\n").join("");
    const fewer = Array.from({ length: 4000 }, () => "11;2\n\n\n\n").join("");
    expect(fewer.length).toBe(lines.length);
    const file = tmp.file("same-stat.csv", lines);
    utimesSync(file, 1_000_000_000, 1_000_000_000);
    let done = 0;
    const job = await columnSumsJob(pool, [file], {
      split: { kind: "size", bytes: 4 << 10 },
      onEvent: (event) => {
        if (event.type === "done" && ++done === 1) {
          writeFileSync(file, fewer);
          utimesSync(file, 1_000_000_000, 1_000_000_000);
        }
      },
    });
    expectRefused(job.files[0]!, file);
  });

  it("is refused in a weighted job too, and the other files are still computed", async () => {
    const file = tmp.file("weighted.csv", original());
    const other = tmp.file("other.csv", original());
    const weights = Array(rows).fill(1);
    let done = 0;
    const job = await weightedMeansJob(pool, [file, other], weights, {
      split,
      onEvent: (event) => {
        if (event.type === "done" && event.index === 0 && ++done === 1) writeFileSync(file, rewritten());
      },
    });
    expectRefused(job.files[0]!, file);
    expect(job.files[1]!.ok).toBe(true);
  });

  it("left alone, sums as before (the checks cost no false alarm)", async () => {
    const file = tmp.file("calm.csv", original());
    const job = await columnSumsJob(pool, [file], { split });
    expect(job.files[0]!.ok).toBe(true);
    const whole = await columnSumsJob(pool, [file], { split: { kind: "none" } });
    expect(whole.files[0]!.ok && job.files[0]!.ok && job.files[0]!.value.sums).toEqual(
      whole.files[0]!.ok && whole.files[0]!.value.sums,
    );
  });
});
