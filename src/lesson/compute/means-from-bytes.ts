import { ExactSum } from "../../exact/exact-sum.js";
import { meanOfList, RefusedInput } from "./small-computations.js";

// MeansRequest { repeated NumberList lists = 1; }  NumberList { repeated double values = 1; }
const LEN = 2;
const I64 = 1;

/**
 * The means of a MeansRequest's lists, read straight from its bytes. Decoded into messages, 800,000
 * lists of three are some 120 MB of objects for a 22 MB request; read in place, each list is a
 * view of its bytes, averaged and dropped. The values may come packed (as every proto3 encoder
 * sends them) or one by one; fields this version does not know are skipped, as a decoder would.
 */
export function meansFromBytes(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = new WireReader(view);
  const means: number[] = [];
  // One sum and one list of values for all the lists: nothing is allocated per list.
  const sum = new ExactSum();
  const values: number[] = [];
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === 1 && wire === LEN) {
      const end = reader.lengthEnd();
      readValues(new WireReader(view, reader.at, end), values);
      means.push(meanOfList(values, means.length, sum));
      reader.at = end;
    } else reader.skip(wire);
  }
  return means;
}

/** A NumberList's values, packed runs and single ones alike, in order, into `values` (emptied first). */
function readValues(reader: WireReader, values: number[]): void {
  values.length = 0;
  while (!reader.done) {
    const { field, wire } = reader.tag();
    if (field === 1 && wire === LEN) {
      const end = reader.lengthEnd();
      if ((end - reader.at) % 8 !== 0) throw new RefusedInput("a list's packed values are not whole doubles");
      for (; reader.at < end; reader.at += 8) values.push(reader.view.getFloat64(reader.at, true));
    } else if (field === 1 && wire === I64) {
      values.push(reader.double());
    } else reader.skip(wire);
  }
}

/** Protobuf's wire format over [at, end) of a view: tags, varints, lengths, skips. */
class WireReader {
  constructor(
    readonly view: DataView,
    public at = 0,
    readonly end = view.byteLength,
  ) {}

  get done(): boolean {
    return this.at >= this.end;
  }

  tag(): { field: number; wire: number } {
    const tag = this.varint();
    return { field: Math.floor(tag / 8), wire: tag % 8 };
  }

  varint(): number {
    let value = 0;
    for (let shift = 1; shift < 2 ** 63; shift *= 128) {
      if (this.at >= this.end) throw malformed();
      const byte = this.view.getUint8(this.at++);
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) return value;
    }
    throw malformed();
  }

  /** Reads a length and returns where its bytes end. */
  lengthEnd(): number {
    const length = this.varint();
    const end = this.at + length;
    if (end > this.end) throw malformed();
    return end;
  }

  double(): number {
    if (this.at + 8 > this.end) throw malformed();
    const value = this.view.getFloat64(this.at, true);
    this.at += 8;
    return value;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === I64) this.at += 8;
    else if (wire === LEN) this.at = this.lengthEnd();
    else if (wire === 5) this.at += 4;
    else throw malformed();
    if (this.at > this.end) throw malformed();
  }
}

function malformed(): RefusedInput {
  return new RefusedInput("the request is not a well-formed MeansRequest");
}
