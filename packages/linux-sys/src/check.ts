import type { VirtError } from '@tsvmm/virt';
import { type ErrnoErrorOptions, errnoError } from './errno';

/**
 * Returns `result` when it is not negative; otherwise throws the {@link VirtError} for `-result`.
 * `operation` names what the caller was doing, `call` the system call (`ioctl(KVM_IRQFD)`); the
 * error's code and hint depend on both the errno and the call (see {@link errnoCode}), and it
 * carries `errno` and its name.
 */
export function check(result: number, operation: string, call: string, options: ErrnoErrorOptions = {}): number {
  if (result >= 0) return result;
  throw failure(result, operation, call, options);
}

/**
 * The {@link VirtError} for a negative system-call `result` (`-errno`), returned rather than thrown
 * so the caller can release what it holds first. Arguments as in {@link check}; `detail` defaults to
 * `<call> failed`.
 */
export function failure(result: number, operation: string, call: string, options: ErrnoErrorOptions = {}): VirtError {
  return errnoError(operation, -result, { call, ...options, detail: options.detail ?? `${call} failed` });
}
