import { DOT, LOWER_E, MINUS, NINE, PLUS, UPPER_E, ZERO } from "./byte-codes.js";
import { eiselLemireDecimal } from "./eisel-lemire.js";

/** Powers of ten that float64 holds exactly: the fast path multiplies or divides by one of them. */
export const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/**
 * Digits gathered into the fast path's mantissa. Fifteen always fit a double; a sixteenth fits when
 * the mantissa stays below 2^53. That test is exact: ten times a 15-digit mantissa is an even
 * integer below 2^54, so it is a double, and adding the last digit rounds to 2^53 or above exactly
 * when the true mantissa is 2^53 or above. Float tables are mostly 15-17 significant digits: a
 * sixteenth digit keeps about half of the 16-digit cells off the slow path (a string and Number()).
 */
const MAX_FAST_DIGITS = 16;
const TWO_53 = 2 ** 53;

/**
 * Parses the decimal number in bytes[start, end) (no surrounding spaces), with `decimal` as the
 * decimal separator. Returns NaN when the bytes are not exactly one number in our grammar:
 * sign? (digits (sep digits?)? | sep digits) ([eE] sign? digits)?. Correctly rounded: exact for up
 * to 15 significant digits and a power of ten up to 22 (Clinger's fast path), else V8's own
 * correctly rounded Number() on the already validated text.
 */
export function parseNumber(bytes: Uint8Array, start: number, end: number, decimal: number): number {
  let p = start;
  let negative = false;
  let c = bytes[p];
  if (c === MINUS || c === PLUS) {
    negative = c === MINUS;
    p++;
  }
  let mantissa = 0;
  let significant = 0;
  let exponent = 0;
  let digits = 0;
  while (p < end && (c = bytes[p]!) >= ZERO && c <= NINE) {
    if (significant > 0 || c !== ZERO) {
      significant++;
      if (significant <= MAX_FAST_DIGITS) mantissa = mantissa * 10 + (c - ZERO);
      else exponent++;
    }
    digits++;
    p++;
  }
  if (p < end && bytes[p] === decimal) {
    p++;
    while (p < end && (c = bytes[p]!) >= ZERO && c <= NINE) {
      if (significant > 0 || c !== ZERO) {
        significant++;
        if (significant <= MAX_FAST_DIGITS) {
          mantissa = mantissa * 10 + (c - ZERO);
          exponent--;
        }
      } else exponent--;
      digits++;
      p++;
    }
  }
  if (digits === 0) return Number.NaN;
  let explicit = 0;
  if (p < end && ((c = bytes[p]!) === LOWER_E || c === UPPER_E)) {
    p++;
    let expNegative = false;
    if (p < end && ((c = bytes[p]!) === MINUS || c === PLUS)) {
      expNegative = c === MINUS;
      p++;
    }
    let e = 0;
    let expDigits = 0;
    while (p < end && (c = bytes[p]!) >= ZERO && c <= NINE) {
      if (e < 1e6) e = e * 10 + (c - ZERO);
      expDigits++;
      p++;
    }
    if (expDigits === 0) return Number.NaN;
    explicit = expNegative ? -e : e;
    exponent += explicit;
  }
  if (p !== end) return Number.NaN;
  let value: number;
  if (significant <= MAX_FAST_DIGITS && mantissa < TWO_53 && exponent >= -22 && exponent <= 22) {
    value = exponent >= 0 ? mantissa * POW10[exponent]! : mantissa / POW10[-exponent]!;
  } else {
    // Eisel-Lemire for up to 19 digits; what it cannot decide goes to Number().
    const digitsStart = negative || bytes[start] === PLUS ? start + 1 : start;
    value =
      eiselLemireDecimal(bytes, digitsStart, end, decimal, explicit) ?? slowParse(bytes, start, end, decimal);
  }
  return negative ? -value : value;
}

/**
 * The validated text through Number(), which V8 rounds correctly; the sign is applied by the caller.
 * The text is made in one piece: a string built a character at a time is a chain of cons strings,
 * some 30 bytes a digit, and a cell may be as long as a line (--max-line-bytes).
 */
function slowParse(bytes: Uint8Array, start: number, end: number, decimal: number): number {
  let p = start;
  if (bytes[p] === MINUS || bytes[p] === PLUS) p++;
  // Validated: only digits, one separator, an exponent's sign and letter, all ASCII.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + p, end - p).toString("latin1");
  return Number(decimal === DOT ? text : text.replace(String.fromCharCode(decimal), "."));
}
