/**
 * Declarative C struct layouts: one definition per ABI struct, used both to encode/decode with a
 * DataView and to generate the C program that checks it against the real header.
 *
 * A layout has byte-addressed fields and, optionally, bitfields: named bit ranges inside one of its
 * integer fields (C bitfields such as WHP's `UINT64 Type : 8`). Another layout can be placed inside
 * it at an offset ({@link embedLayout}), so a union member or nested struct is defined once.
 */
/**
 * The C type of a field: unsigned 8/16/32/64-bit or signed 32-bit integer, 1, 2, 4, 4 and 8 bytes
 * wide, always little-endian (as on x86_64). A `u64` field reads as a `bigint`, the others as a
 * `number`.
 */
export type FieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64';

const WIDTH: Readonly<Record<FieldType, number>> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8 };

/** One byte-addressed member of a C struct, as passed to {@link defineLayout}. */
export interface FieldDef {
  /** Byte offset from the start of the struct (`offsetof` in C). */
  readonly offset: number;
  /** The member's C type; fixes its width in bytes ({@link fieldWidth}). */
  readonly type: FieldType;
  /** The member designator in C (`u.msi.address_lo`); default: the field's name. */
  readonly c?: string;
  /**
   * Set when the word has no C member of its own (it holds only bitfields, as in
   * `struct { UINT64 Type : 8; ... }`): the C check then tests its bitfields instead of `offsetof`.
   */
  readonly bitfieldsOnly?: boolean;
}

/** A named bit range inside an integer field of the same layout (little-endian bit numbering). */
export interface BitfieldDef<F extends string = string> {
  /** The integer field that holds the bits. */
  readonly field: F;
  /** Lowest bit, 0-based. */
  readonly bit: number;
  /** Number of bits, at least 1. */
  readonly width: number;
  /** The C designator of the bitfield member; default: the bitfield's name. */
  readonly c?: string;
}

/**
 * A checked, frozen C struct layout made by {@link defineLayout}: field names `F` and bitfield
 * names `B`. The same object drives {@link encodeStruct}/{@link decodeStruct} and
 * {@link generateCCheck}, so the C check tests exactly what the code encodes.
 */
export interface StructLayout<F extends string = string, B extends string = never> {
  /** The C type, e.g. `struct kvm_irqfd`. */
  readonly cType: string;
  /** `sizeof` the C type, in bytes, trailing padding included. */
  readonly size: number;
  /** Fields by name, with every default filled in (`c` = the name, `bitfieldsOnly` = false). */
  readonly fields: Readonly<Record<F, Required<FieldDef>>>;
  /** Bitfields, by name (empty for a layout without any). */
  readonly bits: Readonly<Record<B, Required<BitfieldDef<F>>>>;
}

/**
 * Values to encode, by field or bitfield name; a name left out encodes as zero. `u64` fields take
 * a `bigint` or a `number`; a bitfield value must fit its width ({@link encodeBits}).
 */
export type FieldValues<F extends string, B extends string = never> = Partial<Record<F | B, number | bigint>>;

/**
 * Refuses, with a RangeError naming `where`, a `type` that is not a {@link FieldType}: a plain
 * JavaScript caller (or a cast) can pass any string, and an unknown width would make every offset
 * after it NaN.
 */
export function checkFieldType(where: string, type: unknown): asserts type is FieldType {
  if (typeof type !== 'string' || !Object.hasOwn(WIDTH, type)) {
    throw new RangeError(`${where}: type ${JSON.stringify(type)} is not one of ${Object.keys(WIDTH).join(', ')}`);
  }
}

/** The width in bytes of a field of C type `type` (1 for `u8` up to 8 for `u64`). */
export function fieldWidth(type: FieldType): number {
  return WIDTH[type];
}

const FIELD_KEYS: ReadonlySet<string> = new Set(['offset', 'type', 'c', 'bitfieldsOnly']);
const BIT_KEYS: ReadonlySet<string> = new Set(['field', 'bit', 'width', 'c']);
/** A C type name as the generated check program spells it (`struct kvm_irqfd`, `WHV_TRIGGER_PARAMETERS`): nothing else reaches the C source. */
const C_TYPE = /^(?:(?:struct|union) )?[A-Za-z_][A-Za-z0-9_]*$/;

/** Refuses a name that would not be an own property of a plain object (`__proto__` sets the prototype instead). */
function checkName(where: string, name: string): void {
  if (name === '__proto__') throw new RangeError(`${where}: the name __proto__ cannot be a field or bitfield name`);
}

/**
 * Defines a layout. Throws RangeError for a `cType` that is not a C type name (`struct x`, `union
 * x` or an identifier), a field that is not an object or has a key other than `offset`, `type`,
 * `c` and `bitfieldsOnly`, a `type` that is not a {@link FieldType}, a field that does not fit
 * `size`, a bitfield with another key than `field`, `bit`, `width` and `c`, named like a field, or
 * outside its word, two bitfields that overlap, or a name `__proto__`.
 */
export function defineLayout<F extends string, B extends string = never>(
  cType: string,
  size: number,
  fields: Record<F, FieldDef>,
  bits?: Record<B, BitfieldDef<NoInfer<F>>>,
): StructLayout<F, B> {
  if (typeof cType !== 'string' || !C_TYPE.test(cType)) throw new RangeError(`${JSON.stringify(cType)} is not a C type name (struct x, union x, or an identifier)`);
  const out = {} as Record<F, Required<FieldDef>>;
  for (const name of Object.keys(fields) as F[]) {
    checkName(`${cType}.${name}`, name);
    const given: unknown = fields[name];
    if (typeof given !== 'object' || given === null) throw new RangeError(`${cType}.${name}: ${String(given)} is not a field ({ offset, type })`);
    const unknown = Object.keys(given).filter((k) => !FIELD_KEYS.has(k));
    if (unknown.length > 0) throw new RangeError(`${cType}.${name}: unknown key ${unknown.join(', ')}; a field takes ${[...FIELD_KEYS].join(', ')}`);
    const f = given as FieldDef;
    checkFieldType(`${cType}.${name}`, f.type);
    if (!Number.isInteger(f.offset) || f.offset < 0 || f.offset + WIDTH[f.type] > size) {
      throw new RangeError(`${cType}.${name}: offset ${f.offset} + ${WIDTH[f.type]} exceeds the size ${size}`);
    }
    out[name] = Object.freeze({ offset: f.offset, type: f.type, c: f.c ?? name, bitfieldsOnly: f.bitfieldsOnly ?? false });
  }
  const outBits = {} as Record<B, Required<BitfieldDef<F>>>;
  const used = new Map<string, bigint>();
  for (const name of Object.keys(bits ?? {}) as B[]) {
    checkName(`${cType}.${name}`, name);
    const b = (bits as Record<B, BitfieldDef<F>>)[name];
    if (typeof b !== 'object' || b === null) throw new RangeError(`${cType}.${name}: ${String(b)} is not a bitfield ({ field, bit, width })`);
    const unknown = Object.keys(b).filter((k) => !BIT_KEYS.has(k));
    if (unknown.length > 0) throw new RangeError(`${cType}.${name}: unknown key ${unknown.join(', ')}; a bitfield takes ${[...BIT_KEYS].join(', ')}`);
    if (Object.hasOwn(out, name)) throw new RangeError(`${cType}.${name}: a bitfield named like a field; rename one (encoding would write both)`);
    const word = out[b.field];
    if (word === undefined) throw new RangeError(`${cType}.${name}: bitfield of unknown field ${String(b.field)}`);
    if (!Number.isInteger(b.bit) || !Number.isInteger(b.width) || b.bit < 0 || b.width < 1 || b.bit + b.width > WIDTH[word.type] * 8) {
      throw new RangeError(`${cType}.${name}: bits ${b.bit}+${b.width} do not fit the ${WIDTH[word.type] * 8}-bit field ${b.field}`);
    }
    const mask = ((1n << BigInt(b.width)) - 1n) << BigInt(b.bit);
    const taken = used.get(b.field) ?? 0n;
    if (taken & mask) throw new RangeError(`${cType}.${name}: bits ${b.bit}+${b.width} overlap another bitfield of ${b.field}`);
    used.set(b.field, taken | mask);
    outBits[name] = Object.freeze({ field: b.field, bit: b.bit, width: b.width, c: b.c ?? name });
  }
  return Object.freeze({ cType, size, fields: Object.freeze(out), bits: Object.freeze(outBits) });
}

/**
 * The fields and bitfields of `inner`, placed at byte `offset` of an outer layout, named
 * `${prefix}.${name}` with C designators `${prefix}.${c}` (a struct or union member named `prefix`).
 * Spread the result into {@link defineLayout}:
 *
 * ```ts
 * const e = embedLayout('Interrupt', WHV_INTERRUPT_CONTROL, 8);
 * defineLayout('WHV_TRIGGER_PARAMETERS', 32, { TriggerType: { offset: 0, type: 'u32' }, ...e.fields }, e.bits);
 * ```
 */
export function embedLayout<P extends string, F extends string, B extends string>(
  prefix: P,
  inner: StructLayout<F, B>,
  offset: number,
): {
  /** Each field of `inner`, renamed `${prefix}.${name}`, its offset moved by `offset`. */
  fields: Record<`${P}.${F}`, FieldDef>;
  /** Each bitfield of `inner`, renamed `${prefix}.${name}`, in the renamed word it lives in. */
  bits: Record<`${P}.${B}`, BitfieldDef<`${P}.${F}`>>;
} {
  const fields = {} as Record<`${P}.${F}`, FieldDef>;
  for (const name of Object.keys(inner.fields) as F[]) {
    const f = inner.fields[name];
    fields[`${prefix}.${name}`] = { offset: offset + f.offset, type: f.type, c: `${prefix}.${f.c}`, bitfieldsOnly: f.bitfieldsOnly };
  }
  const bits = {} as Record<`${P}.${B}`, BitfieldDef<`${P}.${F}`>>;
  for (const name of Object.keys(inner.bits) as B[]) {
    const b = inner.bits[name];
    bits[`${prefix}.${name}`] = { field: `${prefix}.${b.field}`, bit: b.bit, width: b.width, c: `${prefix}.${b.c}` };
  }
  return { fields, bits };
}

/** Writes one field at `base` (little-endian, as x86_64). */
export function writeField(view: DataView, base: number, field: FieldDef, value: number | bigint): void {
  const at = base + field.offset;
  switch (field.type) {
    case 'u8':
      view.setUint8(at, Number(value));
      return;
    case 'u16':
      view.setUint16(at, Number(value), true);
      return;
    case 'u32':
      view.setUint32(at, Number(value) >>> 0, true);
      return;
    case 'i32':
      view.setInt32(at, Number(value) | 0, true);
      return;
    case 'u64':
      view.setBigUint64(at, BigInt(value), true);
      return;
  }
}

/** Reads one field at `base` (little-endian): a `bigint` for a `u64` field, a `number` for the others. */
export function readField(view: DataView, base: number, field: FieldDef): number | bigint {
  const at = base + field.offset;
  switch (field.type) {
    case 'u8':
      return view.getUint8(at);
    case 'u16':
      return view.getUint16(at, true);
    case 'u32':
      return view.getUint32(at, true);
    case 'i32':
      return view.getInt32(at, true);
    case 'u64':
      return view.getBigUint64(at, true);
  }
}

/**
 * Places `value` in the bit range of `b` inside `word` and returns the new word. RangeError when
 * `value` does not fit the width (a value is never truncated silently).
 */
export function encodeBits(word: bigint, b: Pick<BitfieldDef, 'bit' | 'width'>, value: number | bigint): bigint {
  const v = BigInt(value);
  const max = (1n << BigInt(b.width)) - 1n;
  if (v < 0n || v > max) throw new RangeError(`value ${v} does not fit a ${b.width}-bit field`);
  return (word & ~(max << BigInt(b.bit))) | (v << BigInt(b.bit));
}

/** The value of bit range `b` of `word`. */
export function decodeBits(word: bigint, b: Pick<BitfieldDef, 'bit' | 'width'>): number {
  return Number((word >> BigInt(b.bit)) & ((1n << BigInt(b.width)) - 1n));
}

/**
 * Zeroes the struct at `base`, then writes the given fields and bitfields (padding and unnamed bits
 * stay zero, as kernels and hypervisors require of reserved bits). A bitfield value overrides the
 * bits of its word given as a field. Every value is checked before anything is written: one that is
 * not an integer (number or bigint) or does not fit its member is a RangeError naming the struct and
 * the member, and the bytes at `base` are left as they were. Keys that are not members are ignored.
 */
export function encodeStruct<F extends string, B extends string = never>(
  layout: StructLayout<F, B>,
  view: DataView,
  base: number,
  values: FieldValues<F, B>,
): void {
  const vals = values as Partial<Record<string, unknown>>;
  const fieldNames = Object.keys(layout.fields) as F[];
  const bitNames = Object.keys(layout.bits) as B[];
  for (const name of fieldNames) {
    const v = vals[name];
    if (v !== undefined && !fits(layout.fields[name].type, v)) throw misfit(layout.cType, name, v, layout.fields[name].type);
  }
  for (const name of bitNames) {
    const v = vals[name];
    const width = layout.bits[name].width;
    if (v !== undefined && !fitsBits(width, v, false)) throw misfit(layout.cType, name, v, `${width}-bit field`);
  }
  for (let i = 0; i < layout.size; i++) view.setUint8(base + i, 0);
  for (const name of fieldNames) {
    const v = vals[name] as number | bigint | undefined;
    if (v !== undefined) writeField(view, base, layout.fields[name], v);
  }
  for (const name of bitNames) {
    const v = vals[name] as number | bigint | undefined;
    if (v === undefined) continue;
    const b = layout.bits[name];
    const word = layout.fields[b.field];
    writeField(view, base, word, encodeBits(BigInt(readField(view, base, word)), b, v));
  }
}

/** The refusal of a value for a member: the value shown as what it is (a string quoted). */
function misfit(cType: string, member: string, v: unknown, what: string): RangeError {
  const shown = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? String(v) : typeof v;
  return new RangeError(`${cType}: ${shown} does not fit ${member} (${what})`);
}

/**
 * Whether `v` is an integer (number or bigint) below 2^bits and at least 0, or, with `signedToo`, at
 * least -2^(bits-1) (so `1 << 31` fills a u32): nothing is silently truncated. The bounds are exact
 * as doubles (powers of two), so a number and a bigint are held to the same range.
 */
function fitsBits(bits: number, v: unknown, signedToo: boolean): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && v < 2 ** bits && v >= (signedToo ? -(2 ** (bits - 1)) : 0);
  if (typeof v === 'bigint') return v < 1n << BigInt(bits) && v >= (signedToo ? -(1n << BigInt(bits - 1)) : 0n);
  return false;
}

/** Whether `v` fits a member of `type`: its unsigned values and the signed ones of the same width. */
function fits(type: FieldType, v: unknown): boolean {
  return fitsBits(8 * WIDTH[type], v, true);
}

/** A new zeroed buffer holding one encoded struct. */
export function packStruct<F extends string, B extends string = never>(layout: StructLayout<F, B>, values: FieldValues<F, B>): Uint8Array {
  const bytes = new Uint8Array(layout.size);
  encodeStruct(layout, new DataView(bytes.buffer), 0, values);
  return bytes;
}

/** Every field and every bitfield of the struct at `base`. */
export function decodeStruct<F extends string, B extends string = never>(
  layout: StructLayout<F, B>,
  view: DataView,
  base = 0,
): Record<F | B, number | bigint> {
  const out = {} as Record<F | B, number | bigint>;
  for (const name of Object.keys(layout.fields) as F[]) out[name] = readField(view, base, layout.fields[name]);
  for (const name of Object.keys(layout.bits) as B[]) {
    const b = layout.bits[name];
    out[name] = decodeBits(BigInt(readField(view, base, layout.fields[b.field])), b);
  }
  return out;
}
