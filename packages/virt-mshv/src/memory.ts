/**
 * Memory whose address the kernel is given inside an ioctl argument (`mshv_root_hvcall.in_ptr`,
 * `mshv_get_set_vp_state.buf_ptr`). A `Uint8Array` passed to `Syscalls.ioctl` is only pinned for
 * that call and its address is never known to JavaScript, so such buffers come from a
 * {@link UserMemory}: by default koffi's allocator (stable, never moved by the garbage collector),
 * and in tests the kernel model's own address space, so a wrong pointer is an EFAULT, not a crash.
 */
import { invalidArgument } from '@tsvmm/virt/implement';

/** A buffer at a fixed address, `align`-aligned, owned by whoever allocated it. */
export interface PinnedBuffer {
  /** The user-space address of `bytes[0]`. */
  readonly address: bigint;
  /** The memory itself (`size` bytes). */
  readonly bytes: Uint8Array;
}

/**
 * Where buffers whose address the kernel is given come from: {@link koffiMemory} in production,
 * the kernel model (whose own address space it is) in tests.
 */
export interface UserMemory {
  /** `size` bytes at an address that is a multiple of `align` (a power of two), zero-filled. */
  allocate(size: number, align: number): PinnedBuffer;
  /** Releases a buffer from {@link allocate}. Idempotent; never throws. */
  free(buffer: PinnedBuffer): void;
}

/** The part of koffi used here (koffi's own types are ESM-only, this package is CommonJS). */
interface Koffi {
  alloc(type: string, length: number): unknown;
  address(pointer: unknown): bigint;
  view(pointer: unknown, length: number): ArrayBuffer;
  free(pointer: unknown): void;
}

function checkAllocation(size: number, align: number): void {
  const op = 'UserMemory.allocate';
  if (!Number.isInteger(size) || size <= 0 || size > 1 << 24) throw invalidArgument(op, `size must be an integer from 1 to 16 MiB, got ${size}`);
  if (!Number.isInteger(align) || align <= 0 || align > 1 << 16 || (align & (align - 1)) !== 0) {
    throw invalidArgument(op, `align must be a power of two up to 64 KiB, got ${align}`);
  }
}

class KoffiMemory implements UserMemory {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  private readonly koffi = require('koffi') as Koffi;
  private readonly owners = new Map<PinnedBuffer, unknown>();

  allocate(size: number, align: number): PinnedBuffer {
    checkAllocation(size, align);
    // Over-allocate by `align` and hand out the aligned part.
    const pointer = this.koffi.alloc('uint8_t', size + align);
    const base = this.koffi.address(pointer);
    const skip = Number((BigInt(align) - (base % BigInt(align))) % BigInt(align));
    const bytes = new Uint8Array(this.koffi.view(pointer, size + align), skip, size);
    bytes.fill(0);
    const buffer: PinnedBuffer = Object.freeze({ address: base + BigInt(skip), bytes });
    this.owners.set(buffer, pointer);
    return buffer;
  }

  free(buffer: PinnedBuffer): void {
    const pointer = this.owners.get(buffer);
    if (pointer === undefined) return;
    this.owners.delete(buffer);
    this.koffi.free(pointer);
  }
}

let shared: UserMemory | undefined;

/** Process memory through koffi: what the real kernel reads and writes. */
export function koffiMemory(): UserMemory {
  return (shared ??= new KoffiMemory());
}
