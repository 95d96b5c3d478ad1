/**
 * What `fn` throws, or `undefined` when it returns: for tests that check the fields of a thrown
 * `VirtError` (`code`, `operation`, `errno`, `hint`), which `expect(fn).toThrow()` does not reach.
 */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
