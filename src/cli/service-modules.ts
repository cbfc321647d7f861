import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { HostedService } from "../host/hosted-service.js";
import { isGenericDefinition, methodsOf, serviceNameOf } from "../rpc/method-spec.js";
import { StartupError, UsageError } from "./run-program.js";

// `rpcpool-server --service MODULE`: the stock server hosts a user's service. MODULE is a file
// (relative to the working directory) or an installed package; its default export is one hosted
// service or an array of them. Everything that can be checked before the server starts is checked
// here, in words that name the module: a user who typed the wrong path, exported the definition
// instead of the service, or misspelled a handler learns it at start-up, not from a caller's
// UNIMPLEMENTED. (A method without a handler is refused by startServer itself, for every server.)

/** One --service argument, loaded: its hosted services and where they came from. */
export interface ServiceModule {
  /** The argument as given, for messages. */
  spec: string;
  /** The file it resolved to. */
  file: string;
  services: HostedService[];
}

/**
 * Loads every --service MODULE, in order, and checks each default export's shape. `taken` holds
 * service names already hosted (the lesson's, with --lesson): a module may not host one again.
 */
export async function loadServiceModules(
  specs: string[],
  options: { cwd?: string; taken?: Iterable<string> } = {},
): Promise<ServiceModule[]> {
  const cwd = options.cwd ?? process.cwd();
  const owners = new Map<string, string>([...(options.taken ?? [])].map((name) => [name, "the lesson"]));
  const modules: ServiceModule[] = [];
  for (const spec of specs) {
    const file = locate(spec, cwd);
    const exported = await importDefault(spec, file);
    const list = Array.isArray(exported) ? exported : [exported];
    if (list.length === 0) throw new UsageError(`--service ${spec}: its default export is an empty array`);
    const services = list.map((value, index) => {
      const where = Array.isArray(exported)
        ? `--service ${spec}: default export [${index}]`
        : `--service ${spec}`;
      const service = checkedService(value, where);
      const name = serviceNameOf(service.definition);
      const owner = owners.get(name);
      if (owner) throw new UsageError(`${where}: ${name} is hosted already, by ${owner}`);
      owners.set(name, `--service ${spec}`);
      return withProtoPaths(service, where, file, cwd);
    });
    modules.push({ spec, file, services });
  }
  return modules;
}

/** The file a --service argument names: a path relative to `cwd`, or a package installed there. */
export function locate(spec: string, cwd: string): string {
  const path = resolve(cwd, spec);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      throw new UsageError(
        `--service ${spec}: is a folder; name the module's file (e.g. ${join(spec, "dist", "service.js")})`,
      );
    }
    return path;
  }
  const pathLike = spec.startsWith(".") || isAbsolute(spec) || spec.includes("\\");
  if (pathLike) throw new UsageError(`--service ${spec}: no such file (looked for ${path})`);
  const found = packageFile(spec, cwd);
  if (found) return found;
  throw new UsageError(
    /\.[cm]?[jt]s$/.test(spec)
      ? `--service ${spec}: no such file or installed package (looked for ${path})`
      : `--service ${spec}: no package of that name is installed in ${cwd} (npm install it, or give the module's path)`,
  );
}

/**
 * A package's module as Node's own resolution finds it from `cwd`: require's resolution first,
 * then the package's "import" export by hand, for packages that export only to `import`.
 */
function packageFile(spec: string, cwd: string): string | undefined {
  try {
    return createRequire(join(cwd, "noop.js")).resolve(spec);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") return undefined;
  }
  const parts = spec.split("/");
  const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  const subpath = `.${spec.slice(name.length)}`;
  for (let dir = cwd; ; dir = dirname(dir)) {
    const root = join(dir, "node_modules", name);
    if (existsSync(join(root, "package.json"))) {
      const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
      const target = importTarget(
        typeof manifest.exports === "string" && subpath === "."
          ? manifest.exports
          : manifest.exports?.[subpath],
      );
      return target ? join(root, target) : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The file an "exports" entry gives to `import` on Node: conditions import, node, default. */
function importTarget(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (!entry || typeof entry !== "object") return undefined;
  for (const condition of ["import", "node", "default"]) {
    const found = importTarget((entry as Record<string, unknown>)[condition]);
    if (found) return found;
  }
  return undefined;
}

async function importDefault(spec: string, file: string): Promise<unknown> {
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(file).href);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_UNKNOWN_FILE_EXTENSION" && /\.[cm]?ts$/.test(file)) {
      throw new UsageError(
        `--service ${spec}: is TypeScript, which this Node does not run; build it (tsc) and name the .js it compiles to`,
      );
    }
    // The module's own fault (a missing import, a throw at its top level): its stack says where.
    const stack = (error as Error)?.stack ?? String(error);
    throw new StartupError(`--service ${spec}: loading it failed: ${stack}`);
  }
  if (module.default === undefined) {
    const named = Object.entries(module)
      .filter(([, value]) => looksHosted(value))
      .map(([name]) => name);
    throw new UsageError(
      `--service ${spec}: has no default export` +
        (named.length > 0
          ? ` (it exports ${named.join(", ")}: add \`export default ${named.length > 1 ? `[${named.join(", ")}]` : named[0]}\`)`
          : " (export default { definition, implementation }, or an array of them)"),
    );
  }
  return module.default;
}

const looksHosted = (value: unknown) => typeof value === "object" && value !== null && "definition" in value;

/** `value` as a HostedService, or a UsageError saying what is wrong with it. */
function checkedService(value: unknown, where: string): HostedService {
  if (typeof value !== "object" || value === null) {
    throw new UsageError(
      `${where}: is ${value === null ? "null" : `a ${typeof value}`}, not a hosted service { definition, implementation }`,
    );
  }
  const service = value as Partial<HostedService> & { fullName?: unknown; methods?: unknown };
  if (service.definition === undefined) {
    if (typeof service.fullName === "string" && typeof service.methods === "object") {
      throw new UsageError(
        `${where}: is the definition of ${service.fullName}, not a hosted service: export { definition, implementation }`,
      );
    }
    throw new UsageError(`${where}: has no \`definition\` (ts-proto's XxxServiceDefinition)`);
  }
  const methods = definitionMethods(service.definition, where);
  const serviceName = serviceNameOf(service.definition);
  if (service.implementation === undefined && service.sessionClass === undefined) {
    throw new UsageError(
      `${where}: ${serviceName} has no \`implementation\` (an object of its methods' handlers)`,
    );
  }
  const implementation = service.implementation;
  if (implementation !== undefined && typeof implementation !== "function") {
    if (typeof implementation !== "object" || implementation === null) {
      throw new UsageError(`${where}: ${serviceName}'s \`implementation\` is not an object of handlers`);
    }
    for (const [key, handler] of Object.entries(implementation)) {
      // A key that is no method is a misspelling (TypeScript catches it; JavaScript does not).
      if (!methods.includes(key)) {
        throw new UsageError(
          `${where}: ${serviceName}'s implementation has \`${key}\`, which is no method of it (its methods: ${methods.join(", ")})`,
        );
      }
      if (typeof handler !== "function") {
        throw new UsageError(`${where}: ${serviceName}'s handler \`${key}\` is not a function`);
      }
    }
  }
  if (service.sessionClass !== undefined && typeof service.sessionClass !== "function") {
    throw new UsageError(`${where}: ${serviceName}'s \`sessionClass\` is not a function`);
  }
  return service as HostedService;
}

/** The method keys of a definition, or a UsageError when it is no service definition. */
function definitionMethods(definition: unknown, where: string): string[] {
  const not = () =>
    new UsageError(
      `${where}: its \`definition\` is not a service definition (use the XxxServiceDefinition ts-proto generates with outputServices=generic-definitions)`,
    );
  if (typeof definition !== "object" || definition === null) throw not();
  const any = definition as Record<string, unknown>;
  const ok = isGenericDefinition(any as never)
    ? Object.values(any.methods as object).every(
        (m) =>
          typeof m?.name === "string" &&
          typeof m.requestType?.encode === "function" &&
          typeof m.requestType?.decode === "function" &&
          typeof m.responseType?.encode === "function" &&
          typeof m.responseType?.decode === "function",
      )
    : Object.values(any).every(
        (m) =>
          typeof (m as { path?: unknown })?.path === "string" &&
          typeof (m as { requestSerialize?: unknown }).requestSerialize === "function" &&
          typeof (m as { responseDeserialize?: unknown }).responseDeserialize === "function",
      );
  if (!ok) throw not();
  const methods = Object.keys(methodsOf(any as never));
  if (methods.length === 0) throw new UsageError(`${where}: ${serviceNameOf(any as never)} has no methods`);
  return methods;
}

/**
 * The service with its includeDirs made absolute, and every protoFile found in one of them: a
 * relative folder is looked for beside the module's package.json, beside the module, then in the
 * working directory (so `includeDirs: ["proto"]` works whichever folder the server starts in).
 * Reflection reads the files at its first call; a wrong path fails here, at start-up, instead.
 */
function withProtoPaths(service: HostedService, where: string, file: string, cwd: string): HostedService {
  if (!service.protoFiles?.length && !service.includeDirs?.length) return service;
  const bases = [packageRoot(dirname(file)), dirname(file), cwd].filter((b): b is string => b !== undefined);
  const includeDirs = (service.includeDirs ?? []).map((dir) => {
    if (isAbsolute(dir)) return dir;
    return bases.map((base) => resolve(base, dir)).find((d) => existsSync(d)) ?? resolve(cwd, dir);
  });
  for (const proto of service.protoFiles ?? []) {
    const roots = isAbsolute(proto) ? [""] : includeDirs;
    if (!roots.some((root) => existsSync(resolve(root, proto)))) {
      throw new UsageError(
        `${where}: protoFiles has ${proto}, which is in none of its includeDirs (${includeDirs.join(", ") || "none given"})`,
      );
    }
  }
  return { ...service, includeDirs };
}

/** The nearest folder upwards with a package.json: the module's project. */
function packageRoot(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "package.json"))) return d;
    if (dirname(d) === d) return undefined;
  }
}
