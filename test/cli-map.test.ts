import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startLocalServers } from "rpcpool/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useServers } from "./support/local-servers.js";
import { clientProgram, collectRun, root, rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";
import { noTerminal, onTerminal } from "./support/terminal.js";

// `rpcpool map` (docs/cli.md) over real servers: order, errors in place, failover, the window, a
// closed stdout, the progress count on a terminal.
const servers = useServers(2);
const means = "rpcpool.compute.v1.ComputeService/Means";
const tmp = tempDir("rpcpool-map-");
afterAll(() => tmp.cleanup());

/** Runs the client with `input` on its stdin. */
function rpcpoolWithInput(args: string[], input: string, timeoutMs?: number) {
  const child = spawn(process.execPath, [clientProgram, ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin!.on("error", () => {});
  child.stdin!.end(input);
  return collectRun(child, args.join(" "), timeoutMs);
}

describe("rpcpool map", () => {
  const lines = 10_000;
  const bad = 5_000;
  const refused = 7_000;
  const lists = (i: number) => [[i % 7, (i % 5) + 1, i % 3]];
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  let file = "";

  beforeAll(() => {
    const text: string[] = [];
    for (let i = 1; i <= lines; i++) {
      if (i === bad) text.push('{"lists": [{"values": [1, 2}]}');
      else if (i === refused) text.push('{"lists":[{"values":[]}]}');
      else text.push(JSON.stringify({ lists: lists(i).map((values) => ({ values })) }));
    }
    file = join(tmp.dir, "means.jsonl");
    writeFileSync(file, `${text.join("\n")}\n`);
  });

  const expectedLine = (i: number) => ({ means: lists(i).map(mean) });

  it("prints one reply per line in input order; a bad line prints its error in its place, exit 1", async () => {
    const run = await rpcpool(["map", means, file, "--servers", servers.list], { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(1);
    const out = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(out).toHaveLength(lines);
    for (let i = 1; i <= lines; i++) {
      const line = out[i - 1];
      if (i === bad) {
        expect(line.error.code).toBe("INVALID_ARGUMENT");
        // Where: the file, the line and (V8 says the position) the column.
        expect(line.error.message).toMatch(new RegExp(`^${file}: line ${bad}, column \\d+: not JSON`));
      } else if (i === refused) {
        expect(line).toEqual({
          error: { code: "INVALID_ARGUMENT", message: "list 1 is empty: it has no mean" },
        });
      } else expect({ means: line.means }).toEqual(expectedLine(i));
    }
    // Both servers took part.
    expect(new Set(out.filter((l) => l.servedBy).map((l) => l.servedBy.server)).size).toBe(2);
    // A line's reply is what `call` gives for it.
    for (const i of [1, 4_999, lines]) {
      const one = await rpcpool([
        "call",
        means,
        JSON.stringify({ lists: lists(i).map((values) => ({ values })) }),
        "--servers",
        servers.list,
      ]);
      expect(JSON.parse(one.stdout).means).toEqual(out[i - 1].means);
    }
  });

  it("--unordered prints the same set of lines, from stdin", async () => {
    const ordered = await rpcpool(["map", means, file, "--servers", servers.list]);
    const child = spawn(
      process.execPath,
      [clientProgram, "map", means, "-", "--unordered", "--servers", servers.list],
      {
        cwd: root,
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    const { createReadStream } = await import("node:fs");
    createReadStream(file).pipe(child.stdin!);
    const unordered = await collectRun(child, "map --unordered");
    expect(unordered.code, unordered.stderr).toBe(1);
    const strip = (text: string) =>
      text
        .trim()
        .split("\n")
        .map((line) => {
          const { servedBy: _, ...rest } = JSON.parse(line);
          // The input's name is in a bad line's message: the file's, or "standard input".
          return JSON.stringify(rest).replace(`${file}: `, "standard input: ");
        })
        .sort();
    expect(strip(unordered.stdout)).toEqual(strip(ordered.stdout));
  });

  it("ends quietly with exit 141, as every command does, when its reader stops reading (| head -1)", async () => {
    const child = spawn(
      "bash",
      [
        "-c",
        `set -o pipefail; "${process.execPath}" "${clientProgram}" map ${means} "${file}" --servers ${servers.list} | head -1`,
      ],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    const run = await collectRun(child, "map | head -1");
    // pipefail: the pipeline's code is map's, 141 (SIGPIPE's), which says the reader stopped.
    expect(run.code, run.stderr).toBe(141);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toBe("");
  });

  it("counts lines done on a terminal's stderr while stdout goes to a file, and clears the count", ({
    skip,
  }) => {
    if (noTerminal) skip(noTerminal);
    const out = join(tmp.dir, "replies.jsonl");
    const command = [process.execPath, clientProgram, "map", means, file, "--servers", servers.list]
      .map((a) => `'${a}'`)
      .join(" ");
    const shown = spawnSync("script", ["-qec", `${command} > '${out}'`, "/dev/null"], {
      encoding: "utf8",
      timeout: 60_000,
    }).stdout;
    expect(shown).toMatch(/\d+ lines done, \d+ failed, \d+ lines\/s/);
    expect(shown.endsWith("\r\x1b[K")).toBe(true);
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(lines);
    // With the replies on the terminal, no count mixes with them.
    expect(onTerminal(["map", means, file, "--servers", servers.list])).not.toMatch(/lines done/);
  });

  it("goes on past many bad lines behind a good one whose chunk is not full (no wait on it)", async () => {
    // A good line, then more bad lines than the window: the good line's chunk goes only when the
    // input ends, so the reader must not wait for its reply before reading on.
    const text = ['{"lists":[{"values":[1,3]}]}', ...Array.from({ length: 300 }, () => "{")].join("\n");
    const run = await rpcpoolWithInput(
      ["map", means, "--servers", servers.list, "--window", "64", "--chunksize", "64"],
      text,
      20_000, // a hang guard
    );
    expect(run.code, run.stderr).toBe(1);
    const out = run.stdout.trim().split("\n");
    expect(out).toHaveLength(301);
    expect(JSON.parse(out[0]!).means).toEqual([2]);
    expect(JSON.parse(out[300]!).error.message).toMatch(/^standard input: line 301, column \d+: not JSON/);
  });

  it("moves a lost server's lines to the other (Means is NO_SIDE_EFFECTS in its proto): every reply, exit 0", async () => {
    const own = await startLocalServers(2, { workers: 1, stderr: "ignore" });
    try {
      const count = 50_000;
      const text = Array.from({ length: count }, (_, i) =>
        JSON.stringify({ lists: [{ values: [i, i + 2] }] }),
      ).join("\n");
      const child = spawn(
        process.execPath,
        [clientProgram, "map", means, "--chunksize", "16", "--servers", own.map((s) => s.address).join(",")],
        { cwd: root, stdio: ["pipe", "pipe", "pipe"] },
      );
      child.stdin!.on("error", () => {});
      child.stdin!.end(text);
      // Once replies flow, one server dies without a word.
      child.stdout!.once("data", () => own[0]!.process.kill("SIGKILL"));
      const run = await collectRun(child, "map with a server lost");
      expect(run.code, run.stderr).toBe(0);
      const out = run.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(out).toHaveLength(count);
      expect(out.map((line) => line.means)).toEqual(Array.from({ length: count }, (_, i) => [i + 1]));
    } finally {
      await Promise.all(own.map((s) => s.stop().catch(() => {})));
    }
  });

  it("runs on the embedded default local servers without --servers (they host the lesson)", async () => {
    const run = await rpcpoolWithInput(
      ["map", means, "--local", "2"],
      '{"lists":[{"values":[1,2]}]}\n\n{"lists":[{"values":[4]}]}\n',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(
      run.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).means),
    ).toEqual([[1.5], [4]]);
    const user = await rpcpoolWithInput(
      ["map", "acme.stats.v1.StatsService/Describe", "--local", "1"],
      "{}\n",
    );
    expect(user.code).toBe(2);
    expect(user.stderr).toMatch(
      /no service acme\.stats\.v1\.StatsService.*embedded local servers host the lesson's services: give --servers/,
    );
  });

  it("refuses a streaming method with exit 2", async () => {
    const run = await rpcpoolWithInput(
      ["map", "rpcpool.compute.v1.ComputeService/ColumnSums", "--servers", servers.list],
      "{}\n",
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/map calls unary methods; .* is client-streaming/);
  });
});
