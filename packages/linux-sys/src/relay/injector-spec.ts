/**
 * Injector specifications for the epoll relay's worker: validated on the caller's thread (so a
 * malformed one is a typed INVALID_ARGUMENT from the call that passed it), built from struct
 * layouts so the encoding has one definition.
 */
import { type VirtError } from '@tsvmm/virt';
import { checkInteger, describeValue, invalidArgument, type MsiFieldValue, checkMsiStructFields, checkObject, checkString } from '@tsvmm/virt/implement';
import type { IoctlDef } from '../ioctl';
import type { InjectorSpec, IoctlInjectorField, IoctlInjectorInput, IoctlInjectorSpec, RecordInjectorSpec } from './protocol';

/**
 * The part of a struct layout {@link ioctlInjector} reads: a `StructLayout` from `@tsvmm/ffi`
 * (`defineLayout`) fits it.
 */
export interface LayoutLike {
  /** The C type, named in INVALID_ARGUMENT messages when present. */
  readonly cType?: string;
  /** Bytes of the struct (`sizeof` the C struct). */
  readonly size: number;
  /** Fields by name: byte offset and type (`u8`, `u16`, `u32`, `u64`; others cannot carry an MSI). */
  readonly fields: Readonly<
    Record<
      string,
      {
        /** Byte offset in the struct. */
        readonly offset: number;
        /** The field's C type as `@tsvmm/ffi` names it (`u8`, `u16`, `u32`, `u64`, ...). */
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
  /** What each layout field receives (layout field name → a part of the MSI or a constant); unnamed fields stay 0. */
  readonly fields: Readonly<Record<string, MsiFieldValue>>;
  /** Default `positive`: a result above 0 is delivered, 0 means the guest blocked it (KVM_SIGNAL_MSI). */
  readonly delivered?: IoctlInjectorSpec['delivered'];
  /**
   * A second buffer the argument points at: its layout, the u64 field of the argument's layout
   * that receives its address (`pointer`), what its fields receive, and its alignment (default 8).
   */
  readonly input?: {
    /** The buffer's layout (e.g. the hypercall input's). */
    readonly layout: LayoutLike;
    /** The u64 field of the argument's layout that receives the buffer's address. */
    readonly pointer: string;
    /** What each of the buffer's fields receives. */
    readonly fields: Readonly<Record<string, MsiFieldValue>>;
    /** Alignment of the buffer's address, a power of two. Default 8. */
    readonly align?: number;
  };
  /** Try again, at most `attempts` calls in all, while the ioctl fails with `errno`. */
  readonly retry?: IoctlInjectorSpec['retry'];
}

/** Named fields of `layout` as {@link IoctlInjectorField}s. */
function layoutFields(op: string, what: string, layout: LayoutLike, map: Record<string, unknown>): IoctlInjectorField[] {
  return Object.entries(map).map(([name, value]) => {
    const f = layout.fields[name];
    if (!f) throw invalidArgument(op, `${what}: the layout ${String(layout.cType ?? '')} has no field ${name}`);
    if (f.type !== 'u8' && f.type !== 'u16' && f.type !== 'u32' && f.type !== 'u64') throw invalidArgument(op, `${what}: field ${name} is ${f.type}: only unsigned fields can carry an MSI`);
    return { offset: f.offset, type: f.type, value: value as MsiFieldValue };
  });
}

/**
 * An {@link IoctlInjectorSpec} from an ioctl definition and struct layouts. For KVM:
 * `ioctlInjector({ fd: vmFd, ioctl: kvm.KVM_SIGNAL_MSI, layout: kvm.KVM_MSI_LAYOUT,
 * fields: { addressLo: 'addressLo', addressHi: 'addressHi', data: 'data' } })`.
 * INVALID_ARGUMENT for a field a layout lacks or that cannot hold what it is given.
 */
export function ioctlInjector(options: IoctlInjectorOptions): IoctlInjectorSpec {
  const op = 'ioctlInjector';
  const o = checkObject<Partial<Record<keyof IoctlInjectorOptions, unknown>>>(op, 'options', options);
  const ioctl = checkObject<IoctlDef>(op, 'ioctl', o.ioctl);
  const layout = checkObject<LayoutLike>(op, 'layout', o.layout);
  const fields = layoutFields(op, 'fields', layout, checkObject<Record<string, unknown>>(op, 'fields', o.fields));
  let input: IoctlInjectorInput | undefined;
  if (o.input !== undefined) {
    const i = checkObject<Partial<Record<keyof NonNullable<IoctlInjectorOptions['input']>, unknown>>>(op, 'input', o.input);
    const inputLayout = checkObject<LayoutLike>(op, 'input.layout', i.layout);
    const pointerName = checkString(op, 'input.pointer', i.pointer);
    const pointer = layout.fields[pointerName];
    if (pointer?.type !== 'u64') throw invalidArgument(op, `input.pointer: ${pointerName} is not a u64 field of ${String(layout.cType ?? 'the layout')}`);
    input = {
      size: inputLayout.size,
      align: (i.align as number | undefined) ?? 8,
      pointer: pointer.offset,
      fields: layoutFields(op, 'input.fields', inputLayout, checkObject<Record<string, unknown>>(op, 'input.fields', i.fields)),
    };
  }
  return checkInjectorSpec(op, {
    kind: 'ioctl',
    fd: o.fd as number,
    request: ioctl.request,
    name: ioctl.name,
    size: layout.size,
    fields,
    delivered: (o.delivered as IoctlInjectorSpec['delivered'] | undefined) ?? 'positive',
    ...(input === undefined ? {} : { input }),
    ...(o.retry === undefined ? {} : { retry: o.retry }),
  }) as IoctlInjectorSpec;
}

/**
 * A {@link RecordInjectorSpec} (for tests without a hypervisor). INVALID_ARGUMENT unless `buffer`
 * is a SharedArrayBuffer of at least 16 bytes (four 32-bit words).
 */
export function recordInjector(buffer: SharedArrayBuffer): RecordInjectorSpec {
  return checkInjectorSpec('recordInjector', { kind: 'record', buffer }) as RecordInjectorSpec;
}

const MAX_ARGUMENT_BYTES = 4096;

/**
 * Checks every part of a spec; returns a frozen copy (read once). Throws INVALID_ARGUMENT, naming
 * `operation`, for anything malformed: a `kind` other than `ioctl` or `record`; for `ioctl`, an fd
 * or request out of range, an argument or input buffer outside 1-4096 bytes, a field outside its
 * buffer or not unsigned, an input pointer that is not 8 bytes inside the argument or overlaps a
 * field, an alignment that is not a power of two, a `delivered` other than
 * `positive`/`non-negative`, a malformed `retry`; for `record`, a buffer that is not a
 * SharedArrayBuffer of at least 16 bytes.
 */
export function checkInjectorSpec(operation: string, spec: unknown): InjectorSpec {
  const s = checkObject<Record<string, unknown>>(operation, 'injector', spec);
  const kind = s.kind;
  const bad = (detail: string): VirtError => invalidArgument(operation, `injector: ${detail}`);
  if (kind === 'ioctl') {
    const fd = checkInteger(operation, 'injector.fd', s.fd, 0, 0x7fffffff);
    const request = checkInteger(operation, 'injector.request', s.request, 0, 0xffffffff);
    const name = checkString(operation, 'injector.name', s.name);
    const size = checkInteger(operation, 'injector.size', s.size, 1, MAX_ARGUMENT_BYTES);
    const delivered = s.delivered;
    if (delivered !== 'positive' && delivered !== 'non-negative') throw bad(`delivered must be 'positive' or 'non-negative', got ${describeValue(delivered)}`);
    const fields = checkMsiStructFields(operation, 'injector.fields', s.fields, size);
    let input: IoctlInjectorInput | undefined;
    if (s.input !== undefined) {
      const i = checkObject<Record<string, unknown>>(operation, 'injector.input', s.input);
      const inputSize = checkInteger(operation, 'injector.input.size', i.size, 1, MAX_ARGUMENT_BYTES);
      const align = checkInteger(operation, 'injector.input.align', i.align, 1, MAX_ARGUMENT_BYTES);
      if ((align & (align - 1)) !== 0) throw bad(`input.align must be a power of two, got ${align}`);
      const pointer = checkInteger(operation, 'injector.input.pointer', i.pointer, 0, size - 8);
      const clash = fields.find((f) => f.offset < pointer + 8 && pointer < f.offset + { u8: 1, u16: 2, u32: 4, u64: 8 }[f.type]);
      if (clash) throw bad(`input.pointer (bytes ${pointer}-${pointer + 7}) overlaps the field at offset ${clash.offset}`);
      const inputFields = checkMsiStructFields(operation, 'injector.input.fields', i.fields, inputSize);
      input = Object.freeze({ size: inputSize, align, pointer, fields: inputFields });
    }
    let retry: IoctlInjectorSpec['retry'];
    if (s.retry !== undefined) {
      const r = checkObject<Record<string, unknown>>(operation, 'injector.retry', s.retry);
      retry = Object.freeze({ errno: checkInteger(operation, 'injector.retry.errno', r.errno, 1, 4095), attempts: checkInteger(operation, 'injector.retry.attempts', r.attempts, 1, 64) });
    }
    return Object.freeze({ kind, fd, request, name, size, fields, delivered, ...(input ? { input } : {}), ...(retry ? { retry } : {}) });
  }
  if (kind === 'record') {
    const buffer = s.buffer;
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < 16) throw bad(`buffer must be a SharedArrayBuffer of at least 16 bytes, got ${describeValue(buffer)}`);
    return Object.freeze({ kind, buffer });
  }
  throw bad(`kind must be 'ioctl' or 'record', got ${describeValue(kind)}`);
}
