/**
 * The suite's own assertions: it must run under any test runner (and inside its own self-tests),
 * so it throws plain errors with a clear message instead of using a runner's `expect`.
 */
import { type VirtError, type VirtErrorCode, isVirtError } from '../errors';
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
    if (!isVirtError(e)) throw new ConformanceFailure(`${what}: expected VirtError ${code}, got ${describeError(e)}`);
    // The brand is a registered symbol: a backend's fake error can carry it with members whose getters throw.
    let seen: { readonly code: unknown; readonly operation: unknown; readonly message: unknown };
    try {
      seen = { code: e.code, operation: e.operation, message: e.message };
    } catch (r) {
      throw new ConformanceFailure(`${what}: expected VirtError ${code}, got an error branded as one whose members cannot be read (${describeError(r)})`);
    }
    if (seen.code !== code) throw new ConformanceFailure(`${what}: expected VirtError ${code}, got ${asText(seen.code)}: ${asText(seen.message)}`);
    if (typeof seen.operation !== 'string' || seen.operation === '' || typeof seen.message !== 'string' || seen.message === '') {
      throw new ConformanceFailure(`${what}: the VirtError has no operation or message`);
    }
    return e;
  }
  throw new ConformanceFailure(`${what}: expected VirtError ${code}, but the call returned ${describeValue(result)}`);
}

/** A string as it is, anything else described (never throws). */
function asText(v: unknown): string {
  return typeof v === 'string' ? v : describeValue(v);
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}
