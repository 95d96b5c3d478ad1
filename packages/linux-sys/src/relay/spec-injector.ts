/**
 * The one place an {@link IoctlInjectorSpec} becomes an injector: run by the epoll relay's worker
 * (from its source text, with libc and koffi's allocator as the environment) and by kernel models'
 * relay waiters (with the model's system calls and address space), so a model test exercises the
 * same encoding the worker uses.
 */
import type { RawInjector } from '@tsvmm/virt/implement';
import { encodeMsiFields } from '@tsvmm/virt/implement';
import type { Syscalls } from '../syscalls';
import type { IoctlInjectorSpec } from './protocol';

/** A buffer at an address that never moves, which the kernel may read through a pointer. */
export interface SpecInjectorBuffer {
  /** The user-space address of `bytes[0]`. */
  readonly address: bigint;
  /** The memory itself. */
  readonly bytes: Uint8Array;
}

/** What the injector needs from its thread. */
export interface SpecInjectorEnv {
  /** `ioctl(fd, request, arg)`: its result, or -errno. */
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  /** `size` zeroed bytes at a fixed address, a multiple of `align`. */
  allocate(size: number, align: number): SpecInjectorBuffer;
  /** Releases a buffer from `allocate`. */
  free(buffer: SpecInjectorBuffer): void;
}

/** An injector built from a spec, and what releases its input buffer. */
export interface SpecInjector {
  /** Injects one MSI. True when delivered, false when the guest blocked it; throws an Error naming the ioctl and errno. */
  readonly inject: RawInjector;
  /** Frees the input buffer (if any). Idempotent. */
  readonly free: () => void;
}

/**
 * Builds the injector a spec describes (the spec must have passed `checkInjectorSpec`). Nothing
 * is allocated per injection. Has no free variables: the worker runs it from its source text,
 * with `encode` (`encodeMsiFields` of `@tsvmm/virt/implement`) passed in the same way.
 */
export function ioctlSpecInjector(spec: IoctlInjectorSpec, env: SpecInjectorEnv, encode: typeof encodeMsiFields): SpecInjector {
  const arg = new Uint8Array(spec.size);
  const view = new DataView(arg.buffer);
  const { fd, request, name, fields } = spec;
  const positive = spec.delivered === 'positive';
  const attempts = spec.retry === undefined ? 1 : spec.retry.attempts;
  const retryErrno = spec.retry === undefined ? 0 : spec.retry.errno;
  const input = spec.input;
  let buffer: SpecInjectorBuffer | undefined;
  let inputView: DataView | undefined;
  if (input !== undefined) {
    buffer = env.allocate(input.size, input.align);
    inputView = new DataView(buffer.bytes.buffer, buffer.bytes.byteOffset, input.size);
    view.setBigUint64(input.pointer, buffer.address, true);
  }
  const inject: RawInjector = (lo, hi, data) => {
    if (input !== undefined) {
      // After free() the argument would point at released memory.
      if (inputView === undefined) throw new Error(`ioctl(${name}) injector used after it was freed`);
      encode(inputView, input.fields, lo, hi, data);
    }
    for (let attempt = 1; ; attempt++) {
      // Every field again on each try: the kernel may have written some back (a status).
      encode(view, fields, lo, hi, data);
      const r = env.ioctl(fd, request, arg);
      if (r >= 0) return positive ? r > 0 : true;
      if (-r === retryErrno && attempt < attempts) continue;
      throw new Error(`ioctl(${name}) failed with errno ${-r}${attempt > 1 ? ` (${attempt} tries)` : ''}`);
    }
  };
  return {
    inject,
    free: () => {
      if (buffer === undefined) return;
      const b = buffer;
      buffer = undefined;
      inputView = undefined;
      env.free(b);
    },
  };
}

/**
 * The injector of `spec` on the calling thread, through `sys` (e.g. a kernel model, which decodes
 * the bytes) and `memory` for the input buffer (the model's address space): what the relay worker
 * runs, with the caller's system calls instead of libc. `spec` must have passed `checkInjectorSpec`.
 */
export function syscallSpecInjector(spec: IoctlInjectorSpec, sys: Syscalls, memory: Pick<SpecInjectorEnv, 'allocate' | 'free'>): SpecInjector {
  const def = Object.freeze({ name: spec.name, request: spec.request });
  return ioctlSpecInjector(
    spec,
    {
      ioctl: (fd, _request, arg) => sys.ioctl(fd, def, arg),
      allocate: (size, align) => memory.allocate(size, align),
      free: (buffer) => memory.free(buffer),
    },
    encodeMsiFields,
  );
}
