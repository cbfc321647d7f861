// The TypeScript snippets of README.md and docs/*.md, read from the Markdown itself (never copied),
// and the folder they are checked and run in (test/docs-snippets.test.ts drives both).
//
// The convention a snippet follows:
// - A ```ts block is a whole module: its own imports, top-level await, and it ends by itself
//   (a pool it connects is closed, a server it starts is closed).
// - Lesson servers: `process.env.RPCPOOL_SERVERS` (comma-separated HOST:PORT), which the harness sets
//   to real rpcpool-server processes; a reader's copy falls back to the addresses written after `??`.
//   The durable queue: `process.env.RPCPOOL_QUEUE` (the CLI reads the same variable).
// - The folder is a small user project: the two examples' modules (`./stats-service.js`,
//   `./primes.js`, `./tally-class.js`), their generated code (`./gen/acme/...`) and protos, and the
//   lesson's tables in `data/lesson/` (as `rpcpool lesson` writes them).
// - ```ts no-run marks a block that is type-checked only; the words after no-run say why.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

/** Every ```ts block of README.md and docs/*.md: `{ doc, line, name, code, run, why }`. */
export function docSnippets(root) {
  const docs = [
    "README.md",
    ...readdirSync(join(root, "docs"))
      .filter((f) => f.endsWith(".md"))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  const snippets = [];
  for (const doc of docs) {
    const lines = readFileSync(join(root, doc), "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      const open = /^```ts(?:\s+(no-run)\b\s*(.*))?$/.exec(lines[i]);
      if (!open) continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end] !== "```") end++;
      if (end === lines.length) throw new Error(`${doc}:${i + 1}: a \`\`\`ts block that never closes`);
      const name = `${basename(doc, ".md").toLowerCase()}-${String(i + 1).padStart(4, "0")}`;
      snippets.push({
        doc,
        line: i + 1,
        name,
        code: `${lines.slice(start, end).join("\n")}\n`,
        run: open[1] === undefined,
        why: open[2] ?? "",
      });
      i = end;
    }
  }
  return snippets;
}

/**
 * Writes the snippets and the user project around them into `dir` (inside the repository, so that
 * `import ... from "rpcpool"` resolves to this package by its own name, as an installed one does),
 * with a tsconfig whose `tsc` both type-checks and emits each snippet's .js next to it.
 */
export function writeSnippetProject(root, dir, snippets) {
  mkdirSync(dir, { recursive: true });
  for (const example of ["stats-service", "session-accumulator"]) {
    const from = join(root, "examples", example);
    for (const file of readdirSync(from)) {
      if (file.endsWith(".ts") && !file.endsWith(".test.ts") && !["server.ts", "client.ts"].includes(file))
        cpSync(join(from, file), join(dir, file));
    }
    cpSync(join(from, "gen"), join(dir, "gen"), { recursive: true });
    cpSync(join(from, "proto"), join(dir, "proto"), { recursive: true });
  }
  // A service of each call kind (docs/api.md's streaming methods), as the tests generate it.
  cpSync(
    join(root, "test", "gen", "rpcpool", "test", "v1", "words.ts"),
    join(dir, "gen", "rpcpool", "test", "v1", "words.ts"),
  );
  // `rpcpool init`'s project (docs/own-service.md): its words.proto generated as its buf.gen.yaml
  // says, into ./gen/words/v1/words.ts, with this checkout's ts-proto.
  const template = join(root, "templates", "service");
  cpSync(join(template, "proto"), join(dir, "proto"), { recursive: true });
  const options = readFileSync(join(template, "buf.gen.yaml"), "utf8")
    .split("\n")
    .filter((line) => /^\s+- \w+=/.test(line))
    .map((line) => line.trim().slice(2));
  const plugin = join(root, "node_modules", "ts-proto", "protoc-gen-ts_proto");
  writeFileSync(
    join(dir, "buf.gen.words.yaml"),
    JSON.stringify({ version: "v2", plugins: [{ local: ["node", plugin], out: "gen", opt: options }] }),
  );
  execFileSync(
    join(root, "node_modules", ".bin", "buf"),
    ["generate", join(template, "proto"), "--template", "buf.gen.words.yaml"],
    { cwd: dir, stdio: "inherit" },
  );
  for (const s of snippets) writeFileSync(join(dir, `${s.name}.ts`), s.code);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          target: "ES2023",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          // Each snippet is its own module even when it imports nothing.
          moduleDetection: "force",
          strict: true,
          skipLibCheck: true,
          types: ["node"],
          noEmitOnError: false,
        },
        include: ["*.ts", "gen/**/*.ts"],
      },
      null,
      2,
    ),
  );
}
