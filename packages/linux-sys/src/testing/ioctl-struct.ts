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
