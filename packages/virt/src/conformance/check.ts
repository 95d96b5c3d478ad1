/**
 * The suite's own assertions: it must run under any test runner (and inside its own self-tests),
 * so it throws plain errors with a clear message instead of using a runner's `expect`.
 */
import { VirtError, type VirtErrorCode } from '../errors';
import { describeError, describeValue } from '../validate';

/** A check of the suite that did not hold; the message says what was expected and what was seen. */
export class ConformanceFailure extends Error {
  /** Always `ConformanceFailure`. */
  override readonly name = 'ConformanceFailure';
}

/** Throws a {@link ConformanceFailure} with `message` unless `condition` is truthy. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

/**
 * Throws a {@link ConformanceFailure} naming `what` unless `actual` and `expected` have the same
 * JSON text (bigints compared as their decimal text; key order matters).
 */
export function checkEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual, bigintSafe);
  const e = JSON.stringify(expected, bigintSafe);
  if (a !== e) throw new ConformanceFailure(`${what}: expected ${e}, got ${a}`);
}

/** `fn` must throw a VirtError with `code`; returns it. */
export function checkThrows(fn: () => unknown, code: VirtErrorCode, what: string): VirtError {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    if (!(e instanceof VirtError)) throw new ConformanceFailure(`${what}: expected VirtError ${code}, got ${describeError(e)}`);
    if (e.code !== code) throw new ConformanceFailure(`${what}: expected VirtError ${code}, got ${e.code}: ${e.message}`);
    if (!e.operation || !e.message) throw new ConformanceFailure(`${what}: the VirtError has no operation or message`);
    return e;
  }
  throw new ConformanceFailure(`${what}: expected VirtError ${code}, but the call returned ${describeValue(result)}`);
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}
