/**
 * mulberry32: a small seeded generator of numbers in [0, 1), for specs and the bench's tables,
 * so that a failing case or a generated table can be made again from its seed (Math.random
 * cannot be seeded).
 */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
