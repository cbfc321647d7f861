import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "./run-program.js";

// `rpcpool init DIR`: a newcomer's way in. It writes a small working service project (a proto
// with a unary and a server-streaming method, buf.gen.yaml for ts-proto's generic definitions,
// the service module with typed handlers, a client, a test, a README) from templates/service/,
// with a package.json whose versions are this rpcpool's own: the ones it was built and tested
// with, so a fresh `npm install` gets what is known to work (and npm's cache already holds them
// where this rpcpool was installed).

/** The packages a service project needs besides rpcpool, and why (also in docs/own-service.md). */
const projectPackages = {
  dependencies: ["@bufbuild/protobuf"], // the runtime of ts-proto's generated code
  devDependencies: ["@bufbuild/buf", "ts-proto", "typescript", "@types/node"], // to build it
};

export interface InitOptions {
  /** Where rpcpool is (default: the package this module belongs to). */
  packageRoot?: string;
}

/** Writes the project into `dir` (new, or empty); returns the files written, relative to it. */
export async function initProject(dir: string, options: InitOptions = {}): Promise<string[]> {
  const target = resolve(dir);
  await refuseNonEmpty(dir, target);
  const root = options.packageRoot ?? packageRoot();
  const templates = join(root, "templates", "service");
  if (!existsSync(templates)) throw new Error(`the project templates are missing from ${root}`);
  const name = packageName(basename(target));
  const written: string[] = [];
  for (const file of await filesUnder(templates)) {
    const text = readFileSync(join(templates, file), "utf8").replaceAll("{{name}}", name);
    // npm leaves .gitignore out of published packages: the template's is stored without the dot.
    const out = file === "gitignore" ? ".gitignore" : file;
    await mkdir(dirname(join(target, out)), { recursive: true });
    await writeFile(join(target, out), text);
    written.push(out);
  }
  await writeFile(join(target, "package.json"), `${JSON.stringify(projectManifest(name, root), null, 2)}\n`);
  written.push("package.json");
  return written.sort();
}

/** The command: writes the project and says what to do next. */
export async function initCommand(dir: string): Promise<void> {
  const written = await initProject(dir);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`wrote ${written.length} files into ${dir}:`);
  for (const file of written) say(`  ${file}`);
  say("next:");
  say(`  cd ${dir} && npm install && npm test`);
  say("  npm start        # rpcpool-server --service dist/service.js, on 127.0.0.1:50051");
  say(`  npx rpcpool call words.v1.WordsService/Count '{"text":"a b c"}' --servers 127.0.0.1:50051`);
}

async function refuseNonEmpty(dir: string, target: string): Promise<void> {
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory())
    throw new UsageError(`${dir} is a file: rpcpool init writes a new folder`);
  const entries = await readdir(target);
  if (entries.length > 0) {
    throw new UsageError(
      `${dir} is not empty (${entries.length} entries, e.g. ${entries[0]}): rpcpool init writes only into a new or empty folder`,
    );
  }
}

/**
 * package.json of the project. rpcpool itself: the registry's version when this one was installed
 * from it (it lies under node_modules), else a `file:` link to this copy (a clone, built), which
 * npm links rather than copies. The other packages: the exact versions of this rpcpool's lockfile
 * when it has one (a clone), else the ranges of its package.json (a package from the registry).
 */
export function projectManifest(name: string, root: string) {
  const own = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const locked = lockedVersions(root);
  const ranges: Record<string, string> = { ...own.devDependencies, ...own.dependencies };
  const version = (pkg: string) => locked[pkg] ?? ranges[pkg] ?? "*";
  const fromRegistry = root.split(sep).includes("node_modules");
  const pick = (packages: string[]) => Object.fromEntries(packages.map((p) => [p, version(p)]));
  return {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    description: "A service hosted by rpcpool-server --service (made by rpcpool init)",
    engines: { node: own.engines?.node ?? ">=20" },
    scripts: {
      generate: "buf generate proto",
      build: "npm run generate && tsc -p tsconfig.json",
      start: "npm run build && rpcpool-server --service dist/service.js",
      test: "npm run build && node --test dist/words.test.js",
    },
    dependencies: {
      rpcpool: fromRegistry ? `^${own.version}` : `file:${root}`,
      ...pick(projectPackages.dependencies),
    },
    devDependencies: pick(projectPackages.devDependencies),
  };
}

function lockedVersions(root: string): Record<string, string> {
  const lockfile = join(root, "package-lock.json");
  if (!existsSync(lockfile)) return {};
  const packages: Record<string, { version?: string }> =
    JSON.parse(readFileSync(lockfile, "utf8")).packages ?? {};
  const versions: Record<string, string> = {};
  for (const pkg of [...projectPackages.dependencies, ...projectPackages.devDependencies]) {
    const found = packages[`node_modules/${pkg}`]?.version;
    if (found) versions[pkg] = found;
  }
  return versions;
}

/** A folder name as an npm package name: lower case, npm's characters only. */
export function packageName(folder: string): string {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[-]+$/g, "");
  return name.length > 0 ? name.slice(0, 214) : "my-service";
}

/** rpcpool's own folder: upwards from this module (src/ or dist/, bundled or not) to its package.json. */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "rpcpool") return dir;
    if (dirname(dir) === dir) throw new Error("rpcpool's package.json not found above its own module");
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? (e as { path?: string }).path ?? dir, e.name)))
    .sort();
}
