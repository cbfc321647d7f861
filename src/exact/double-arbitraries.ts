/**
 * fast-check arbitraries for specs: doubles from the whole float64 range, biased to where exact
 * arithmetic breaks (subnormals, the neighbours of MAX_VALUE, the limits of Dekker's product and
 * of ExactSum's unscaled band) and mixed with ordinary values so that sums cancel.
 */
import fc from "fast-check";

const MAX = Number.MAX_VALUE;
const MIN_NORMAL = 2 ** -1022;

const signed = (arbitrary: fc.Arbitrary<number>) =>
  fc.tuple(arbitrary, fc.boolean()).map(([x, negative]) => (negative ? -x : x));

/** Mantissa 1 + k * 2^-52 for small k, or one just below 2 (all ones and nearly). */
const mantissa = fc.oneof(
  fc.nat({ max: 1 << 20 }).map((k) => 1 + k * 2 ** -52),
  fc.nat({ max: 1 << 20 }).map((k) => 2 - (k + 1) * 2 ** -52),
);

/** Exponents where the code under test changes paths, and those next to them. */
const edges = [-1074, -1073, -1023, -1022, -1021, -970, -969, -961, -960, -959, -300, 0, 52, 53];
const edgeExponent = fc.oneof(
  fc.constantFrom(...edges, 299, 300, 301, 959, 960, 961, 994, 995, 996, 1021, 1022, 1023),
  fc.integer({ min: -1074, max: 1023 }),
);

/** Any double but NaN and ±Infinity, as fast-check spreads them (every exponent alike). */
export const anyDouble = fc.double({ noNaN: true, noDefaultInfinity: true });

export const subnormal = signed(fc.double({ min: 0, max: MIN_NORMAL, noNaN: true }));

/** MAX_VALUE and the doubles just below it. */
export const nearOverflow = signed(fc.nat({ max: 1 << 20 }).map((k) => MAX - k * 2 ** 971));

/** m * 2^e: around powers of two at the edges of the paths (rounded where that is subnormal). */
export const aroundEdges = signed(
  fc.tuple(mantissa, edgeExponent).map(([m, e]) => {
    const scaled = e >= -1022 ? m * 2 ** e : m * 2 ** -1022 * 2 ** (e + 1022);
    return Number.isFinite(scaled) ? scaled : MAX;
  }),
);

/** Decimal-looking values, the common case, which cancel the others in sums. */
export const ordinary = fc.integer({ min: -100_000, max: 100_000 }).map((i) => i / 100);

/** Every kind above, in one draw. */
export const wholeRange = fc.oneof(
  { arbitrary: anyDouble, weight: 3 },
  { arbitrary: subnormal, weight: 1 },
  { arbitrary: nearOverflow, weight: 2 },
  { arbitrary: aroundEdges, weight: 3 },
  { arbitrary: ordinary, weight: 1 },
);

/** Cut points splitting a list of length n into consecutive runs (some empty), in any number. */
export function cutInto<T>(items: readonly T[], cuts: readonly number[]): T[][] {
  const points = cuts.map((c) => c % (items.length + 1)).sort((a, b) => a - b);
  const runs: T[][] = [];
  let from = 0;
  for (const to of [...points, items.length]) {
    runs.push(items.slice(from, to));
    from = to;
  }
  return runs;
}

/** The items in the order given by sorting on keys (a random merge order). */
export function shuffled<T>(items: readonly T[], keys: readonly number[]): T[] {
  return items
    .map((item, i) => ({ item, key: (keys[i % keys.length] ?? 0) * 1000 + i }))
    .sort((a, b) => a.key - b.key)
    .map((entry) => entry.item);
}
