import { percentile } from "./figures.js";

export type Caller = () => Promise<unknown>;

/**
 * Latency (µs) of calls one after another, and calls/s with `inFlight` at once, for several
 * callers measured in interleaved rounds: drift of a shared, noisy machine hits them alike.
 * `calls` in the result: how many each caller made one after another (count rounded up to rounds).
 */
export async function measure(
  callers: Caller[],
  count: number,
  inFlight: number,
  rounds = 10,
  warmup = 500,
  /** Calls of each round's burst at `inFlight` at once (default: as many as its calls one after another). */
  burst?: number,
) {
  for (const call of callers) for (let i = 0; i < warmup; i++) await call();
  const samples: number[][] = callers.map(() => []);
  const busyMs = callers.map(() => 0);
  /** Each round's calls/s with `inFlight` at once, per caller. */
  const rates: number[][] = callers.map(() => []);
  const cpuUs = callers.map(() => 0);
  const perRound = Math.ceil(count / rounds);
  const perBurst = burst ?? perRound;
  for (let round = 0; round < rounds; round++) {
    for (const [c, call] of callers.entries()) {
      const cpu = process.cpuUsage();
      for (let i = 0; i < perRound; i++) {
        const start = performance.now();
        await call();
        samples[c]!.push((performance.now() - start) * 1000);
      }
      const used = process.cpuUsage(cpu);
      cpuUs[c]! += used.user + used.system;
      const start = performance.now();
      let done = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (done < perBurst) {
            done++;
            await call();
          }
        }),
      );
      const took = performance.now() - start;
      busyMs[c]! += took;
      rates[c]!.push(perBurst / (took / 1000));
    }
  }
  return samples.map((list, c) => {
    list.sort((a, b) => a - b);
    return {
      p50: percentile(list, 50),
      p99: percentile(list, 99),
      /** Calls/s over all rounds together: what a drifting machine gave on average. */
      perSecond: (perBurst * rounds) / (busyMs[c]! / 1000),
      /**
       * The best round's calls/s: like the whole-process figures, each side's best run, so that
       * another process taking the shared cores for a moment does not decide the figure.
       */
      bestPerSecond: Math.max(...rates[c]!),
      medianPerSecond: percentile(
        rates[c]!.slice().sort((a, b) => a - b),
        50,
      ),
      calls: perRound * rounds,
      /** CPU this (client) process spent per sequential call. */
      cpuPerCall: cpuUs[c]! / (perRound * rounds),
    };
  });
}
