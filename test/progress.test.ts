import { lessonTableBytes } from "rpcpool/lesson";
import { afterAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { noTerminal, onTerminal } from "./support/terminal.js";

const servers = useServers(2);
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const files = () => [0, 1, 2].map((i) => tmp.file(`p${i}.csv`, lessonTableBytes(7 * 5000)));

describe("progress bars", () => {
  it("are drawn on a terminal: bytes, files and each server", ({ skip }) => {
    skip(noTerminal !== undefined, noTerminal);
    const out = onTerminal(["column-sums", ...files(), "--servers", servers.list]);
    expect(out).toMatch(/bytes\s+\|/);
    expect(out).toMatch(/files\s+\|/);
    expect(out).toMatch(/127\.0\.0\.1:\d+\s+\|.*files/);
    expect(out).toContain("35000 rows x 40 columns");
  });

  it("are not drawn with --json, even on a terminal", ({ skip }) => {
    skip(noTerminal !== undefined, noTerminal);
    const out = onTerminal(["column-sums", ...files(), "--servers", servers.list, "--json"]);
    expect(out).not.toMatch(/\|[░█]+\|/);
    expect(JSON.parse(out.trim()).results).toHaveLength(3);
  });

  it("are not drawn when stdout is not a terminal", async () => {
    const run = await rpcpool(["column-sums", ...files(), "--servers", servers.list]);
    expect(run.code).toBe(0);
    expect(run.stderr + run.stdout).not.toMatch(/[░█]/);
  });
});
