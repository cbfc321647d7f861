// A client: counts the words of each line of stdin on a pool of servers, in input order.
//   node dist/client.js 127.0.0.1:50051,10.0.0.6:50051 < texts.txt
import { createInterface } from "node:readline";
import { Pool } from "rpcpool";
import { WordsServiceDefinition } from "./gen/words/v1/words.js";

const servers = (process.argv[2] ?? "127.0.0.1:50051").split(",");
const pool = await Pool.connect(servers);
try {
  const words = pool.service(WordsServiceDefinition); // typed by the proto
  const lines = createInterface({ input: process.stdin }); // read as they come: flat memory
  // imap: replies in input order, streamed; a failed server's calls move to another one.
  const requests = (async function* () {
    for await (const text of lines) yield { text };
  })();
  for await (const reply of words.imap("count", requests, { chunksize: 64 })) {
    process.stdout.write(`${reply.words}\t${reply.longest}\t${reply.server}\n`);
  }
} finally {
  await pool.close();
}
