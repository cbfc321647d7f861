import type { MethodSpec } from "../rpc/method-spec.js";

/**
 * The methods as a host serves them: each reply completed with the proto's defaults for the
 * fields its handler left out (a reply may be partial: `{ count }` of a message that also has
 * `server` goes out with `server: ""`, not the "undefined" or NaN ts-proto's encoder would write),
 * and a reply that cannot be encoded reported in the server's log, naming the method and the first
 * field that fails (`acme.words.v1.WordsService/Count: reply field "count": ...`). grpc-js then
 * answers the call INTERNAL; without this the log said nothing and the client only
 * "Error serializing response".
 */
export function checkedReplies(
  methods: Record<string, MethodSpec>,
  log: (message: string) => void,
): Record<string, MethodSpec> {
  const checked: Record<string, MethodSpec> = {};
  for (const [key, spec] of Object.entries(methods)) checked[key] = checkedReply(spec, log);
  return checked;
}

function checkedReply(spec: MethodSpec, log: (message: string) => void): MethodSpec {
  const complete = spec.responseFromPartial ?? ((value: unknown) => value);
  const encode = (value: unknown) => spec.responseSerialize(complete(value));
  return {
    ...spec,
    responseSerialize: (value) => {
      try {
        return encode(value);
      } catch (error) {
        const message = `${spec.path.slice(1)}: ${failingPart(encode, value, error)}`;
        log(message);
        throw new Error(message, { cause: error });
      }
    },
  };
}

/** Which field of the reply cannot be encoded: each one tried alone, the others left out. */
function failingPart(encode: (value: unknown) => Buffer, value: unknown, error: unknown): string {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [field, fieldValue] of Object.entries(value)) {
      try {
        encode({ [field]: fieldValue });
      } catch (fieldError) {
        return `reply field "${field}": ${messageOf(fieldError)}`;
      }
    }
  }
  return `reply: ${messageOf(error)}`;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
