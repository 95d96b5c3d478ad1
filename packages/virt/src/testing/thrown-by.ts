import { checkFunction } from '../validate';

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
