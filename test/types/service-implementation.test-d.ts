// Compile-time checks of ServiceImplementation, run by `npm run typecheck` (tsconfig includes test/):
// each `@ts-expect-error` line must be an error, or tsc reports the directive as unused. Nothing
// here runs; the runtime side is test/service-implementation.test.ts.
import { defineService, type HostedService, ServerError, type ServiceImplementation, Status } from "rpcpool";
import { WordsServiceDefinition } from "../gen/rpcpool/test/v1/words.js";

type Words = ServiceImplementation<typeof WordsServiceDefinition>;

// Every kind, written as plain functions; replies may leave fields out (nested ones too).
export const good: Words = {
  async count(request, context) {
    context.signal.throwIfAborted();
    context.log(`${context.peer} ${context.deadline?.toISOString()} ${context.identity.server}`);
    const text: string = request.text;
    return { count: text.length, longest: { word: "a" } };
  },
  async *split(request) {
    for (const word of request.text.split(" ")) yield { word };
  },
  async total(requests) {
    let count = 0;
    for await (const request of requests) count += request.text.length;
    return { count };
  },
  async *echo(requests) {
    for await (const word of requests) yield word;
  },
};

export const misspelledMethod: Words = {
  ...good,
  // @ts-expect-error: the definition has no method "cuont"
  async cuont() {
    return {};
  },
};

// @ts-expect-error: a method without a handler
export const missingMethod: Words = { count: good.count, split: good.split, total: good.total };

export const misspelledRequestField: Words = {
  ...good,
  async count(request) {
    // @ts-expect-error: CountRequest has no field "txt"
    return { count: request.txt.length };
  },
};

export const misspelledReplyField: Words = {
  ...good,
  // @ts-expect-error: CountReply has no field "cuont"
  async count() {
    return { cuont: 1 };
  },
};

export const wrongReplyType: Words = {
  ...good,
  // @ts-expect-error: count is an int32, not a string
  async count() {
    return { count: "three" };
  },
};

export const wrongNestedReplyType: Words = {
  ...good,
  // @ts-expect-error: length is an int32, not a string
  async *split() {
    yield { word: "a", length: "1" };
  },
};

export const streamWhereUnary: Words = {
  ...good,
  // @ts-expect-error: count is unary; a generator is not its handler
  async *count() {
    yield { count: 1 };
  },
};

// The hosted service: typed by its definition, through `satisfies` or defineService.
export const hosted = {
  definition: WordsServiceDefinition,
  implementation: (tools) => ({ ...good, count: async () => ({ server: tools.identity.server }) }),
  protoFiles: ["rpcpool/test/v1/words.proto"],
} satisfies HostedService<typeof WordsServiceDefinition>;

export const defined = defineService(WordsServiceDefinition, {
  ...good,
  async count(request, { identity }) {
    return { count: request.text.length, server: identity.server, longest: { word: "a" } };
  },
});

export const definedByFactory = defineService(WordsServiceDefinition, (tools) => ({
  ...good,
  async count() {
    return { server: tools.identity.server };
  },
}));

// A field beside the right ones: TypeScript checks no excess fields of a returned literal against
// a function type's reply, so only defineService (which infers the handlers' own replies) sees it.
// @ts-expect-error: "cuont" is not a field of CountReply
export const extraReplyField = defineService(WordsServiceDefinition, {
  ...good,
  async count() {
    return { count: 1, cuont: 2 };
  },
});

// @ts-expect-error: "lenght" is not a field of Word (nested in CountReply.longest)
export const extraNestedReplyField = defineService(WordsServiceDefinition, {
  ...good,
  async count() {
    return { count: 1, longest: { word: "a", lenght: 1 } };
  },
});

// @ts-expect-error: a streamed reply's fields are checked too
export const extraStreamedField = defineService(WordsServiceDefinition, {
  ...good,
  async *split() {
    yield { word: "a", lenght: 1 };
  },
});

export const wrongTypeInDefine = defineService(WordsServiceDefinition, {
  ...good,
  // @ts-expect-error: defineService checks the handlers' types against the definition
  async count() {
    return { count: "three" };
  },
});

export const refusal = new ServerError(Status.INVALID_ARGUMENT, "no words");
// @ts-expect-error: Status has the named codes only
export const noSuchCode = Status.INVALID_ARGUMNT;
