import { type VirtError, type VirtErrorCode, isVirtError } from '../errors';
import { checkFunction, describeError } from '../validate';

/**
 * What `fn` throws, or `undefined` when it returns: for tests that check the fields of a thrown
 * `VirtError` (`code`, `operation`, `errno`, `hint`), which `expect(fn).toThrow()` does not reach.
 * @throws VirtError INVALID_ARGUMENT when `fn` is not a function (so a wrong argument is not
 * mistaken for what a call threw).
 */
export function thrownBy(fn: () => unknown): unknown {
  checkFunction('thrownBy', 'fn', fn);
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/**
 * The `VirtError` `fn` throws, for tests that read its fields (`code`, `operation`, `errno`,
 * `hint`, `message`).
 * @param code When given, the error must carry this code.
 * @throws Error when `fn` returns instead of throwing.
 * @throws unknown What `fn` threw, unchanged, when it is not a `VirtError` (with `code`, not one
 * with that code), so the test fails on the real error.
 * @throws VirtError INVALID_ARGUMENT when `fn` is not a function.
 */
export function virtErrorThrownBy(fn: () => unknown, code?: VirtErrorCode): VirtError {
  checkFunction('virtErrorThrownBy', 'fn', fn);
  try {
    fn();
  } catch (e) {
    if (isVirtError(e, code)) return e;
    throw e;
  }
  throw new Error(code === undefined ? 'expected a VirtError, but the call returned' : `expected a VirtError ${code}, but the call returned`);
}

/**
 * How `call` ends when it is given arguments a caller may get wrong: `returned` (it returned, or
 * its promise resolved) or `typed` (it threw, or its promise rejected, with a `VirtError`). For
 * tests that every public entry point either accepts an argument or rejects it with a typed error.
 * @throws Error `untyped error: ...` when it ends with anything but a `VirtError`.
 * @throws VirtError INVALID_ARGUMENT (as a rejection) when `call` is not a function.
 */
export async function settledOutcome(call: () => unknown): Promise<'returned' | 'typed'> {
  checkFunction('settledOutcome', 'call', call);
  try {
    await call();
  } catch (e) {
    if (!isVirtError(e)) throw new Error(`untyped error: ${describeError(e)}`);
    return 'typed';
  }
  return 'returned';
}
