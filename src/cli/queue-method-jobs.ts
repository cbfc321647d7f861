import { existsSync } from "node:fs";
import { type Message, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import type { JobResult } from "../queue/job-types.js";
import { decodedOutcome, decodedOutcomes, FailedInput, type TaskResult } from "../queue/service-queue.js";
import { ClientError } from "../rpc/client-error.js";
import { type DescribedMethod, describedMethod, registryOf } from "../rpc/described-method.js";
import { Status } from "../rpc/grpc-status.js";
import type { GrpcServiceDefinition } from "../rpc/method-spec.js";
import { type DescribedCallOptions, oneServer, requestOf } from "./call-command.js";
import { flushLines, inputLines, inputName, inputStream, writeLine } from "./json-lines.js";
import { commandMethod, type MethodSource, parseMethodName } from "./method-lookup.js";
import { controls, printSubmitted, type SubmitOptions, withSubmit } from "./queue-options.js";
import { setExitCode, UsageError } from "./run-program.js";

/**
 * `rpcpool submit SERVICE/METHOD [FILE|-]` and its `result`: any unary method of any service as a
 * durable job, from `rpcpool map`'s input (JSON lines, one request each, described by a server's
 * reflection or --proto). The job keeps the method's descriptors (serialized FileDescriptorProtos),
 * so that `result` prints the replies, from any machine and with no server up, exactly as `map`
 * prints them: one line per input line, in input order, a failed line's status in its place.
 */

/** What a method job keeps to print its result: the method, its descriptors, and how `map` was asked to print. */
export interface MethodJobDocument {
  command: "method";
  /** `/pkg.Service/Method`. */
  method: string;
  /** Base64 FileDescriptorProtos: the method's file and its imports. */
  descriptors: string[];
  emitDefaults?: boolean;
  /** `--then`: the reduce step's method, `/pkg.Service/Method` (its descriptors among the others). */
  reduce?: string;
}

export type MethodSubmitOptions = SubmitOptions & DescribedCallOptions & { then?: string };

/** The line `rpcpool map` prints in place of a failed input's reply (src/cli/map-command.ts). */
function errorLine(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** The method's descriptors: from --proto, or the reflection of the first of --servers (or an embedded server). */
async function describe(name: string, options: MethodSubmitOptions): Promise<DescribedMethod> {
  if (options.proto?.length) {
    // Read from the files: no server is asked (its address only names the source in messages).
    return commandMethod(name, { address: "--proto" } as MethodSource["server"], options);
  }
  const { server, close } = await oneServer(options);
  try {
    return await commandMethod(name, server, options);
  } finally {
    await close();
  }
}

export async function submitMethodCommand(
  name: string,
  file: string | undefined,
  options: MethodSubmitOptions,
): Promise<void> {
  if (file !== undefined && file !== "-" && !existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const method = unary(name, await describe(name, options), "one request a line, as map");
  const { spec } = method;
  // The reduce step's request is the tasks' replies (`{ repeated V parts = 1; }`), built by the worker.
  const reduce =
    options.then === undefined
      ? undefined
      : unary(options.then, await describe(options.then, options), "the reduce step");
  const files = new Map<string, string>();
  for (const registry of [method.registry, reduce?.registry]) {
    for (const file of registry?.files ?? []) {
      files.set(file.name, Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)).toString("base64"));
    }
  }
  const document: MethodJobDocument = {
    command: "method",
    method: spec.path,
    descriptors: [...files.values()],
    emitDefaults: options.emitDefaults,
    reduce: reduce?.spec.path,
  };
  // A line that is not a fitting request is that task's failure, recorded at submission, as map
  // prints it in its place.
  const requests = async function* () {
    for await (const line of inputLines(inputStream(file), inputName(file))) {
      try {
        yield requestOf(method, line.text, `${inputName(file)}: line ${line.number}`);
      } catch (error) {
        yield new FailedInput(Status.INVALID_ARGUMENT, (error as Error).message);
      }
    }
  };
  // A definition of the described methods: known only at run time, hence the casts.
  const definition = { method: spec, ...(reduce ? { reduce: reduce.spec } : {}) } as GrpcServiceDefinition;
  const then = reduce ? ("reduce" as never) : undefined;
  const job = await withSubmit(options, (queue) =>
    queue.service(definition).submit("method" as never, requests() as AsyncIterable<never>, {
      ...controls(options),
      kind: spec.path.slice(1),
      document,
      then,
    }),
  );
  await printSubmitted(job.id, options, job.schedule);
}

/** The method, if it is unary (a queued task keeps one reply; its input is one request). */
function unary(name: string, method: DescribedMethod, why: string): DescribedMethod {
  if (method.spec.requestStream || method.spec.responseStream) {
    throw new UsageError(
      `submit takes unary methods (${why}); ${name} is ${method.desc.methodKind.replace("_", "-")}`,
    );
  }
  return method;
}

/** Whether a job's document is a method job's (`submit SERVICE/METHOD`). */
export function isMethodJob(document: unknown): document is MethodJobDocument {
  return (document as MethodJobDocument | undefined)?.command === "method";
}

/** A method job's result as `rpcpool map` prints it: one line per input line; exit 1 if any failed. */
export async function printMethodResult(result: JobResult, command: Command): Promise<void> {
  const document = result.document as MethodJobDocument;
  const method = storedMethod(result.id, document, document.method);
  let failures = 0;
  const print = async (outcome: TaskResult<Message>, as: DescribedMethod) => {
    if (outcome.ok) return writeLine(as.replyToJson(outcome.value, { emitDefaults: document.emitDefaults }));
    failures++;
    return writeLine(errorLine(outcome.error.codeName, outcome.error.details));
  };
  try {
    for (const outcome of decodedOutcomes<Message>(result, method.spec)) await print(outcome, method);
    // With --then, one line more: the reduce step's reply (or why it did not run).
    if (result.reduce && document.reduce) {
      const reduce = storedMethod(result.id, document, document.reduce);
      await print(decodedOutcome<Message>(result.reduce, reduce.spec, result.outcomes.length), reduce);
    }
  } finally {
    await flushLines();
  }
  if (failures > 0) setExitCode(command, 1);
}

/** The method a job was submitted for, from the descriptors it keeps. */
function storedMethod(id: string, document: MethodJobDocument, path: string): DescribedMethod {
  const malformed = () =>
    new ClientError(
      Status.DATA_LOSS,
      `job ${id}: the descriptors of ${document.method} it keeps are malformed`,
    );
  try {
    const registry = registryOf(document.descriptors.map((text) => Buffer.from(text, "base64")));
    const { service, method } = parseMethodName(path);
    const desc = registry.getService(service)?.methods.find((m) => m.name === method);
    if (!desc) throw malformed();
    return describedMethod(desc, registry);
  } catch (error) {
    if (error instanceof ClientError) throw error;
    throw malformed();
  }
}
