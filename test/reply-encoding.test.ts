import { describe, expect, it } from "vitest";
import {
  ColumnSumsRequest,
  ColumnSumsResponse,
  MeansResponse,
} from "../src/gen/rpcpool/compute/v1/compute.js";
import { InfoResponse } from "../src/gen/rpcpool/pool/v1/info.js";
import { checkedReplies } from "../src/host/reply-encoding.js";
import type { MethodSpec } from "../src/rpc/method-spec.js";

interface Type {
  encode(value: unknown): { finish(): Uint8Array };
  fromPartial(value: unknown): unknown;
}

/** A method replying with `type`, as methodsOf makes it, served as a host serves it. */
function served(type: Type) {
  const spec = {
    name: "m",
    path: "/t.T/M",
    idempotency: "UNKNOWN",
    requestStream: false,
    responseStream: false,
    requestSerialize: () => Buffer.alloc(0),
    requestDeserialize: () => ({}),
    responseSerialize: (value: unknown) => Buffer.from(type.encode(value).finish()),
    responseDeserialize: () => ({}),
    responseFromPartial: type.fromPartial,
  } as unknown as MethodSpec;
  const serialize = checkedReplies({ m: spec }, () => {}).m!.responseSerialize;
  return { serialize };
}

/** A small seeded generator (mulberry32): the same cases on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `whole` with fields left out or set to null at any depth, at random. */
function partialOf(whole: unknown, next: () => number): unknown {
  if (Array.isArray(whole)) return whole.map((item) => partialOf(item, next));
  if (whole === null || typeof whole !== "object" || whole instanceof Uint8Array) return whole;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(whole)) {
    const r = next();
    if (r < 0.25) continue;
    out[key] = r < 0.3 ? null : partialOf(value, next);
  }
  return out;
}

const servedBy = { server: "s", host: "h", pid: 7, threadId: 1 };
const cases: [string, Type, unknown][] = [
  ["MeansResponse", MeansResponse as Type, { means: [1.5, 2], servedBy }],
  [
    "ColumnSumsResponse (repeated sub-messages)",
    ColumnSumsResponse as Type,
    {
      rows: 3,
      columns: 2,
      sums: [1, 2],
      exact: [{ partials: [1], scaled: [{ exponent: -3, partials: [4, 5] }] }],
      servedBy,
      lines: 4,
      bytes: 10,
      columnNames: ["a", "b"],
    },
  ],
  [
    "InfoResponse (a map)",
    InfoResponse as Type,
    {
      ...servedBy,
      cores: 2,
      workers: 1,
      version: "1",
      methods: [{ path: "/a.B/C", idempotency: 1, clientStreaming: false, serverStreaming: true }],
      labels: { zone: "a" },
    },
  ],
  [
    "ColumnSumsRequest (a oneof, bytes)",
    ColumnSumsRequest as Type,
    { kind: { $case: "chunk", chunk: new Uint8Array([1, 2, 3]) } },
  ],
];

describe("replies completed with the proto's defaults", () => {
  for (const [name, type, sample] of cases) {
    it(`${name}: every partial form encodes as its fromPartial does`, () => {
      const { serialize } = served(type);
      const whole = type.fromPartial(sample);
      const next = random(21);
      for (let i = 0; i < 300; i++) {
        const value = i === 0 ? whole : partialOf(whole, next);
        const expected = Buffer.from(type.encode(type.fromPartial(value)).finish());
        expect(serialize(value), JSON.stringify(value)).toEqual(expected);
      }
    });
  }
});
