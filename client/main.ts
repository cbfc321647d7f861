#!/usr/bin/env node
import { Command, Option } from "commander";
import {
  collect,
  finiteNumber,
  integerIn,
  labelPairs,
  positiveInteger,
  tableFlags,
} from "../src/cli/option-parsers.js";
import { runProgram } from "../src/cli/run-program.js";
import { startTrace } from "../src/cli/start-trace.js";

const trace = startTrace(process.env);
trace.mark("bundle evaluated");

/**
 * A command's action, loaded when that command runs: the build splits each command's module (and
 * what only it uses) into a chunk of its own, so `circles` does not read, compile and evaluate the
 * code of `dashboard`, `scale`, `init` or `map`. That was about a third of a tiny call's start-up.
 */
// biome-ignore lint/suspicious/noExplicitAny: an action's arguments are commander's, passed through.
type Action = (...args: any[]) => void | Promise<void>;

function lazy<M>(load: () => Promise<M>, pick: (module: M) => Action): Action {
  return async (...args) => {
    trace.mark("command line parsed");
    const action = pick(await load());
    trace.mark("command's module loaded");
    await action(...args);
  };
}

/**
 * The CPU demo's default count: a few hundred milliseconds a call, long enough that the speed-up
 * measures the computation rather than the calls' overhead (the lesson's 10,000,000 takes ~6 ms
 * here, where Python took ~0.5 s).
 */
const demoIterations = 500_000_000;

// A closed stdout or stderr (`rpcpool ... | head`) ends the program quietly, as SIGPIPE ends a C
// program: the reader has what it wanted. 141 = 128 + SIGPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(141);
    throw error;
  });
}
// grpc-js sets a TLS server name for IP addresses, which Node warns about (DEP0123) on every TLS
// connection: noise to a person at the terminal, who can do nothing about it. Other warnings stay.
process.removeAllListeners("warning");
process.on("warning", (warning: Error & { code?: string }) => {
  if (warning.code !== "DEP0123") process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

/**
 * Each command's definition, by name, run below: all of them, or only the one the first word
 * names (its options and help are all it needs). Defining every command and its options
 * took about 2 ms of a tiny call's start-up.
 */
const definitions: Array<[string, () => unknown]> = [];
function define(name: string, add: () => unknown): void {
  definitions.push([name, add]);
}

const program = new Command("rpcpool").description(
  "Fan the lesson's computations out over rpcpool compute servers.",
);

/**
 * Options of every command that talks to servers. --retries only where a failed task can run again
 * on another server: accumulate's session lives on one server and is never retried.
 */
function common(command: Command, { retries = true } = {}): Command {
  command
    .option(
      "--servers <list>",
      "running servers: HOST:PORT,..., dns:///NAME:PORT, or a file of them, one a line (default: local servers)",
    )
    .option(
      "--local <n>",
      "local servers to start when --servers is not given (default: one per core)",
      positiveInteger,
    );
  if (retries) {
    command.option(
      "--retries <n>",
      "attempts per task on other servers when a server fails",
      integerIn(0, 100),
      3,
    );
  }
  return command
    .option(
      "--priority <n>",
      "this command's tasks go before this client's lower ones on each server (higher first; other clients keep their turns)",
      integerIn(-1_000_000, 1_000_000),
    )
    .option(
      "--client-name <name>",
      "the name the servers count this command's calls under (rpcpool-client): fair turns and --max-calls-per-client",
    )
    .option("--tls-ca <file>", "PEM CA that signed the servers' certificates: connect with TLS")
    .option("--tls-cert <file>", "PEM client certificate, for servers that require mutual TLS")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option("--token-file <file>", "send the bearer token in this file with every call")
    .option(
      "--require <key=value>",
      "run only on servers with this label (rpcpool-server --label; repeatable, all must match)",
      labelPairs("--require"),
    )
    .option(
      "--prefer <key=value>",
      "give work first to servers with this label while they have room (repeatable)",
      labelPairs("--prefer"),
    )
    .option(
      "--resolve-every-ms <ms>",
      "how often dns:/// targets are looked up again",
      positiveInteger,
      30_000,
    )
    .option("--json", "print one JSON document on stdout");
}

function table(command: Command): Command {
  return tableFlags(command)
    .option(
      "--split <mode>",
      "cut large files into row ranges for all servers: auto, none, or a size like 64MB",
      "auto",
    )
    .option("--remote-paths", "FILEs are paths under each server's --data-root: only paths travel");
}

define("column-sums", () =>
  common(
    table(
      program
        .command("column-sums")
        .argument("<files...>", "CSV tables; - is standard input")
        .description("column sums of CSV tables")
        .option("--total", "also the exact column sums over all files together (same widths needed)"),
    ),
  ).action(
    lazy(
      () => import("../src/cli/table-commands.js"),
      (m) => m.columnSumsCommand,
    ),
  ),
);

define("weighted-means", () =>
  common(
    table(
      program
        .command("weighted-means")
        .argument("<files...>", "CSV tables; - is standard input")
        .description("weighted column means of CSV tables")
        .requiredOption(
          "--weights <file>",
          "weights: a JSON array, or one number a line; one per row (- is standard input)",
        )
        .addOption(
          new Option("--divisor <d>", "divide by the sum of the weights, or by the row count (the lesson's)")
            .choices(["weights", "rows"])
            .default("weights"),
        ),
    ),
  ).action(
    lazy(
      () => import("../src/cli/table-commands.js"),
      (m) => m.weightedMeansCommand,
    ),
  ),
);

define("accumulate", () =>
  common(
    tableFlags(
      program
        .command("accumulate")
        .argument("<files...>")
        .description(
          "running exact column sums of tables added one at a time to an accumulator on one server (a session)",
        ),
    ).option("--server <address>", "the server that holds the accumulator (default: the least busy)"),
    { retries: false },
  ).action(
    lazy(
      () => import("../src/cli/accumulate-command.js"),
      (m) => m.accumulateCommand,
    ),
  ),
);

define("circles", () =>
  common(
    program
      .command("circles")
      .description("circle lengths 2*pi*r and areas pi*r^2")
      .requiredOption("--radii <list>", "radii: 1,2,3 or a range 1..9")
      .option("--pi <x>", "the value of pi (the lesson uses 3.1415927)", finiteNumber),
  ).action(
    lazy(
      () => import("../src/cli/small-commands.js"),
      (m) => m.circlesCommand,
    ),
  ),
);

define("means", () =>
  common(
    program
      .command("means")
      .description("the mean of each list")
      .requiredOption("--lists <json>", "a JSON array of lists, e.g. '[[1,2,3],[5,2,7]]'"),
  ).action(
    lazy(
      () => import("../src/cli/small-commands.js"),
      (m) => m.meansCommand,
    ),
  ),
);

define("demo", () =>
  common(
    program
      .command("demo")
      .description("the lesson's timing demos: sleep and a CPU-bound count, sequential against fanned out")
      .option("--calls <n>", "calls of each demo", positiveInteger, 6)
      .option("--sleep-ms <ms>", "milliseconds each sleep takes", integerIn(0, 3_600_000), 1000)
      .option(
        "--iterations <n>",
        "count of the CPU-bound loop (the default takes a few hundred ms a call)",
        integerIn(1, 1e12),
        demoIterations,
      ),
  ).action(
    lazy(
      () => import("../src/cli/demo-command.js"),
      (m) => m.demoCommand,
    ),
  ),
);

define("lesson", () =>
  common(
    program
      .command("lesson")
      .description(
        "the lesson's experiment: column sums of its ten tables, sequential and fanned out, with the speed-up",
      )
      .option(
        "--data <dir>",
        "the lesson's tables; missing ones are generated into an empty or rpcpool-made folder",
        "data/lesson",
      ),
  ).action(
    lazy(
      () => import("../src/cli/lesson-command.js"),
      (m) => m.lessonCommand,
    ),
  ),
);

define("scale", () =>
  common(
    program
      .command("scale")
      .description(
        "run a workload on 1, 2, ... N servers: speed-up, efficiency, Karp-Flatt, and the Amdahl fit",
      )
      .option(
        "--max-local <n>",
        "local servers to start when --servers is not given (default: one per core)",
        positiveInteger,
      )
      .addOption(
        new Option("--workload <w>", "what to run").choices(["column-sums", "spin", "sleep"]).default("spin"),
      )
      .option(
        "--tasks <n>",
        "tasks per run (12 divides evenly among 1, 2, 3, 4 and 6 servers)",
        positiveInteger,
        12,
      )
      .option("--iterations <n>", "spin: count of each task's loop", integerIn(1, 1e12), 500_000_000)
      .option("--sleep-ms <ms>", "sleep: milliseconds each task sleeps", integerIn(0, 3_600_000), 200)
      .option("--rows <n>", "column-sums: rows of the lesson table each task sums", positiveInteger, 70_000)
      .option(
        "--report <file.html>",
        "also write a self-contained HTML page with the charts (checked first)",
      ),
  ).action(
    lazy(
      () => import("../src/cli/scale-command.js"),
      (m) => m.scaleCommand,
    ),
  ),
);

/** Options of the commands that call any method by its descriptors (`call`, `map`). */
function described(command: Command): Command {
  return command
    .option(
      "--proto <file>",
      "read the method from this .proto instead of server reflection (repeatable)",
      collect,
    )
    .option(
      "-I, --import-path <dir>",
      "folder the .proto files and their imports are found in (repeatable)",
      collect,
    )
    .option("--emit-defaults", "print fields that hold their default value too")
    .option("--timeout-ms <ms>", "deadline of each call", positiveInteger);
}

define("call", () =>
  common(
    described(
      program
        .command("call")
        .argument("<method>", "SERVICE/METHOD, e.g. acme.stats.v1.StatsService/Describe")
        .argument(
          "[json]",
          "the request in proto3 JSON; - or none reads it (or JSON lines of a stream) from stdin",
        )
        .description(
          "call any method of a server (described by its reflection or --proto); replies as JSON lines",
        )
        .option("--pretty", "indent the JSON replies"),
    ),
  ).action(
    lazy(
      () => import("../src/cli/call-command.js"),
      (m) => m.callCommand,
    ),
  ),
);

define("map", () =>
  common(
    described(
      program
        .command("map")
        .argument("<method>", "SERVICE/METHOD of a unary method")
        .argument("[file]", "JSON lines, one request each; - or none is stdin")
        .description("one call per JSON line fanned out over the servers; one reply a line, in input order")
        .option("--unordered", "print replies as they finish, not in input order")
        .option("--chunksize <n>", "requests per round trip (BatchService)", positiveInteger, 64)
        .option("--window <n>", "lines read ahead of the oldest reply not yet printed", positiveInteger),
    ),
  ).action(
    lazy(
      () => import("../src/cli/map-command.js"),
      (m) => m.mapCommand,
    ),
  ),
);

define("init", () =>
  program
    .command("init")
    .argument("<dir>", "a new or empty folder")
    .description(
      "write a small service project into DIR: a proto, typed handlers, a client, a test (then: cd DIR && npm install && npm test)",
    )
    .action(
      lazy(
        () => import("../src/cli/init-command.js"),
        (m) => m.initCommand,
      ),
    ),
);

/** Options of the commands that watch running servers (`top`, `dashboard`): no local servers, no retries. */
function watching(command: Command): Command {
  return command
    .requiredOption(
      "--servers <list>",
      "the servers to watch: HOST:PORT,..., dns:///NAME:PORT, or a file of them, one a line",
    )
    .option("--tls-ca <file>", "PEM CA that signed the servers' certificates: connect with TLS")
    .option("--tls-cert <file>", "PEM client certificate, for servers that require mutual TLS")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option("--token-file <file>", "send the bearer token in this file with every call");
}

define("top", () =>
  watching(
    program
      .command("top")
      .description(
        "each server's calls, latency, workers, store and sessions: live on a terminal, once with --json",
      )
      .option("--json", "print one snapshot as a JSON document and exit")
      .option("--interval-ms <ms>", "how often the live view is redrawn", positiveInteger, 1000)
      .option("--count <n>", "redraws before the live view ends (default: until Ctrl-C)", positiveInteger),
  ).action(
    lazy(
      () => import("../src/cli/top-command.js"),
      (m) => m.topCommand,
    ),
  ),
);

define("dashboard", () =>
  watching(
    program
      .command("dashboard")
      .description("a live web page of the servers: charts over time, the task stream, the queue's depth")
      .option("--host <address>", "address the page is served on", "127.0.0.1")
      .option("--port <port>", "port of the page (0: any free one)", integerIn(0, 65535), 8787)
      .option("--interval-ms <ms>", "how often the servers are asked", positiveInteger, 1000)
      .option("--queue <url>", "also show this durable queue's depth (redis://...; default: $RPCPOOL_QUEUE)"),
  ).action(
    lazy(
      () => import("../src/cli/dashboard/dashboard-command.js"),
      (m) => m.dashboardCommand,
    ),
  ),
);

/**
 * Defines the commands, runs the one named and exits. A function rather than top-level code with
 * `await`: the build bundles this program as CommonJS, run from V8's code cache
 * (client/code-cache.ts), and CommonJS has no top-level await.
 */
async function main(): Promise<void> {
  // The queue's commands (submit, status, result, jobs) are added only when the command line may
  // name one of them: their registration imports what their actions print with (the table
  // commands, the generic method calls and protobuf's reflection), about a third of a tiny call's
  // start-up. Any other first word (a queue command, help, an option, a typo) gets every command.
  // Their subcommands take options after their names (positional options): set here, for all, as
  // when they were always added.
  const named = definitions.find(([name]) => name === process.argv[2]);
  for (const [, add] of named ? [named] : definitions) add();
  program.enablePositionalOptions();
  if (!named) {
    // -V, --version only where it can be given, before any command: reading the version from
    // package.json is the CommonJS loader's first file, about 1.5 ms of a command's start-up.
    program.version((await import("../src/version.js")).version);
    const { addQueueCommands } = await import("../src/cli/queue-commands.js");
    addQueueCommands(program);
  }

  const code = await runProgram(program, process.argv);
  trace.mark("command done");
  // Leave as soon as the output is out. A connection to a host whose link was cut mid-write keeps
  // its socket open after the pool closed: Node's HTTP/2 ends it gracefully, waiting for unsent
  // bytes that the kernel retransmits for up to 15 minutes. The job is done; nothing is lost.
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write("", r))));
  process.exit(code);
}

main().catch((error: unknown) => {
  // As a rejected top-level await did: the error's stack on stderr, exit code 1.
  process.exitCode = 1;
  console.error(error);
});
