/**
 * An MSI written into a hypervisor's argument struct, described as data: which field of the struct
 * receives which word of the message, which bits of it, or a constant. Worker threads that inject
 * (the Linux epoll relay, the WHP waiter) receive such a description instead of code, so they need
 * no module on disk, and {@link encodeMsiFields} is the one encoder they all run.
 */
import { invalidArgument } from '../errors';
import { describeValue } from '../validate';
import { MSI_BITS, type MsiFieldName, type MsiWord } from './codec';

/** `width` bits (1-32) from bit `shift` of the message word `from`, placed at bit `at` of the field. */
export interface MsiBitsSource {
  /** The message word the bits come from. */
  readonly from: MsiWord;
  /** Lowest bit taken, 0-based. */
  readonly shift: number;
  /** Bits taken, 1 to 32. */
  readonly width: number;
  /** Where they go in the field: its bit `at` receives bit `shift`. */
  readonly at: number;
}

/**
 * What a field receives: a word of the message, the 64-bit `address` (`addressHi:addressLo`), a
 * constant (a non-negative safe integer), or bits of the message OR-ed together.
 */
export type MsiFieldValue =
  | MsiWord
  | 'address'
  | number
  | {
      /** OR-ed together into the field. */
      readonly bits: readonly MsiBitsSource[];
    };

/** One field of a struct: its byte offset, its little-endian width, and what it receives. */
export interface MsiStructField {
  /** Byte offset in the struct. */
  readonly offset: number;
  /** Little-endian width. */
  readonly type: 'u8' | 'u16' | 'u32' | 'u64';
  /** What the field receives. */
  readonly value: MsiFieldValue;
}

const FIELD_BITS = { u8: 8, u16: 16, u32: 32, u64: 64 } as const;

/**
 * A field of {@link MSI_BITS} placed at bit `at` of a struct field: `msiBits('vector')`,
 * `msiBits('triggerMode', 32)`.
 */
export function msiBits(name: MsiFieldName, at = 0): MsiBitsSource {
  const range = MSI_BITS[name];
  if (range === undefined) throw invalidArgument('msiBits', `unknown MSI field ${describeValue(name)}`);
  return Object.freeze({ from: range.word, shift: range.shift, width: range.width, at });
}

/**
 * Checks a list of fields for a struct of `size` bytes; returns a frozen copy (each field read
 * once). INVALID_ARGUMENT, naming `what`, for a field outside the struct, an unknown type or value,
 * a constant or bit range that does not fit its field.
 */
export function checkMsiStructFields(operation: string, what: string, raw: unknown, size: number): readonly MsiStructField[] {
  const bad = (detail: string) => invalidArgument(operation, `${what}${detail}`);
  if (!Array.isArray(raw) || raw.length === 0) throw bad(` must be a non-empty array, got ${describeValue(raw)}`);
  const fields = (raw as unknown[]).map((f, i): MsiStructField => {
    if (typeof f !== 'object' || f === null) throw bad(`[${i}] must be an object, got ${describeValue(f)}`);
    const { offset, type, value } = f as Record<string, unknown>;
    if (type !== 'u8' && type !== 'u16' && type !== 'u32' && type !== 'u64') throw bad(`[${i}].type must be u8, u16, u32 or u64, got ${describeValue(type)}`);
    const bits = FIELD_BITS[type];
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset + bits / 8 > size) {
      throw bad(`[${i}].offset must be an integer from 0 to ${size - bits / 8} (a ${type} inside ${size} bytes), got ${describeValue(offset)}`);
    }
    if (value === 'addressLo' || value === 'addressHi' || value === 'data' || value === 'address') {
      if (bits < (value === 'address' ? 64 : 32)) throw bad(`[${i}]: ${value} does not fit a ${type}`);
      return Object.freeze({ offset, type, value });
    }
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value) || value < 0 || (bits < 64 && value >= 2 ** bits)) throw bad(`[${i}].value ${describeValue(value)} is not a constant that fits a ${type}`);
      return Object.freeze({ offset, type, value });
    }
    const parts = typeof value === 'object' && value !== null ? (value as { bits?: unknown }).bits : undefined;
    if (!Array.isArray(parts) || parts.length === 0) {
      throw bad(`[${i}].value must be addressLo, addressHi, data, address, a non-negative integer or { bits: [...] }, got ${describeValue(value)}`);
    }
    const checked = (parts as unknown[]).map((p, j) => {
      const s = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
      const ok =
        (s.from === 'addressLo' || s.from === 'addressHi' || s.from === 'data') &&
        [s.shift, s.width, s.at].every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0) &&
        (s.width as number) >= 1 &&
        (s.shift as number) + (s.width as number) <= 32 &&
        (s.at as number) + (s.width as number) <= bits;
      if (!ok) throw bad(`[${i}].value.bits[${j}] must be { from, shift, width, at } inside a 32-bit word and a ${type}, got ${describeValue(p)}`);
      return Object.freeze({ from: s.from as MsiWord, shift: s.shift as number, width: s.width as number, at: s.at as number });
    });
    return Object.freeze({ offset, type, value: Object.freeze({ bits: Object.freeze(checked) }) });
  });
  return Object.freeze(fields);
}

/**
 * Writes the message `(lo, hi, data)` into `view` as `fields` say (little-endian). The fields must
 * have passed {@link checkMsiStructFields}. Allocates nothing; has no free variables, so a worker
 * thread can run it from its source text.
 */
export function encodeMsiFields(view: DataView, fields: readonly MsiStructField[], lo: number, hi: number, data: number): void {
  const TWO_32 = 0x1_0000_0000;
  for (const f of fields) {
    const v = f.value;
    let low = 0;
    let high = 0;
    if (v === 'addressLo') low = lo;
    else if (v === 'addressHi') low = hi;
    else if (v === 'data') low = data;
    else if (v === 'address') {
      low = lo;
      high = hi;
    } else if (typeof v === 'number') {
      low = v % TWO_32;
      high = Math.floor(v / TWO_32);
    } else {
      for (const b of v.bits) {
        const w = b.from === 'addressLo' ? lo : b.from === 'addressHi' ? hi : data;
        const x = b.width === 32 ? w >>> b.shift : (w >>> b.shift) & ((1 << b.width) - 1);
        if (b.at >= 32) high |= x << (b.at - 32);
        else {
          low |= x << b.at;
          if (b.at + b.width > 32) high |= x >>> (32 - b.at);
        }
      }
    }
    if (f.type === 'u8') view.setUint8(f.offset, low & 0xff);
    else if (f.type === 'u16') view.setUint16(f.offset, low & 0xffff, true);
    else if (f.type === 'u32') view.setUint32(f.offset, low >>> 0, true);
    else {
      view.setUint32(f.offset, low >>> 0, true);
      view.setUint32(f.offset + 4, high >>> 0, true);
    }
  }
}
