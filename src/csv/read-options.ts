import { COMMA, DOT, SEMICOLON, TAB } from "./byte-codes.js";

/** How to read a table; bytes are the ASCII codes of the characters. */
export interface ReadOptions {
  /** Cell delimiter byte, default 0x3b (";"); 0x09 for tab. */
  delimiter: number;
  /** Decimal separator byte, 0x2e (".") or 0x2c (","). Must differ from the delimiter. */
  decimal: number;
  /** Skip the first non-blank line, when `startsFile`. */
  header: boolean;
  /** This piece starts the file: a UTF-8 BOM and the header are looked for only here. */
  startsFile: boolean;
  /** Widest row accepted; a wider one is refused at its first cell past the cap. Default: any. */
  maxColumns?: number;
}

export interface ReadOptionsInput {
  delimiter?: string;
  decimal?: string;
  header?: boolean;
  startsFile?: boolean;
}

/**
 * Read options from the strings a user types: "tab", "\t" or a literal tab for tabs. A delimiter
 * that could be part of a number, or equal to the decimal separator, would make rows ambiguous.
 */
export function readOptionsFrom(input: ReadOptionsInput): ReadOptions {
  const delimiterText = input.delimiter ?? ";";
  const delimiter =
    delimiterText.toLowerCase() === "tab" || delimiterText === "\\t"
      ? TAB
      : singleAscii(delimiterText, "delimiter");
  const decimalText = input.decimal ?? ".";
  if (decimalText !== "." && decimalText !== ",") {
    throw new RangeError(`the decimal separator must be "." or ",", not ${JSON.stringify(decimalText)}`);
  }
  const decimal = decimalText === "," ? COMMA : DOT;
  if (delimiter === decimal) {
    throw new RangeError(
      `the delimiter and the decimal separator must differ (both ${JSON.stringify(decimalText)})`,
    );
  }
  const c = String.fromCharCode(delimiter);
  if (/[0-9eE+\- .,]/.test(c) && !(c === "," && decimal === DOT) && !(c === "." && decimal === COMMA)) {
    throw new RangeError(`${JSON.stringify(c)} cannot be a delimiter: it can be part of a number`);
  }
  if (
    delimiter === 0x0a ||
    delimiter === 0x0d ||
    delimiter < 0x09 ||
    (delimiter > 0x0d && delimiter < 0x20)
  ) {
    throw new RangeError(`${JSON.stringify(c)} cannot be a delimiter`);
  }
  return { delimiter, decimal, header: input.header ?? false, startsFile: input.startsFile ?? true };
}

function singleAscii(text: string, what: string): number {
  if (text.length !== 1 || text.charCodeAt(0) > 0x7e) {
    throw new RangeError(`the ${what} must be one ASCII character or "tab", not ${JSON.stringify(text)}`);
  }
  return text.charCodeAt(0);
}

export const defaultReadOptions: ReadOptions = {
  delimiter: SEMICOLON,
  decimal: DOT,
  header: false,
  startsFile: true,
};
