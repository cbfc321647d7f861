/** Words for why the cell in bytes[start, end) is not a number (the scanner found it was not). */
export function cellFault(bytes: Uint8Array, start: number, end: number, value: number): string {
  if (start === end) return "empty cell";
  for (let p = start; p < end; p++) {
    const c = bytes[p]!;
    if (c < 0x20 || c >= 0x7f) {
      if (c === 0x09) continue;
      return `byte 0x${c.toString(16).padStart(2, "0")} is not allowed`;
    }
  }
  const text =
    String.fromCharCode(...bytes.subarray(start, Math.min(end, start + 40))) +
    (end - start > 40 ? "..." : "");
  if (!Number.isNaN(value)) return `${JSON.stringify(text)} is out of float64 range`;
  if (/[ \t]/.test(text)) return `${JSON.stringify(text)} is not a number (a space inside a number)`;
  return `${JSON.stringify(text)} is not a number`;
}
