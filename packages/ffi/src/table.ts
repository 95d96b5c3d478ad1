/**
 * A header followed by N entries, the shape of variable-length kernel and hypervisor tables
 * (`struct kvm_irq_routing` + `kvm_irq_routing_entry[nr]`, `mshv_user_irq_table` + entries): one
 * definition gives the byte size for N entries, the encoder (which writes the count itself) and a
 * decoder that refuses a count the buffer cannot hold.
 */
import { type FieldValues, type StructLayout, decodeStruct, encodeStruct, writeField } from './layout';

/**
 * A variable-length table made by {@link defineTable}: header fields `H` (bitfields `HB`) followed
 * by entries with fields `E` (bitfields `EB`), `entry.size` bytes apart. Frozen.
 */
export interface TableLayout<H extends string, E extends string, HB extends string = never, EB extends string = never> {
  /** The fixed part at byte 0 (e.g. `struct kvm_irq_routing`, whose `nr` counts the entries). */
  readonly header: StructLayout<H, HB>;
  /** One element of the array that follows (e.g. `struct kvm_irq_routing_entry`). */
  readonly entry: StructLayout<E, EB>;
  /** The header field that holds the number of entries. */
  readonly countField: H;
  /** Byte offset of entry 0 (the header's size unless the C type aligns the array further). */
  readonly entriesOffset: number;
  /** Bytes for a table of `n` entries. */
  sizeFor(n: number): number;
  /**
   * Writes the header at byte 0 of `view`: `countField` = `count`, the other fields from `values`
   * (zero when left out), padding zero. The entries are the caller's, at
   * `entriesOffset + i * entry.size`. RangeError for a negative or fractional `count`.
   */
  encodeHeader(view: DataView, count: number, values?: FieldValues<H, HB>): void;
  /** A new buffer: the header (with `countField` = entries.length) and each entry, zero elsewhere. */
  pack(header: FieldValues<H, HB>, entries: readonly FieldValues<E, EB>[]): Uint8Array;
  /** Decodes a table; RangeError when the count in the header exceeds what `bytes` holds. */
  decode(bytes: Uint8Array): {
    /** Every field and bitfield of the header, the count included. */
    header: Record<H | HB, number | bigint>;
    /** Every field and bitfield of each of the `countField` entries, in order. */
    entries: Record<E | EB, number | bigint>[];
  };
}

/**
 * Defines a table from its header and entry layouts. `spec.countField` names the header field the
 * encoder fills with the number of entries; `spec.entriesOffset` is the byte offset of entry 0
 * (default: `header.size`). Throws RangeError when `countField` is not a header field or
 * `entriesOffset` is not an integer at or past the end of the header.
 */
export function defineTable<H extends string, E extends string, HB extends string = never, EB extends string = never>(spec: {
  header: StructLayout<H, HB>;
  entry: StructLayout<E, EB>;
  countField: H;
  entriesOffset?: number;
}): TableLayout<H, E, HB, EB> {
  const { header, entry, countField } = spec;
  const entriesOffset = spec.entriesOffset ?? header.size;
  if (header.fields[countField] === undefined) throw new RangeError(`${header.cType} has no field ${countField}`);
  if (!Number.isInteger(entriesOffset) || entriesOffset < header.size) {
    throw new RangeError(`entries of ${header.cType} must start at or after byte ${header.size}, got ${entriesOffset}`);
  }
  const sizeFor = (n: number): number => {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`entry count must be a non-negative integer, got ${n}`);
    return entriesOffset + n * entry.size;
  };
  const encodeHeader = (view: DataView, count: number, values: FieldValues<H, HB> = {}): void => {
    sizeFor(count);
    encodeStruct(header, view, 0, values);
    writeField(view, 0, header.fields[countField], count);
  };
  return Object.freeze({
    header,
    entry,
    countField,
    entriesOffset,
    sizeFor,
    encodeHeader,
    pack(h: FieldValues<H, HB>, entries: readonly FieldValues<E, EB>[]): Uint8Array {
      const bytes = new Uint8Array(sizeFor(entries.length));
      const view = new DataView(bytes.buffer);
      encodeHeader(view, entries.length, h);
      entries.forEach((e, i) => encodeStruct(entry, view, entriesOffset + i * entry.size, e));
      return bytes;
    },
    decode(bytes: Uint8Array) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (bytes.byteLength < header.size) throw new RangeError(`${bytes.byteLength} bytes cannot hold ${header.cType} (${header.size} bytes)`);
      const h = decodeStruct(header, view, 0);
      const n = Number(h[countField]);
      if (sizeFor(n) > bytes.byteLength) {
        throw new RangeError(`${header.cType} says ${n} entries, but ${bytes.byteLength} bytes hold at most ${Math.floor((bytes.byteLength - entriesOffset) / entry.size)}`);
      }
      const entries = Array.from({ length: n }, (_, i) => decodeStruct(entry, view, entriesOffset + i * entry.size));
      return { header: h, entries };
    },
  });
}
