/** The testing helpers that read what a call throws: a test must fail on anything but the error it names. */
import { isVirtError } from '../src';
import { disposedError, invalidArgument } from '../src/implement';
import { settledOutcome, thrownBy, virtErrorThrownBy } from '../src/testing';

describe('virtErrorThrownBy', () => {
  it('returns the VirtError a call throws, with or without a code to match', () => {
    const e = invalidArgument('op', 'bad');
    expect(virtErrorThrownBy(() => { throw e; })).toBe(e);
    expect(virtErrorThrownBy(() => { throw e; }, 'INVALID_ARGUMENT')).toBe(e);
  });

  it('rethrows, unchanged, an error that is not a VirtError or has another code', () => {
    const plain = new TypeError('not typed');
    expect(thrownBy(() => virtErrorThrownBy(() => { throw plain; }))).toBe(plain);
    const other = disposedError('op', 'the thing');
    expect(thrownBy(() => virtErrorThrownBy(() => { throw other; }, 'INVALID_ARGUMENT'))).toBe(other);
  });

  it('fails when the call returns, naming the code it expected', () => {
    expect(() => virtErrorThrownBy(() => 1)).toThrow('expected a VirtError, but the call returned');
    expect(() => virtErrorThrownBy(() => 1, 'DISPOSED')).toThrow('expected a VirtError DISPOSED, but the call returned');
  });

  it('refuses a non-function with INVALID_ARGUMENT', () => {
    expect(isVirtError(thrownBy(() => virtErrorThrownBy(42 as never)), 'INVALID_ARGUMENT')).toBe(true);
  });
});

describe('settledOutcome', () => {
  it('returned for a call that returns or resolves; typed for one that throws or rejects a VirtError', async () => {
    expect(await settledOutcome(() => 1)).toBe('returned');
    expect(await settledOutcome(() => Promise.resolve(1))).toBe('returned');
    expect(await settledOutcome(() => { throw invalidArgument('op', 'bad'); })).toBe('typed');
    expect(await settledOutcome(() => Promise.reject(invalidArgument('op', 'bad')))).toBe('typed');
  });

  it('fails on an untyped error, thrown or rejected', async () => {
    await expect(settledOutcome(() => { throw new TypeError('x'); })).rejects.toThrow('untyped error: TypeError: x');
    await expect(settledOutcome(() => Promise.reject(new RangeError('y')))).rejects.toThrow('untyped error: RangeError: y');
  });

  it('refuses a non-function with INVALID_ARGUMENT, as a rejection', async () => {
    await expect(settledOutcome(42 as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
