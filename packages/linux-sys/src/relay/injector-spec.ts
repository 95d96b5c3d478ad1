/**
 * Injector specifications for the epoll relay's worker: validated on the caller's thread (so a
 * malformed one is a typed INVALID_ARGUMENT from the call that passed it), built from a struct
 * layout so the encoding has one definition.
 */
import { type VirtError, checkInteger, checkObject, checkString, describeValue, invalidArgument } from '@tsvmm/virt';
import type { IoctlDef } from '../ioctl';
import type { InjectorSpec, IoctlInjectorField, IoctlInjectorSpec, RecordInjectorSpec } from './protocol';

/**
 * The part of a struct layout {@link ioctlInjector} reads: a `StructLayout` from `@tsvmm/ffi`
 * (`defineLayout`) fits it.
 */
export interface LayoutLike {
  /** Names the layout in INVALID_ARGUMENT messages, when present. */
  readonly name?: string;
  /** Bytes of the ioctl argument (`sizeof` the C struct). */
  readonly size: number;
  /** Fields by name: byte offset and type (`u32` and `u64` can carry a part of the MSI). */
  readonly fields: Readonly<
    Record<
      string,
      {
        /** Byte offset in the argument. */
        readonly offset: number;
        /** The field's C type as `@tsvmm/ffi` names it (`u32`, `u64`, ...). */
        readonly type: string;
      }
    >
  >;
}

/** What {@link ioctlInjector} builds an {@link IoctlInjectorSpec} from. */
export interface IoctlInjectorOptions {
  /** The fd to issue the ioctl on (e.g. the KVM VM fd). */
  readonly fd: number;
  /** The ioctl (e.g. `kvm.KVM_SIGNAL_MSI`). */
  readonly ioctl: IoctlDef;
  /** The argument's layout (e.g. `kvm.KVM_MSI_LAYOUT`). */
  readonly layout: LayoutLike;
  /** Which layout field receives which part of the MSI (layout field name → part). */
  readonly fields: Readonly<Record<string, IoctlInjectorField['value']>>;
  /** Default `positive`: a result above 0 is delivered, 0 means the guest blocked it (KVM_SIGNAL_MSI). */
  readonly delivered?: IoctlInjectorSpec['delivered'];
}

/**
 * An {@link IoctlInjectorSpec} from an ioctl definition and a struct layout. For KVM:
 * `ioctlInjector({ fd: vmFd, ioctl: kvm.KVM_SIGNAL_MSI, layout: kvm.KVM_MSI_LAYOUT,
 * fields: { addressLo: 'addressLo', addressHi: 'addressHi', data: 'data' } })`.
 * INVALID_ARGUMENT for a field the layout lacks or of a width other than 32/64 bits.
 */
export function ioctlInjector(options: IoctlInjectorOptions): IoctlInjectorSpec {
  const op = 'ioctlInjector';
  const o = checkObject<Partial<Record<keyof IoctlInjectorOptions, unknown>>>(op, 'options', options);
  const ioctl = checkObject<IoctlDef>(op, 'ioctl', o.ioctl);
  const layout = checkObject<LayoutLike>(op, 'layout', o.layout);
  const map = checkObject<Record<string, unknown>>(op, 'fields', o.fields);
  const fields: IoctlInjectorField[] = [];
  for (const [name, value] of Object.entries(map)) {
    const f = layout.fields[name];
    if (!f) throw invalidArgument(op, `the layout ${String(layout.name ?? '')} has no field ${name}`);
    if (f.type !== 'u32' && f.type !== 'u64') throw invalidArgument(op, `field ${name} is ${f.type}: only u32 and u64 fields can carry an MSI part`);
    fields.push({ offset: f.offset, type: f.type, value: value as IoctlInjectorField['value'] });
  }
  return checkInjectorSpec(op, {
    kind: 'ioctl',
    fd: o.fd as number,
    request: ioctl.request,
    name: ioctl.name,
    size: layout.size,
    fields,
    delivered: (o.delivered as IoctlInjectorSpec['delivered'] | undefined) ?? 'positive',
  }) as IoctlInjectorSpec;
}

/**
 * A {@link RecordInjectorSpec} (for tests without a hypervisor). INVALID_ARGUMENT unless `buffer`
 * is a SharedArrayBuffer of at least 16 bytes (four 32-bit words).
 */
export function recordInjector(buffer: SharedArrayBuffer): RecordInjectorSpec {
  return checkInjectorSpec('recordInjector', { kind: 'record', buffer }) as RecordInjectorSpec;
}

/**
 * Checks every part of a spec; returns a frozen copy (read once). Throws INVALID_ARGUMENT, naming
 * `operation`, for anything malformed: an unknown `kind`; for `ioctl`, an fd or request out of
 * range, a size outside 1-4096 bytes, no fields, a field outside the argument or of a width other
 * than u32/u64, a `delivered` other than `positive`/`non-negative`; for `record`, a buffer smaller
 * than 16 bytes; for `module`, a missing path, export name or argument array.
 */
export function checkInjectorSpec(operation: string, spec: unknown): InjectorSpec {
  const s = checkObject<Record<string, unknown>>(operation, 'injector', spec);
  const kind = s.kind;
  const bad = (detail: string): VirtError => invalidArgument(operation, `injector: ${detail}`);
  if (kind === 'ioctl') {
    const fd = checkInteger(operation, 'injector.fd', s.fd, 0, 0x7fffffff);
    const request = checkInteger(operation, 'injector.request', s.request, 0, 0xffffffff);
    const name = checkString(operation, 'injector.name', s.name);
    const size = checkInteger(operation, 'injector.size', s.size, 1, 4096);
    const delivered = s.delivered;
    if (delivered !== 'positive' && delivered !== 'non-negative') throw bad(`delivered must be 'positive' or 'non-negative', got ${describeValue(delivered)}`);
    const raw = s.fields;
    if (!Array.isArray(raw) || raw.length === 0) throw bad(`fields must be a non-empty array, got ${describeValue(raw)}`);
    const fields = (raw as unknown[]).map((f, i) => {
      const field = checkObject<Record<string, unknown>>(operation, `injector.fields[${i}]`, f);
      const type = field.type;
      if (type !== 'u32' && type !== 'u64') throw bad(`fields[${i}].type must be 'u32' or 'u64', got ${describeValue(type)}`);
      const offset = checkInteger(operation, `injector.fields[${i}].offset`, field.offset, 0, size - (type === 'u32' ? 4 : 8));
      const value = field.value;
      const ok = value === 'addressLo' || value === 'addressHi' || value === 'data' || value === 'address' || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0);
      if (!ok) throw bad(`fields[${i}].value must be addressLo, addressHi, data, address or a non-negative integer, got ${describeValue(value)}`);
      return Object.freeze({ offset, type, value: value });
    });
    return Object.freeze({ kind, fd, request, name, size, fields: Object.freeze(fields), delivered });
  }
  if (kind === 'record') {
    const buffer = s.buffer;
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < 16) throw bad(`buffer must be a SharedArrayBuffer of at least 16 bytes, got ${describeValue(buffer)}`);
    return Object.freeze({ kind, buffer });
  }
  if (kind === undefined || kind === 'module') {
    const module = checkString(operation, 'injector.module', s.module);
    const exportName = checkString(operation, 'injector.exportName', s.exportName);
    const args = s.args;
    if (!Array.isArray(args)) throw bad(`args must be an array, got ${describeValue(args)}`);
    return Object.freeze({ kind: 'module' as const, module, exportName, args: Object.freeze([...(args as unknown[])]) });
  }
  throw bad(`kind must be 'ioctl', 'record' or 'module', got ${describeValue(kind)}`);
}

/**
 * Writes an MSI into an ioctl injector's argument: each field at its offset, little-endian. The
 * one encoding of {@link IoctlInjectorSpec} fields, run by the relay worker from its source text
 * (so it has no free variables).
 */
export function encodeInjectorFields(view: DataView, fields: readonly IoctlInjectorField[], addressLo: number, addressHi: number, data: number): void {
  for (const f of fields) {
    const v = f.value;
    const n = v === 'addressLo' ? addressLo : v === 'addressHi' ? addressHi : v === 'data' ? data : v === 'address' ? addressLo + addressHi * 0x1_0000_0000 : v;
    if (f.type === 'u32') view.setUint32(f.offset, n >>> 0, true);
    else view.setBigUint64(f.offset, BigInt(n), true);
  }
}
