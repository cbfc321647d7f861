import { ExactSum } from "./exact-sum.js";

/**
 * The shape of proto message rpcpool.compute.v1.ExactSum (as ts-proto generates it), in which an
 * exact sum travels from a worker thread to the server's merger and from servers to a client that
 * merges the parts of a split file. The value is the exact sum of `partials` plus, for each band of
 * `scaled`, 2^exponent times the exact sum of its partials. Every double is finite.
 */
export interface ExactSumWire {
  partials: number[];
  scaled: Array<{ exponent: number; partials: number[] }>;
}

export function toWire(sum: ExactSum): ExactSumWire {
  const wire: ExactSumWire = { partials: [], scaled: [] };
  for (const band of sum.bands()) {
    if (band.exponent === 0) wire.partials = band.partials;
    else wire.scaled.push(band);
  }
  return wire;
}

/** Adds a wire sum into `sum`; a malformed one (a partial not finite, a wild exponent) is a RangeError. */
export function addWire(sum: ExactSum, wire: ExactSumWire): void {
  sum.addBand({ exponent: 0, partials: wire.partials });
  // An older peer sends no `scaled` at all.
  for (const band of wire.scaled ?? []) sum.addBand(band);
}

export function fromWire(wire: ExactSumWire): ExactSum {
  const sum = new ExactSum();
  addWire(sum, wire);
  return sum;
}

/** The exact sum of nothing, e.g. the weights of a part with no rows. */
export function emptyWire(): ExactSumWire {
  return { partials: [], scaled: [] };
}
