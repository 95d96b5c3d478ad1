/**
 * The VMM's side of an access, normalised before it reaches the registers: the byte buffers of
 * `read`/`write` and the values of `write32`/`write64`/`write64Halves`/`configWrite`. A guest
 * cannot produce these (it only chooses offsets, sizes and the bits of a value), so a buffer or a
 * value that cannot be used is a VMM bug: it is reported, never thrown, and the access does nothing.
 *
 * Nothing here throws or calls user code: objects are never coerced (no `valueOf`, no
 * `toString`), lengths and views are read through the built-in getters, and anything unexpected
 * (a detached buffer, a proxy) is caught and refused.
 */
import { describeValue } from '@tsvmm/virt/implement';

const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
type Getter = (this: unknown) => unknown;
const getter = (proto: object, key: PropertyKey): Getter => {
  const descriptor: { get?: unknown } | undefined = Object.getOwnPropertyDescriptor(proto, key);
  return descriptor!.get as Getter;
};
// The built-in getters: they work on the object's internal slots, so a subclass or an own
// property cannot make them lie or throw where a real view is given.
const typedTag = getter(typedArrayProto, Symbol.toStringTag);
const typedLength = getter(typedArrayProto, 'length');
const typedBuffer = getter(typedArrayProto, 'buffer');
const typedOffset = getter(typedArrayProto, 'byteOffset');
const typedByteLength = getter(typedArrayProto, 'byteLength');
const viewBuffer = getter(DataView.prototype, 'buffer');
const viewOffset = getter(DataView.prototype, 'byteOffset');
const viewByteLength = getter(DataView.prototype, 'byteLength');
const arrayBufferLength = getter(ArrayBuffer.prototype, 'byteLength');
const sharedBufferLength = typeof SharedArrayBuffer === 'function' ? getter(SharedArrayBuffer.prototype as object, 'byteLength') : undefined;

/** The largest value of a DWORD and of a QWORD, as bigints. */
const U32_MAX = 0xffff_ffffn;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** An access's bytes: a Uint8Array over the caller's memory, or a plain array of numbers (copied in or out). */
export type AccessBytes = Uint8Array | number[];

/** A refused argument: what it is and why it cannot be used (for the INVALID_ARGUMENT detail). */
export interface Refusal {
  readonly refused: string;
}

/** `value` in a message, never throwing (a proxy's traps or a hostile `Symbol.toStringTag` are caught). */
export function describeArgument(value: unknown): string {
  try {
    return describeValue(value);
  } catch {
    return `a ${typeof value}`;
  }
}

function refuse(name: string, value: unknown, why: string): Refusal {
  return { refused: `${name} ${why}, got ${describeArgument(value)}` };
}

const BUFFER_FORMS = 'a Uint8Array (or Buffer), another typed array or a DataView (their bytes as they lie in memory), an ArrayBuffer, or an array of byte numbers 0-255';

/** The byte count of a real ArrayBuffer or SharedArrayBuffer, or -1 for anything else. */
function anyArrayBufferLength(value: object): number {
  try {
    return arrayBufferLength.call(value) as number;
  } catch {
    // not an ArrayBuffer
  }
  if (sharedBufferLength === undefined) return -1;
  try {
    return sharedBufferLength.call(value) as number;
  } catch {
    return -1;
  }
}

/**
 * The buffer of `read` (`writable`: bytes are stored into it) or `write`, as a Uint8Array over the
 * same memory, or a `number[]` (for `write`, checked and copied; for `read`, the caller's array,
 * to be filled from a scratch copy), or a {@link Refusal}. `length` of the result is safe to read.
 * Accepted: any typed array or DataView (their bytes, in memory order), an ArrayBuffer or
 * SharedArrayBuffer, an array whose elements are integers 0-255 (`write`) or a non-frozen array (`read`).
 */
export function accessBytes(name: string, value: unknown, writable: boolean): Uint8Array | number[] | Refusal {
  if (typeof value !== 'object' || value === null) return refuse(name, value, `must be ${BUFFER_FORMS}`);
  try {
    const tag = typedTag.call(value);
    if (tag === 'Uint8Array') {
      // A Uint8Array (or Buffer) is used as is; a subclass overriding `length` is checked against the slot.
      const view = value as Uint8Array;
      return view.length === typedLength.call(view) ? view : new Uint8Array(typedBuffer.call(view) as ArrayBuffer, typedOffset.call(view) as number, typedLength.call(view) as number);
    }
    if (tag !== undefined) {
      return new Uint8Array(typedBuffer.call(value) as ArrayBuffer, typedOffset.call(value) as number, typedByteLength.call(value) as number);
    }
    if (ArrayBuffer.isView(value)) {
      return new Uint8Array(viewBuffer.call(value) as ArrayBuffer, viewOffset.call(value) as number, viewByteLength.call(value) as number);
    }
    if (anyArrayBufferLength(value) >= 0) return new Uint8Array(value as ArrayBuffer);
    if (Array.isArray(value)) {
      const array = value as unknown[];
      const n = array.length;
      if (writable) {
        if (Object.isFrozen(array) && n > 0) return refuse(name, value, 'is frozen; read stores the bytes into it');
        return array as number[];
      }
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const b = array[i];
        if (typeof b !== 'number' || (b & 0xff) !== b) return refuse(name, value, `must hold byte numbers 0-255; element ${i} is ${describeArgument(b)}`);
        bytes[i] = b;
      }
      return bytes;
    }
  } catch (e) {
    return refuse(name, value, `could not be used as bytes (${e instanceof Error ? e.name : typeof e})`);
  }
  return refuse(name, value, `must be ${BUFFER_FORMS}`);
}

/** True when {@link accessBytes} refused the buffer. */
export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Array.isArray(value);
}

/**
 * A DWORD value (`write32`, `write64Halves`, `configWrite`) as a number 0-0xFFFFFFFF: a number
 * that is an integer 0-0xFFFFFFFF or a negative int32 (-2^31 to -1, the same 32 bits in two's
 * complement, as JavaScript's bit operators produce: `0x80 << 24`), or a bigint 0n-0xFFFFFFFFn;
 * -1 for anything else (no coercion).
 */
export function dwordValue(value: unknown): number {
  if (typeof value === 'number') return value >>> 0 === value || (value | 0) === value ? value >>> 0 : -1;
  if (typeof value === 'bigint') return value >= 0n && value <= U32_MAX ? Number(value) : -1;
  return -1;
}

/** The refusal of a {@link dwordValue} that returned -1. */
export function refuseDword(name: string, value: unknown): Refusal {
  return refuse(name, value, 'must be an integer from 0 to 0xFFFFFFFF (or a negative int32), as a number or a bigint');
}

/**
 * A QWORD value (`write64`) split into DWORDs, stored in `out[0]` (low) and `out[1]` (high): a
 * bigint 0n to 2^64-1, or a number that is a safe integer 0 to 2^53-1. False for anything else.
 */
export function qwordHalves(value: unknown, out: Uint32Array): boolean {
  if (typeof value === 'number') {
    if (!(Number.isSafeInteger(value) && value >= 0)) return false;
    out[0] = value % 0x1_0000_0000;
    out[1] = Math.floor(value / 0x1_0000_0000);
    return true;
  }
  if (typeof value === 'bigint') {
    if (!(value >= 0n && value <= U64_MAX)) return false;
    out[0] = Number(value & U32_MAX);
    out[1] = Number(value >> 32n);
    return true;
  }
  return false;
}

/** The refusal of a {@link qwordHalves} that returned false. */
export function refuseQword(name: string, value: unknown): Refusal {
  return refuse(name, value, 'must be a bigint from 0n to 2^64-1, or a number that is a safe integer from 0 to 2^53-1');
}

/**
 * The refusal of a BAR number, offset or size that is not a number at all (a number of any value
 * is the guest's to choose and has a defined result), or undefined when each is a number.
 */
export function refusePlace(bar: unknown, offset: unknown, barName = 'bar', offsetName = 'offset'): Refusal | undefined {
  if (typeof bar !== 'number') return refuse(barName, bar, 'must be a number');
  if (typeof offset !== 'number') return refuse(offsetName, offset, 'must be a number');
  return undefined;
}
