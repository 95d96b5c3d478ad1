/**
 * The Linux AIO system calls, as one injectable interface ({@link AioCalls}) whose real
 * implementation ({@link libcAioCalls}) calls libc's `syscall(2)` through koffi, and the pinned
 * memory their arguments live in. glibc does not wrap the AIO calls (libaio does), so they are
 * made by number ({@link SYS_io_setup}...); every argument is an integer or the address of memory
 * from {@link allocatePinned}, which the garbage collector never moves.
 */
import { loadLibrary } from '@tsvmm/ffi';
import { libcFileName } from '../platform';
import { SYS_io_destroy, SYS_io_getevents, SYS_io_setup, SYS_io_submit } from './abi';

/**
 * The four AIO system calls, each returning the kernel's result or `-errno`, never throwing for a
 * kernel failure (as {@link Syscalls} does). Addresses are user-space addresses (bigint) of pinned
 * memory; `ctx` is the `aio_context_t` io_setup wrote.
 */
export interface AioCalls {
  /** `io_setup(maxEvents, ctxp)`: 0, the new context written as a u64 at `ctxAddress`; or -errno. */
  ioSetup(maxEvents: number, ctxAddress: bigint): number;
  /** `io_destroy(ctx)`: 0 or -errno. The kernel waits for the requests in flight (`fs/aio.c`). */
  ioDestroy(ctx: bigint): number;
  /** `io_submit(ctx, count, iocbpp)`: how many iocbs the kernel took (from the first), or -errno when none. */
  ioSubmit(ctx: bigint, count: number, iocbsAddress: bigint): number;
  /** `io_getevents(ctx, minNr, nr, events, timeout)`: events written, or -errno. */
  ioGetevents(ctx: bigint, minNr: number, nr: number, eventsAddress: bigint, timeoutAddress: bigint): number;
}

/** The part of koffi used here (koffi's own types are ESM-only, this package is CommonJS). */
interface Koffi {
  errno(): number;
  alloc(type: string, length: number): unknown;
  address(pointer: unknown): bigint;
  view(pointer: unknown, length: number): ArrayBuffer;
  free(pointer: unknown): void;
}

/**
 * syscall(2) with integer arguments: on x86-64 a fixed prototype passes the same registers as the
 * variadic one, and koffi passes a bigint whole.
 */
const SYSCALL_PROTOTYPE = 'long syscall(long nr, unsigned long a, unsigned long b, unsigned long c, unsigned long d, unsigned long e)';

type Syscall6 = (nr: number, a: number | bigint, b: number | bigint, c: number | bigint, d: number | bigint, e: number | bigint) => number;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const koffi = require('koffi') as Koffi;

let syscall: Syscall6 | undefined;
function bind(): Syscall6 {
  return (syscall ??= loadLibrary({ path: libcFileName(), required: { syscall: SYSCALL_PROTOTYPE } }).functions.syscall as Syscall6);
}

/** The result, or -errno when the call returned a negative value. */
function ret(r: number): number {
  return r < 0 ? -koffi.errno() : r;
}

class LibcAioCalls implements AioCalls {
  private readonly call = bind();
  ioSetup(maxEvents: number, ctxAddress: bigint): number {
    return ret(this.call(SYS_io_setup, maxEvents, ctxAddress, 0, 0, 0));
  }
  ioDestroy(ctx: bigint): number {
    return ret(this.call(SYS_io_destroy, ctx, 0, 0, 0, 0));
  }
  ioSubmit(ctx: bigint, count: number, iocbsAddress: bigint): number {
    return ret(this.call(SYS_io_submit, ctx, count, iocbsAddress, 0, 0));
  }
  ioGetevents(ctx: bigint, minNr: number, nr: number, eventsAddress: bigint, timeoutAddress: bigint): number {
    return ret(this.call(SYS_io_getevents, ctx, minNr, nr, eventsAddress, timeoutAddress));
  }
}

let shared: AioCalls | undefined;

/** The real AIO system calls (libc's syscall(2) through koffi), one instance per thread. */
export function libcAioCalls(): AioCalls {
  return (shared ??= new LibcAioCalls());
}

/** Memory at a fixed address, 64-byte aligned, zero-filled; released by {@link PinnedMemory.free}, once. */
export interface PinnedMemory {
  /** The user-space address of `bytes[0]`. */
  readonly address: bigint;
  /** The memory itself. */
  readonly bytes: Uint8Array;
  /** Returns the memory to koffi's allocator. Idempotent. */
  free(): void;
}

/** `size` bytes from koffi's allocator (never moved by the garbage collector), 64-byte aligned and zeroed. */
export function allocatePinned(size: number): PinnedMemory {
  const align = 64;
  const pointer = koffi.alloc('uint8_t', size + align);
  const base = koffi.address(pointer);
  const skip = Number((BigInt(align) - (base % BigInt(align))) % BigInt(align));
  const bytes = new Uint8Array(koffi.view(pointer, size + align), skip, size);
  bytes.fill(0);
  let freed = false;
  return {
    address: base + BigInt(skip),
    bytes,
    free() {
      if (freed) return;
      freed = true;
      koffi.free(pointer);
    },
  };
}
