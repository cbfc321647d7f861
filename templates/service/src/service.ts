// The service: its handlers are plain functions, typed by the proto through ts-proto's generic
// definition. A misspelled method, request field or reply field is a compile error; a reply
// field left out reaches callers as its proto default ("" or 0), never undefined.
// Hosted by the stock server: `rpcpool-server --service dist/service.js` (npm start).
import { fileURLToPath } from "node:url";
import { defineService, ServerError, Status } from "rpcpool";
import { WordsServiceDefinition } from "./gen/words/v1/words.js";

/** The longest text one call takes: a server's memory is not a caller's to fill. */
const maxTextLength = 1_000_000;

// defineService types the handlers by the definition (ServiceImplementation<typeof
// WordsServiceDefinition>) and checks their replies: a method the proto does not have, a request
// field it does not have, or a reply field its message does not have (even beside valid ones,
// which an object annotated with ServiceImplementation alone lets through) does not compile.
const service = defineService(
  WordsServiceDefinition,
  {
    // Unary: one request, one reply.
    async count({ text }, { identity }) {
      const words = wordsOf(checked(text));
      // `longest` is left out when there is no word: callers get "".
      const longest = words.length === 0 ? undefined : words.reduce((a, b) => (b.length > a.length ? b : a));
      return { words: words.length, longest, server: identity.server };
    },
    // Server streaming: an async generator; each yield is one message. The signal aborts when the
    // caller cancels or its deadline passes.
    async *split({ text }, { signal }) {
      for (const [index, word] of wordsOf(checked(text)).entries()) {
        signal.throwIfAborted();
        yield { index, word };
      }
    },
  },
  {
    // For server reflection (`rpcpool call`, `rpcpool map`, grpcurl): the .proto file, found from
    // dist/ or src/ alike.
    protoFiles: ["words/v1/words.proto"],
    includeDirs: [fileURLToPath(new URL("../proto", import.meta.url))],
  },
);

/** `rpcpool-server --service dist/service.js` hosts the default export. */
export default service;

function checked(text: string): string {
  if (text.length > maxTextLength) {
    // Refused with a code the caller sees (INVALID_ARGUMENT), not as a server bug.
    throw new ServerError(
      Status.INVALID_ARGUMENT,
      `text of ${text.length} characters (at most ${maxTextLength})`,
    );
  }
  return text;
}

const wordsOf = (text: string) => text.split(/\s+/).filter((word) => word.length > 0);
