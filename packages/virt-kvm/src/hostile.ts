/**
 * Thrown values read without throwing. A caller's options (a getter, a Proxy) and the injected
 * test seams (`sys`, `library`) can throw anything: a Proxy whose every trap throws, or an object
 * whose `toString` throws. `probe()` turns each into a result and `create()` into a typed error,
 * so nothing here may itself throw while looking at such a value.
 */
import { isVirtError, type VirtError, isVirtErrorCode, type VirtErrorCode } from '@tsvmm/virt';
import { describeValue, invalidArgument } from '@tsvmm/virt/implement';

/** A thrown VirtError's code and message, each read once; undefined for anything else (or a value that throws when looked at). */
export function thrownVirtError(e: unknown): { readonly error: VirtError; readonly code: VirtErrorCode; readonly message: string } | undefined {
  try {
    if (!isVirtError(e)) return undefined;
    const code: unknown = e.code;
    const message: unknown = e.message;
    return isVirtErrorCode(code) && typeof message === 'string' ? { error: e, code, message } : undefined;
  } catch {
    return undefined;
  }
}

/** A thrown value as text for a reason or an error's detail; never throws. */
export function thrownText(e: unknown): string {
  try {
    return String(e);
  } catch {
    // a value whose toString (or Symbol.toPrimitive) throws
  }
  try {
    return describeValue(e);
  } catch {
    return `a thrown ${typeof e} that throws when converted or inspected`;
  }
}

/**
 * Runs `read` (which reads and validates a caller's options) and returns what it returns. A
 * VirtError it throws passes through; anything else (a getter or Proxy that throws) becomes
 * INVALID_ARGUMENT for `operation`, before any side effect (`read` makes none).
 */
export function readOptionsOnce<T>(operation: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    const known = thrownVirtError(e);
    if (known !== undefined) throw known.error;
    throw invalidArgument(operation, `options could not be read: reading them threw ${thrownText(e)}`, 'Pass plain data options whose properties read without throwing; nothing was changed.');
  }
}
