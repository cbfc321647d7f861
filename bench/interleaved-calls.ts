import { percentile } from "./figures.js";

export type Caller = () => Promise<unknown>;

/**
 * Latency (µs) of calls one after another, and calls/s with `inFlight` at once, for several
 * callers measured in interleaved rounds: drift of a shared, noisy machine hits them alike.
 * `calls` in the result: how many each caller made one after another (count rounded up to rounds).
 */
export async function measure(callers: Caller[], count: number, inFlight: number, rounds = 10, warmup = 500) {
  for (const call of callers) for (let i = 0; i < warmup; i++) await call();
  const samples: number[][] = callers.map(() => []);
  const busyMs = callers.map(() => 0);
  const cpuUs = callers.map(() => 0);
  const perRound = Math.ceil(count / rounds);
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
          while (done < perRound) {
            done++;
            await call();
          }
        }),
      );
      busyMs[c]! += performance.now() - start;
    }
  }
  return samples.map((list, c) => {
    list.sort((a, b) => a - b);
    return {
      p50: percentile(list, 50),
      p99: percentile(list, 99),
      perSecond: (perRound * rounds) / (busyMs[c]! / 1000),
      calls: perRound * rounds,
      /** CPU this (client) process spent per sequential call. */
      cpuPerCall: cpuUs[c]! / (perRound * rounds),
    };
  });
}
