import { type ChildProcess, execFileSync, spawnSync } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noRedis, startRedis } from "./support/redis-server.js";
import { root, rpcpool, serverProgram, startServerProgram } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Issue 18's "Done when": a user's project outside the repository, made by `rpcpool init`, with
// its own proto (a unary and a server-streaming method) and handlers typed by
// ServiceImplementation. `npm install && npm test` pass in it; a misspelling fails tsc; the stock
// `rpcpool-server --service` hosts it on three servers; a Python grpcio client gets the proto's
// defaults for fields the handler left out; `rpcpool call` and `rpcpool map` reach it through
// reflection. Everything runs as a user runs it: real npm, tsc, servers and Python.
// (`npm install` takes its packages from npm's cache, where this repository's install put the
// same versions: `--prefer-offline`.)

const folder = tempDir("rpcpool-own-service-");
const project = join(folder.dir, "words-project");
const children: ChildProcess[] = [];
const addresses: string[] = [];
let initRun: { code: number | null; stdout: string; stderr: string };

/** Runs a command in the project; its exit status and output. */
function inProject(command: string, args: string[], timeout = 120_000) {
  const run = spawnSync(command, args, { cwd: project, encoding: "utf8", timeout });
  return { code: run.status, output: `${run.stdout}${run.stderr}${run.error ?? ""}` };
}

/** Starts `rpcpool-server --service dist/service.js` from the project folder; its address. */
async function serve(
  args = ["--port", "0", "--workers", "1", "--service", "dist/service.js"],
  cwd = project,
  program = serverProgram,
): Promise<string> {
  const server = await startServerProgram(args, { cwd, program });
  children.push(server.child);
  return server.address;
}

afterAll(() => folder.cleanup());

describe("a service project made by rpcpool init, outside the repository", () => {
  beforeAll(async () => {
    initRun = await rpcpool(["init", project], { timeoutMs: 20_000 });
    if (initRun.code !== 0) throw new Error(`rpcpool init failed: ${initRun.stderr}`);
    // --ignore-scripts: npm would otherwise run the linked rpcpool's `prepare` (a full build of
    // this repository) while other tests read its dist/.
    const install = inProject("npm", [
      "install",
      "--prefer-offline",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
    ]);
    if (install.code !== 0) throw new Error(`npm install failed:\n${install.output}`);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null) return undefined;
        const exit = once(child, "exit");
        child.kill("SIGTERM");
        return exit;
      }),
    );
  });

  it("links this rpcpool, and refuses a folder that is not empty", async () => {
    const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
    expect(manifest.dependencies.rpcpool).toBe(`file:${root}`);
    expect(Object.keys(manifest.scripts)).toEqual(
      expect.arrayContaining(["generate", "build", "start", "test"]),
    );
    const again = await rpcpool(["init", project]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("is not empty");
  });

  it("passes its own npm test (generate, build, and a real server called through a pool)", () => {
    const test = inProject("npm", ["test"]);
    expect(test.code, test.output).toBe(0);
    expect(test.output).toMatch(/# pass 4\b/);
  }, 120_000);

  it("fails tsc on a wrong reply field, method name or request field", () => {
    // As the project writes its service (defineService), and as an object annotated with
    // ServiceImplementation: the method and the request field fail both ways.
    const define = (handlers: string) =>
      'import { defineService } from "rpcpool";\n' +
      'import { WordsServiceDefinition } from "../gen/words/v1/words.js";\n' +
      `export default defineService(WordsServiceDefinition, {\n${handlers}});\n`;
    const annotated = (handlers: string) =>
      'import type { ServiceImplementation } from "rpcpool";\n' +
      'import { WordsServiceDefinition } from "../gen/words/v1/words.js";\n' +
      `export const implementation: ServiceImplementation<typeof WordsServiceDefinition> = {\n${handlers}};\n`;
    const split = "  async *split({ text }) { yield { word: text }; },\n";
    const wrong = {
      "wrong-reply": define(
        `  async count({ text }) { return { words: text.length, longets: text }; },\n${split}`,
      ),
      "wrong-method": define(`  async cuont({ text }) { return { words: text.length }; },\n${split}`),
      "wrong-request": define(`  async count({ txt }) { return { words: txt.length }; },\n${split}`),
      "annotated-method": annotated(`  async cuont({ text }) { return { words: text.length }; },\n${split}`),
      "annotated-request": annotated(`  async count({ txt }) { return { words: txt.length }; },\n${split}`),
      "annotated-reply": annotated(`  async count({ text }) { return { wrods: text.length }; },\n${split}`),
    };
    const dir = join(project, "src", "typecheck");
    mkdirSync(dir);
    try {
      for (const [name, text] of Object.entries(wrong)) {
        writeFileSync(join(dir, `${name}.ts`), text);
      }
      const tsc = inProject(process.execPath, [
        join(project, "node_modules", "typescript", "bin", "tsc"),
        "--noEmit",
        "-p",
        "tsconfig.json",
      ]);
      expect(tsc.code).not.toBe(0);
      // Each file fails on its own misspelling: an error of that file (its first line and the
      // lines under it, up to the next error) names the word. (defineService refuses a reply field
      // with "Expected 4 arguments", without naming it: there only the file is checked.)
      const errors = tsc.output.split(/\n(?=\S)/);
      for (const [name, word] of [
        ["wrong-reply", ""],
        ["wrong-method", "cuont"],
        ["wrong-request", "txt"],
        ["annotated-method", "cuont"],
        ["annotated-request", "txt"],
        ["annotated-reply", "wrods"],
      ]) {
        const own = errors.filter((e) => e.startsWith(`src/typecheck/${name}.ts(`));
        expect(
          own.some((e) => e.includes(word!)),
          `${name}: ${word}\n${tsc.output}`,
        ).toBe(true);
      }
      // Nothing else fails: the project's own files compile.
      expect(errors.filter((e) => e.startsWith("src/") && !e.startsWith("src/typecheck/"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  describe("hosted by rpcpool-server --service on three servers", () => {
    beforeAll(async () => {
      addresses.push(...(await Promise.all([serve(), serve(), serve()])));
    }, 60_000);

    it("gives a Python grpcio client the proto's defaults for reply fields the handler left out", ({
      skip,
    }) => {
      const python = ["python3", "/usr/bin/python3"].find(
        (p) => spawnSync(p, ["-c", "import grpc, grpc_tools.protoc"], { stdio: "ignore" }).status === 0,
      );
      skip(
        !python,
        "no python3 with grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools)",
      );
      const stubs = join(folder.dir, "python-stubs");
      mkdirSync(stubs);
      execFileSync(
        python!,
        [
          "-m",
          "grpc_tools.protoc",
          "-I",
          "proto",
          `--python_out=${stubs}`,
          `--grpc_python_out=${stubs}`,
          "words/v1/words.proto",
        ],
        { cwd: project, stdio: ["ignore", "ignore", "pipe"] },
      );
      const client = (text: string) => {
        const run = spawnSync(
          python!,
          [
            join(root, "test", "python", "own_service_client.py"),
            "--stubs",
            stubs,
            "--address",
            addresses[0]!,
            "--text",
            text,
          ],
          { encoding: "utf8", timeout: 30_000 },
        );
        if (run.status !== 0) throw new Error(`python exited ${run.status}: ${run.stderr}`);
        return JSON.parse(run.stdout);
      };
      // An empty text: the handler leaves `longest` out; Python reads "" and the count 0.
      expect(client("")).toEqual({ words: 0, longest: "", server: addresses[0], split: [] });
      expect(client("to be or not")).toEqual({
        words: 4,
        longest: "not",
        server: addresses[0],
        split: [
          [0, "to"],
          [1, "be"],
          [2, "or"],
          [3, "not"],
        ],
      });
    }, 60_000);

    it("is called by rpcpool call through reflection: unary, and server streaming as JSON lines", async () => {
      const servers = ["--servers", addresses[0]!];
      const count = await rpcpool(["call", "words.v1.WordsService/Count", '{"text":"a bb ccc"}', ...servers]);
      expect(count.code, count.stderr).toBe(0);
      expect(JSON.parse(count.stdout)).toEqual({ words: 3, longest: "ccc", server: addresses[0] });
      const split = await rpcpool(["call", "words.v1.WordsService/Split", '{"text":"x y"}', ...servers]);
      expect(split.code, split.stderr).toBe(0);
      // proto3 JSON leaves a default out: index 0 is not printed.
      expect(
        split.stdout
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line)),
      ).toEqual([{ word: "x" }, { index: 1, word: "y" }]);
    });

    it("is fanned out by rpcpool map over the three servers, one reply a line in input order", async () => {
      const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: "w ".repeat(i) }));
      const input = folder.file("texts.jsonl", `${lines.join("\n")}\n`);
      const map = await rpcpool([
        "map",
        "words.v1.WordsService/Count",
        input,
        "--servers",
        addresses.join(","),
        "--chunksize",
        "1",
      ]);
      expect(map.code, map.stderr).toBe(0);
      const replies = map.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(replies.map((r) => r.words ?? 0)).toEqual(lines.map((_, i) => i));
      for (const reply of replies) expect(addresses).toContain(reply.server);
    });

    it("is called by the project's own client script on the three servers, in input order", () => {
      const run = spawnSync(process.execPath, [join(project, "dist", "client.js"), addresses.join(",")], {
        cwd: project,
        input: "a bb\n\nto be or not\n",
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(run.status, run.stderr).toBe(0);
      const lines = run.stdout
        .trim()
        .split("\n")
        .map((line) => line.split("\t"));
      expect(lines.map(([words, longest]) => [words, longest])).toEqual([
        ["2", "bb"],
        ["0", ""],
        ["4", "not"],
      ]);
      for (const [, , server] of lines) expect(addresses).toContain(server);
    });

    it("ships as deploy/Dockerfile.service's layer: under the rpcpool image's /app, without node_modules of its own", async () => {
      // The image's /app, here: rpcpool's package.json, and its dist/, proto/ and node_modules/.
      const app = join(folder.dir, "app");
      mkdirSync(app);
      copyFileSync(join(root, "package.json"), join(app, "package.json"));
      for (const name of ["dist", "proto", "node_modules"])
        symlinkSync(join(root, name), join(app, name), "dir");
      // The layer: Dockerfile.service's COPY lines, run from the project's folder.
      const instructions = readFileSync(join(root, "deploy", "Dockerfile.service"), "utf8")
        .split("\n")
        .filter((line) => /^(COPY|CMD) /.test(line));
      for (const line of instructions.filter((l) => l.startsWith("COPY "))) {
        const [, from, to] = line.split(/\s+/);
        cpSync(join(project, from!), join(app, to!.replace(/^\/app\//, "")), { recursive: true });
      }
      const cmd: string[] = JSON.parse(instructions.find((l) => l.startsWith("CMD "))!.slice(4));
      // The base image's ENTRYPOINT (node dist/server/main.js) with this CMD; port 0 here.
      const address = await serve(
        cmd.map((a) => (a === "50051" ? "0" : a)),
        app,
        join(app, "dist", "server", "main.js"),
      );
      const port = address.slice(address.lastIndexOf(":") + 1);
      const count = await rpcpool([
        "call",
        "words.v1.WordsService/Count",
        '{"text":"a b"}',
        "--servers",
        `127.0.0.1:${port}`,
      ]);
      expect(count.code, count.stderr).toBe(0);
      expect(JSON.parse(count.stdout)).toMatchObject({ words: 2, longest: "a" });
    });
  });

  it.skipIf(noRedis)(
    `rpcpool submit SERVICE/METHOD, then result --wait, prints what rpcpool map prints${noRedis ? `: skipped, ${noRedis}` : ""}`,
    async () => {
      const redis = await startRedis();
      try {
        const address = await serve([
          "--port",
          "0",
          "--workers",
          "1",
          "--service",
          "dist/service.js",
          "--queue",
          redis.url,
        ]);
        const lines = ['{"text":"to be or not"}', '{"text":""}', "{not json", '{"text":"a bb ccc"}'];
        const input = folder.file("queued.jsonl", `${lines.join("\n")}\n`);
        const method = "words.v1.WordsService/Count";
        const map = await rpcpool(["map", method, input, "--servers", address]);
        expect(map.code, map.stderr).toBe(1); // the line that is not JSON
        const submit = await rpcpool(["submit", method, input, "--servers", address, "--queue", redis.url]);
        expect(submit.code, submit.stderr).toBe(0);
        const result = await rpcpool(["result", submit.stdout.trim(), "--wait", "--queue", redis.url]);
        expect(result.code, result.stderr).toBe(1);
        expect(result.stdout).toBe(map.stdout);
        expect(JSON.parse(result.stdout.split("\n")[0]!)).toMatchObject({ words: 4, longest: "not" });
      } finally {
        await redis.stop();
      }
    },
    60_000,
  );
});
