/**
 * The two checks backends use on what callers hand them: an injected interface (checkMethods) and
 * the token of an internal constructor (checkConstructToken). Both throw INVALID_ARGUMENT.
 */
import { isVirtError } from '../src';
import { checkConstructToken, checkMethods } from '../src/implement';

function thrown(fn: () => unknown): Error | undefined {
  try {
    fn();
  } catch (e) {
    if (!isVirtError(e, 'INVALID_ARGUMENT')) throw e;
    return e;
  }
  return undefined;
}

describe('checkMethods', () => {
  const check = (v: unknown) => checkMethods('op', 'sys', v, ['open', 'close'], ['dup']);

  test('returns an object whose required members are functions and optional ones functions or absent', () => {
    const ok = { open: () => 0, close: () => 0 };
    expect(check(ok)).toBe(ok);
    const withDup = { ...ok, dup: () => 0 };
    expect(check(withDup)).toBe(withDup);
    class Impl {
      open(): number {
        return 0;
      }
      close(): number {
        return 0;
      }
    }
    expect(check(new Impl())).toBeInstanceOf(Impl); // members on the prototype count
  });

  test.each([null, undefined, 42, 'sys', () => 0, 1n])('a non-object (%p) names what it needs', (v) => {
    expect(thrown(() => check(v))?.message).toContain('op: sys must be an object with the functions open, close, and optionally dup');
  });

  test('names every wrong member, each read once', () => {
    let reads = 0;
    const v = {
      get open() {
        reads++;
        return 5;
      },
      dup: 'x',
    };
    expect(thrown(() => check(v))?.message).toContain('sys must have the functions open (5 (0x5)), close (undefined), dup ("x")');
    expect(reads).toBe(1);
  });
});

describe('checkConstructToken', () => {
  const token = Symbol('t');
  test('passes for the token, refuses anything else with the factory in the hint', () => {
    expect(checkConstructToken(token, token, 'Thing', 'Thing.create()')).toBe(undefined);
    for (const other of [undefined, Symbol('t'), 't', {}]) {
      const e = thrown(() => checkConstructToken(other, token, 'Thing', 'Thing.create()'));
      expect(e?.message).toBe('new Thing(): the Thing constructor is internal [INVALID_ARGUMENT]. Use Thing.create() to make a Thing.');
    }
  });
});
