// `npm test`: the service hosted by a real server on a free port, called through a pool.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ClientError, Pool, type RunningServer, startServer } from "rpcpool";
import { WordsServiceDefinition } from "./gen/words/v1/words.js";
import service from "./service.js";

let server: RunningServer;
let pool: Pool;

before(async () => {
  server = await startServer({ port: 0, workers: 1, services: [service] });
  pool = await Pool.connect([server.address]);
});

after(async () => {
  await pool.close();
  await server.close();
});

test("count: the words of each text, in input order, with the server that counted them", async () => {
  const words = pool.service(WordsServiceDefinition);
  const replies = await words.map("count", [{ text: "to be or not to be" }, { text: "a bb ccc" }]);
  assert.deepEqual(
    replies.map((r) => [r.words, r.longest]),
    [
      [6, "not"],
      [3, "ccc"],
    ],
  );
  assert.equal(replies[0]!.server, server.name);
});

test("count: a reply field the handler left out arrives as its proto default", async () => {
  const reply = await pool.service(WordsServiceDefinition).apply("count", { text: "" });
  assert.deepEqual({ words: reply.words, longest: reply.longest }, { words: 0, longest: "" });
});

test("count: a refused request is INVALID_ARGUMENT, with the handler's message", async () => {
  await assert.rejects(
    pool.service(WordsServiceDefinition).apply("count", { text: "x".repeat(1_000_001) }),
    (error: unknown) => error instanceof ClientError && error.codeName === "INVALID_ARGUMENT",
  );
});

test("split: one message per word, streamed", async () => {
  const words: string[] = [];
  const split = pool.service(WordsServiceDefinition).serverStream("split", { text: "one two  three" });
  for await (const reply of split) {
    words.push(`${reply.index}:${reply.word}`);
  }
  assert.deepEqual(words, ["0:one", "1:two", "2:three"]);
});
