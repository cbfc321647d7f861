/** The lesson's CPU-bound demo: count to `iterations` in a loop; the count is returned so it must run. */
export function spin(iterations: number): number {
  let count = 0;
  while (count < iterations) count++;
  return count;
}
