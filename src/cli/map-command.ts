import { existsSync } from "node:fs";
import type { Message } from "@bufbuild/protobuf";
import type { Command } from "commander";
import type { PoolEvent } from "../pool/outcome.js";
import type { ClientError } from "../rpc/client-error.js";
import type { GrpcServiceDefinition } from "../rpc/method-spec.js";
import { type DescribedCallOptions, requestOf } from "./call-command.js";
import { flushLines, inputLines, inputName, inputStream, writeLine } from "./json-lines.js";
import { commandMethod } from "./method-lookup.js";
import { poolFromOptions } from "./pool-from-options.js";
import { setExitCode, UsageError } from "./run-program.js";
import { noteTerminalStdin } from "./terminal-stdin.js";

export interface MapOptions extends DescribedCallOptions {
  unordered?: boolean;
  chunksize?: number;
  window?: number;
}

/** The line printed in place of a failed input's reply. */
function errorLine(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/**
 * `rpcpool map SERVICE/METHOD [FILE|-]`: JSON lines in, one request each, fanned out over the
 * pool (batched over BatchService, `chunksize` a round trip, with the pool's failover), one reply
 * a line out, in input order (or as they finish with --unordered). A line that fails, at the
 * server or because it is not a fitting request, prints `{"error":{...}}` in its place and the
 * run goes on; the exit code is then 1.
 *
 * Memory stays flat however long the input: lines are read as calls are made, and at most
 * `window` lines lie between the oldest one not yet printed and the newest read.
 */
export async function mapCommand(
  name: string,
  file: string | undefined,
  options: MapOptions,
  command: Command,
) {
  if (file !== undefined && file !== "-" && !existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const progress = progressLine();
  const pool = await poolFromOptions(options, progress.onEvent);
  try {
    const method = await commandMethod(name, pool.servers[0]!, options);
    const { spec } = method;
    if (spec.requestStream || spec.responseStream) {
      throw new UsageError(
        `map calls unary methods; ${name} is ${method.desc.methodKind.replace("_", "-")}: use rpcpool call`,
      );
    }
    const chunksize = options.chunksize ?? 64;
    const window = Math.max(options.window ?? Math.max(4096, 8 * chunksize * pool.slots()), chunksize);
    const service = pool.service({ [spec.name]: spec } as GrpcServiceDefinition);

    // Output in order: what is ready waits in `ready` (by sequence number) until its turn.
    const ready = new Map<number, string>();
    let next = 0;
    let advanced: (() => void) | undefined;
    let failures = 0;
    const settle = async (seq: number, text: string, failed: boolean) => {
      if (failed) failures++;
      progress.done(failed);
      if (options.unordered) return writeLine(text);
      ready.set(seq, text);
      for (let line = ready.get(next); line !== undefined; line = ready.get(next)) {
        ready.delete(next++);
        await writeLine(line);
      }
      advanced?.();
    };

    let read = 0;
    // Lines given to the pool: their sequence number by call index, and the reverse.
    const seqOf = new Map<number, number>();
    const callOf = new Map<number, number>();
    let fed = 0;
    // Whether the oldest line not yet printed is on its way: the pool sends whole chunks, so the
    // last `fed % chunksize` lines wait for more; waiting for one of them would never end.
    const oldestSent = () => (callOf.get(next) ?? fed) < fed - (fed % chunksize);
    const requests = async function* (): AsyncGenerator<Message> {
      if (file === undefined || file === "-") {
        noteTerminalStdin(`the requests (JSON lines of ${method.desc.input.typeName})`);
      }
      for await (const line of inputLines(inputStream(file), inputName(file))) {
        const seq = read++;
        // The window: wait while the oldest line not yet printed is too far behind.
        while (!options.unordered && seq - next >= window && oldestSent()) {
          await new Promise<void>((resolve) => {
            advanced = resolve;
          });
          advanced = undefined;
        }
        let request: Message;
        try {
          request = requestOf(method, line.text, `${inputName(file)}: line ${line.number}`);
        } catch (error) {
          await settle(seq, errorLine("INVALID_ARGUMENT", (error as Error).message), true);
          continue;
        }
        seqOf.set(fed, seq);
        callOf.set(seq, fed++);
        yield request;
      }
    };

    for await (const outcome of service.asCompleted(spec.name as never, requests(), {
      chunksize,
      window,
      timeoutMs: options.timeoutMs,
    })) {
      const seq = seqOf.get(outcome.index)!;
      seqOf.delete(outcome.index);
      callOf.delete(seq);
      if (outcome.ok) {
        await settle(
          seq,
          method.replyToJson(outcome.value as Message, { emitDefaults: options.emitDefaults }),
          false,
        );
      } else {
        const error = outcome.error as ClientError;
        await settle(seq, errorLine(error.codeName, error.details), true);
      }
    }
    if (failures > 0) setExitCode(command, 1);
  } finally {
    await flushLines();
    progress.stop();
    await pool.close();
  }
}

/**
 * Lines done (and failed) and the rate, redrawn on one line of stderr at most 5 times a second,
 * when stderr is a terminal and stdout is not (replies shown on the terminal would mix with it):
 * the input's length is not known ahead, so a count, not a bar.
 */
function progressLine(): { onEvent?: (event: PoolEvent) => void; done(failed: boolean): void; stop(): void } {
  if (!process.stderr.isTTY || process.stdout.isTTY) return { done() {}, stop() {} };
  const started = Date.now();
  let done = 0;
  let failed = 0;
  const draw = () => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    process.stderr.write(`\r\x1b[K${done} lines done, ${failed} failed, ${rate} lines/s`);
  };
  const timer = setInterval(draw, 200);
  timer.unref();
  return {
    done(f) {
      // The first line shows the count at once; the timer redraws it from then on.
      if (done++ === 0) draw();
      if (f) failed++;
    },
    stop() {
      clearInterval(timer);
      process.stderr.write("\r\x1b[K");
    },
  };
}
