/**
 * Thrown values looked at without throwing. A caller's options (a getter, a Proxy) and a backend's
 * injected test seams (`sys`, `library`) can throw anything: a Proxy whose every trap throws, or an
 * object whose `toString` throws. A backend's `probe()` turns each into a result and its `create()`
 * into a typed error, so nothing here may itself throw while looking at such a value.
 */
import { type VirtError, type VirtErrorCode, invalidArgument, isVirtError, isVirtErrorCode } from './errors';
import { describeError } from './validate';

/** A thrown VirtError as {@link thrownVirtError} read it. */
export interface ThrownVirtError {
  /** The error itself. */
  readonly error: VirtError;
  /** Its code, read once. */
  readonly code: VirtErrorCode;
  /** Its message, read once. */
  readonly message: string;
}

/** A thrown VirtError with its code and message, each read once; undefined for anything else (or for a value that throws when looked at). Never throws. */
export function thrownVirtError(e: unknown): ThrownVirtError | undefined {
  try {
    if (!isVirtError(e)) return undefined;
    const code: unknown = e.code;
    const message: unknown = e.message;
    return isVirtErrorCode(code) && typeof message === 'string' ? { error: e, code, message } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `read` (which reads and validates a caller's options, with no side effect) and returns what
 * it returns. A VirtError it throws passes through; anything else (a getter or Proxy that throws)
 * becomes INVALID_ARGUMENT for `operation`, naming what was thrown.
 */
export function readOptionsOnce<T>(operation: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    const known = thrownVirtError(e);
    if (known !== undefined) throw known.error;
    throw invalidArgument(operation, `options could not be read: reading them threw ${describeError(e)}`, 'Pass plain data options whose properties read without throwing; nothing was changed.');
  }
}
