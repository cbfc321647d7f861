import { COMMA, DOT } from "./byte-codes.js";

/**
 * The CSV dialect of a table, as a person gives it and as it travels (TableOptions): the one type
 * every layer uses, with one default (`defaultDialect`) and one normaliser (`tableDialect`).
 */
export interface TableDialect {
  /** Cell delimiter, one ASCII character; "\t" for tab. */
  delimiter: string;
  /** Decimal separator, "." or ",". */
  decimal: string;
  /** The first non-blank row of the file is a header: skip it (its names select columns). */
  header: boolean;
  /**
   * Columns to read, in the order given: a 1-based number (all digits) or a header name. Empty:
   * every column. See column-selection.ts.
   */
  columns: string[];
}

export const defaultDialect: Readonly<TableDialect> = Object.freeze({
  delimiter: ";",
  decimal: ".",
  header: false,
  columns: [],
});

/**
 * The dialect from what a person typed or a message carried: missing or empty fields take the
 * default; "tab" and "\t" (spelled out for shells) are a tab. Checked: RangeError in words for a
 * delimiter that could be part of a number, equal the decimal separator, or end a line.
 */
export function tableDialect(input: Partial<TableDialect> | undefined = {}): TableDialect {
  const typed = input.delimiter || defaultDialect.delimiter;
  const delimiter = typed.toLowerCase() === "tab" || typed === "\\t" ? "\t" : typed;
  const dialect: TableDialect = {
    delimiter,
    decimal: input.decimal || defaultDialect.decimal,
    header: input.header ?? defaultDialect.header,
    columns: [...(input.columns ?? [])],
  };
  bytesOf(dialect);
  return dialect;
}

/** How the scanner reads a table; bytes are the ASCII codes of the characters. */
export interface ReadOptions {
  /** Cell delimiter byte, default 0x3b (";"); 0x09 for tab. */
  delimiter: number;
  /** Decimal separator byte, 0x2e (".") or 0x2c (","). Must differ from the delimiter. */
  decimal: number;
  /** Skip the first non-blank row, when `startsFile`. */
  header: boolean;
  /** This piece starts the file: a UTF-8 BOM and the header are looked for only here. */
  startsFile: boolean;
  /** Widest row accepted; a wider one is refused at its first cell past the cap. Default: any. */
  maxColumns?: number;
  /**
   * Only these columns (0-based, in the order their values are handed on); the others are skipped
   * unparsed. Undefined: every column. Resolved from the dialect's `columns` (column-selection.ts).
   */
  select?: number[];
}

export type ReadOptionsInput = Partial<TableDialect> & { startsFile?: boolean };

/** The scanner's options for a dialect (checked as `tableDialect` checks it). */
export function readOptionsFrom(input: ReadOptionsInput): ReadOptions {
  const { delimiter, decimal } = bytesOf(tableDialect(input));
  return { delimiter, decimal, header: input.header ?? false, startsFile: input.startsFile ?? true };
}

function bytesOf(dialect: TableDialect): { delimiter: number; decimal: number } {
  const delimiter = singleAscii(dialect.delimiter, "delimiter");
  const decimalText = dialect.decimal;
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
  if (c === '"') throw new RangeError(`'"' cannot be a delimiter: it quotes cells`);
  if (
    delimiter === 0x0a ||
    delimiter === 0x0d ||
    delimiter < 0x09 ||
    (delimiter > 0x0d && delimiter < 0x20)
  ) {
    throw new RangeError(`${JSON.stringify(c)} cannot be a delimiter`);
  }
  return { delimiter, decimal };
}

function singleAscii(text: string, what: string): number {
  if (text.length !== 1 || text.charCodeAt(0) > 0x7e) {
    throw new RangeError(`the ${what} must be one ASCII character or "tab", not ${JSON.stringify(text)}`);
  }
  return text.charCodeAt(0);
}

export const defaultReadOptions: ReadOptions = readOptionsFrom({});
