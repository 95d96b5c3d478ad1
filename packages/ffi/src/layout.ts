/**
 * Declarative C struct layouts: one definition per ABI struct, used both to encode/decode with a
 * DataView and to generate the C program that checks it against the kernel's header.
 */
export type FieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64';

const WIDTH: Readonly<Record<FieldType, number>> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8 };

export interface FieldDef {
  readonly offset: number;
  readonly type: FieldType;
  /** The member designator in C (`u.msi.address_lo`); default: the field's name. */
  readonly c?: string;
}

export interface StructLayout<F extends string = string> {
  /** The C type, e.g. `struct kvm_irqfd`. */
  readonly cType: string;
  readonly size: number;
  readonly fields: Readonly<Record<F, Required<FieldDef>>>;
}

export type FieldValues<F extends string> = Partial<Record<F, number | bigint>>;

export function fieldWidth(type: FieldType): number {
  return WIDTH[type];
}

export function defineLayout<F extends string>(cType: string, size: number, fields: Record<F, FieldDef>): StructLayout<F> {
  const out = {} as Record<F, Required<FieldDef>>;
  for (const name of Object.keys(fields) as F[]) {
    const f = fields[name];
    if (f.offset < 0 || f.offset + WIDTH[f.type] > size) {
      throw new RangeError(`${cType}.${name}: offset ${f.offset} + ${WIDTH[f.type]} exceeds the size ${size}`);
    }
    out[name] = Object.freeze({ offset: f.offset, type: f.type, c: f.c ?? name });
  }
  return Object.freeze({ cType, size, fields: Object.freeze(out) });
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

/** Zeroes the struct at `base`, then writes the given fields (padding stays zero, as the kernel requires). */
export function encodeStruct<F extends string>(layout: StructLayout<F>, view: DataView, base: number, values: FieldValues<F>): void {
  for (let i = 0; i < layout.size; i++) view.setUint8(base + i, 0);
  for (const name of Object.keys(values) as F[]) {
    const v = values[name];
    if (v !== undefined) writeField(view, base, layout.fields[name], v);
  }
}

/** A new zeroed buffer holding one encoded struct. */
export function packStruct<F extends string>(layout: StructLayout<F>, values: FieldValues<F>): Uint8Array {
  const bytes = new Uint8Array(layout.size);
  encodeStruct(layout, new DataView(bytes.buffer), 0, values);
  return bytes;
}

export function decodeStruct<F extends string>(layout: StructLayout<F>, view: DataView, base = 0): Record<F, number | bigint> {
  const out = {} as Record<F, number | bigint>;
  for (const name of Object.keys(layout.fields) as F[]) out[name] = readField(view, base, layout.fields[name]);
  return out;
}
