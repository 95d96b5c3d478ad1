/**
 * How a kernel model reads the struct an ioctl passes by pointer: the one copy_from_user rule every
 * model (KVM, mshv, VFIO) applies before it decodes a field.
 */
import { EFAULT } from '../errno';

/**
 * The struct of at least `size` bytes that `arg` points to, as a little-endian view over the
 * caller's own bytes (so the model's answers land where the kernel's copy_to_user puts them), or
 * `-EFAULT` when `arg` is not a buffer (an integer or nothing is no user pointer here) or holds
 * fewer than `size` bytes: the kernel's copy_from_user of `size` bytes faults there. Never throws.
 *
 * @param arg - The ioctl's third argument, as `Syscalls.ioctl` receives it.
 * @param size - The bytes the kernel copies in first (the struct's fixed part; for VFIO, `minsz`).
 * @returns A DataView over exactly `arg`'s bytes, or `-EFAULT` (-14).
 */
export function ioctlStruct(arg: number | Uint8Array | undefined, size: number): DataView | number {
  if (!(arg instanceof Uint8Array) || arg.byteLength < size) return -EFAULT;
  return new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
}

/** The C type of one field of a {@link modelStruct}: little-endian integers; a `u64` reads as a bigint. */
export type ModelFieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64';

/** One field of a {@link modelStruct}: its byte offset in the struct and its C type, as the header declares them. */
export type ModelField = readonly [offset: number, type: ModelFieldType];

/** The values a {@link ModelStruct} reads: a bigint for each `u64` field, a number for the others. */
export type ModelFieldValues<T extends Record<string, ModelField>> = { readonly [K in keyof T]: T[K][1] extends 'u64' ? bigint : number };

/** What {@link ModelStruct.read} returns for a struct it could copy in: each field, and the bytes. */
export type ModelStructArg<T extends Record<string, ModelField>> = ModelFieldValues<T> & {
  /** A little-endian view over exactly the caller's bytes (the struct and what follows it), where the model writes what copy_to_user would. */
  readonly view: DataView;
};

/** A struct an ioctl passes by pointer, as a kernel model reads it (see {@link modelStruct}). */
export interface ModelStruct<T extends Record<string, ModelField>> {
  /** The bytes the kernel copies in first (the struct's fixed part). */
  readonly size: number;
  /** The fields of the struct `arg` points to, and `view` over `arg`'s bytes, or `-EFAULT` as {@link ioctlStruct} answers. Never throws. */
  read(arg: number | Uint8Array | undefined): ModelStructArg<T> | number;
  /**
   * Entry `index` of an array of these structs that starts at byte `start` of `array` (the entries
   * that follow a header, as in `kvm_irq_routing`), its `view` over that entry's bytes only; `-EFAULT`
   * when the entry does not lie inside `array`. Never throws.
   */
  entry(array: DataView, start: number, index: number): ModelStructArg<T> | number;
}

const READ: Record<ModelFieldType, (v: DataView, at: number) => number | bigint> = {
  u8: (v, at) => v.getUint8(at),
  u16: (v, at) => v.getUint16(at, true),
  u32: (v, at) => v.getUint32(at, true),
  i32: (v, at) => v.getInt32(at, true),
  u64: (v, at) => v.getBigUint64(at, true),
};
const WIDTH: Record<ModelFieldType, number> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8 };

/**
 * A struct of `size` bytes with `fields` at the offsets a model writes out from the UAPI header
 * (never from the package's own layouts, so a wrong layout and a wrong model cannot agree): one
 * table per struct, read after the copy_from_user rule of {@link ioctlStruct}.
 *
 * @param size - The bytes the kernel copies in first.
 * @param fields - Each field's `[offset, type]`; every field lies inside `size`.
 * @returns The struct's reader.
 * @throws RangeError when `size` is not a whole number, a field is not `[offset, type]` of a known type,
 *   lies outside `size`, or is named `view` (the reader's own key).
 */
export function modelStruct<const T extends Record<string, ModelField>>(size: number, fields: T): ModelStruct<T> {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw new RangeError(`a model struct's size must be a whole number of bytes, got ${String(size)}`);
  if (typeof fields !== 'object' || fields === null) throw new RangeError('a model struct needs its fields, as { name: [offset, type] }');
  const entries = Object.entries(fields);
  for (const [name, field] of entries) {
    if (name === 'view') throw new RangeError('a model struct field cannot be named view');
    if (!Array.isArray(field) || field.length !== 2) throw new RangeError(`field ${name} must be [offset, type]`);
    const [offset, type] = field as [unknown, unknown];
    if (typeof type !== 'string' || !Object.hasOwn(WIDTH, type)) throw new RangeError(`field ${name} has the unknown type ${String(type)} (known: ${Object.keys(WIDTH).join(', ')})`);
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset + WIDTH[type as ModelFieldType] > size) throw new RangeError(`field ${name} (${type} at ${String(offset)}) lies outside the ${size}-byte struct`);
  }
  return {
    size,
    read(arg) {
      const view = ioctlStruct(arg, size);
      if (typeof view === 'number') return view;
      const out: Record<string, number | bigint | DataView> = { view };
      for (const [name, [offset, type]] of entries) out[name] = READ[type](view, offset);
      return out as ModelStructArg<T>;
    },
    entry(array, start, index) {
      const at = start + index * size;
      if (!(at >= 0 && at + size <= array.byteLength)) return -EFAULT;
      return this.read(new Uint8Array(array.buffer, array.byteOffset + at, size));
    },
  };
}
