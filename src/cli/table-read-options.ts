import { delimiterCharacter, type TableReadOptions } from "../client/table-input.js";
import { readOptionsFrom } from "../csv/read-options.js";
import { UsageError } from "./usage-error.js";

/** --delimiter/--decimal/--header as the client sends them, checked here so a typo is a usage error. */
export function tableReadOptions(options: {
  delimiter?: string;
  decimal?: string;
  header?: boolean;
}): TableReadOptions {
  const read = {
    delimiter: delimiterCharacter(options.delimiter) ?? ";",
    decimal: options.decimal ?? ".",
    header: options.header ?? false,
  };
  try {
    readOptionsFrom({ ...read, startsFile: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return read;
}
