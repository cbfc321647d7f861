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
  const fill = spec.responseFromPartial;
  // Most replies are whole already (every field set): fromPartial would only copy them, a new
  // object and array per message, on every reply (a measurable share of a tiny batch item).
  const whole = fill ? wholeCheck(fill) : undefined;
  const complete = fill
    ? (value: unknown) => (whole!(value) ? value : fill(value))
    : (value: unknown) => value;
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

type Fill = (value: unknown) => unknown;
/** What `fromPartial` does with a field, found by calling it on probes (once, on first use). */
type FieldCheck = (fieldValue: unknown) => boolean;

/**
 * A test that `fill(value)` (ts-proto's `fromPartial`) would encode to the same bytes as `value`
 * itself, so that it can be skipped: every field that gets a default (scalars, bytes, lists) is
 * set, and every sub-message is whole too. What fill does with each field is learnt from fill
 * alone, by calling it on probes: `fill({})` gives the defaults; a field whose probe object comes
 * back as the same object is passed through as it is (an optional scalar, a date); one that
 * comes back as a new object is a sub-message, checked by the same means through
 * `x => fill({ [key]: x })[key]`. Anything else (maps, oneofs, 64-bit objects) is never taken as
 * whole: the reply then goes through fill as before, so a false "not whole" costs only time.
 */
export function wholeCheck(fill: Fill): (value: unknown) => boolean {
  let checks: [string, FieldCheck][] | undefined;
  return (value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
    checks ??= fieldChecks(fill);
    const record = value as Record<string, unknown>;
    for (const [key, check] of checks) if (!check(record[key])) return false;
    return true;
  };
}

const never: FieldCheck = () => false;
const isSet: FieldCheck = (v) => v !== undefined && v !== null;
/** `object.x ?? undefined`: null becomes undefined, which the encoder skips and null it would not. */
const notNull: FieldCheck = (v) => v !== null;

function fieldChecks(fill: Fill): [string, FieldCheck][] {
  const defaults = probe(fill, {});
  if (defaults === null || typeof defaults !== "object") return [["", never]];
  return Object.entries(defaults).map(([key, byDefault]) => [key, fieldCheck(fill, key, byDefault)]);
}

function fieldCheck(fill: Fill, key: string, byDefault: unknown): FieldCheck {
  const type = typeof byDefault;
  if (type === "string" || type === "number" || type === "boolean" || type === "bigint") return isSet;
  if (byDefault instanceof Uint8Array) return isSet;
  if (Array.isArray(byDefault)) {
    const item = {};
    const out = probe(fill, { [key]: [item] }) as Record<string, unknown[]> | undefined;
    const back = out?.[key]?.[0];
    if (back === item) return Array.isArray; // a list of scalars: copied as it is
    if (!isMessage(back)) return never;
    const whole = wholeCheck((x) => (fill({ [key]: [x] }) as Record<string, unknown[]>)[key]![0]);
    return (v) => Array.isArray(v) && v.every(whole);
  }
  if (byDefault !== undefined) return never; // a map, a Long: converted, never skipped
  const sub = {};
  const back = (probe(fill, { [key]: sub }) as Record<string, unknown> | undefined)?.[key];
  if (back === sub) return notNull; // passed through as it is (`object.x ?? undefined`)
  if (!isMessage(back)) return (v) => v === undefined; // a oneof or unknown: only when absent
  const whole = wholeCheck((x) => (fill({ [key]: x }) as Record<string, unknown>)[key]);
  // A sub-message left out stays out; one given must be whole itself (null would reach the encoder).
  return (v) => v === undefined || whole(v);
}

function probe(fill: Fill, value: unknown): unknown {
  try {
    return fill(value);
  } catch {
    return undefined;
  }
}

const isMessage = (v: unknown) =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array);

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
