import { Pool, type RunningServer, startServer } from "rpcpool";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WordsServiceDefinition } from "./gen/rpcpool/test/v1/words.js";
import { rpcpool } from "./support/run-program.js";
import { tempDir } from "./support/temp-dir.js";

// Inputs that fail while they are read (a generator that throws, a file that cannot be read) end
// the run with that very error, as a for-await loop over them would: never a run that "succeeds"
// with the inputs after the failure silently left out.

let server: RunningServer;
let pool: Pool;
const tmp = tempDir("rpcpool-input-failures-");

class SourceBroke extends Error {}

/** Two texts, then the source breaks. */
async function* breaking() {
  yield { text: "a b" };
  yield { text: "c" };
  throw new SourceBroke("the source broke after 2 inputs");
}

beforeAll(async () => {
  server = await startServer({
    port: 0,
    host: "127.0.0.1",
    workers: 1,
    services: [
      {
        definition: WordsServiceDefinition,
        implementation: {
          async count({ text }) {
            return { count: text.split(" ").length };
          },
          async *split() {},
          async total() {
            return {};
          },
          async *echo() {},
        },
      },
    ],
  });
  pool = await Pool.connect([server.address]);
});

afterAll(async () => {
  await pool?.close();
  await server?.close();
  tmp.cleanup();
});

describe("inputs that throw while read", () => {
  const words = () => pool.service(WordsServiceDefinition);

  it("map rejects with the inputs' own error", async () => {
    await expect(words().map("count", breaking())).rejects.toBeInstanceOf(SourceBroke);
  });

  it("imap yields what settled, then throws the inputs' own error", async () => {
    const counts: number[] = [];
    const read = async () => {
      for await (const reply of words().imap("count", breaking())) counts.push(reply.count);
    };
    await expect(read()).rejects.toBeInstanceOf(SourceBroke);
  });

  it("asCompleted throws the inputs' own error", async () => {
    const read = async () => {
      for await (const _ of words().asCompleted("count", breaking())) {
      }
    };
    await expect(read()).rejects.toBeInstanceOf(SourceBroke);
  });

  it("pool.map of a function rejects the same way", async () => {
    await expect(pool.map(breaking(), async (input) => input.text)).rejects.toBeInstanceOf(SourceBroke);
  });
});

describe("rpcpool map over an input that cannot be read", () => {
  it("exits 2 naming it, not 0 with nothing printed", async () => {
    const run = await rpcpool(["map", "rpcpool.compute.v1.ComputeService/Means", tmp.dir]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`cannot read ${tmp.dir}`);
  });
});
