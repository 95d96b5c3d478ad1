/**
 * The two shared argument checks: `checkOptions` (every public options object: unknown keys are
 * refused, a misspelt option is never silently ignored) and `checkNotThenable` (a synchronous
 * callback such as `batch`'s fn must not be async), and `batch` on the relay refusing an async fn.
 */
import { isVirtError } from '../src';
import { checkNotThenable, checkOptions } from '../src/implement';
import { testRelay } from './support/test-relay';
import { thrownBy } from '../src/testing';

describe('checkOptions', () => {
  it('returns an object whose keys are all known, reading no property', () => {
    let reads = 0;
    const o = new Proxy({ a: 1, b: 2 }, { get: (t, k, r): unknown => (reads++, Reflect.get(t, k, r) as unknown) });
    expect(checkOptions<{ a?: number; b?: number }>('op', 'options', o, ['a', 'b'])).toBe(o);
    expect(reads).toBe(0);
    expect(checkOptions<{ a?: number }>('op', 'options', {}, ['a'])).toEqual({});
  });

  it('refuses unknown keys with INVALID_ARGUMENT naming them and the known ones', () => {
    const e = thrownBy(() => checkOptions<{ vcpus: number; irqfd?: string }>('KvmPartition.create', 'options', { vcpus: 2, irqdf: 'relay' }, ['vcpus', 'irqfd']));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toMatch(/unknown key 'irqdf'.*vcpus, irqfd/);
    expect((e as Error).message).toMatch(/KvmPartition\.create/);
    expect((thrownBy(() => checkOptions('op', 'options', { x: 1, y: 2 }, [])) as Error).message).toMatch(/unknown keys 'x', 'y'/);
  });

  it('refuses what is not an options object', () => {
    for (const v of [undefined, null, 1, 'x', [], [1]]) expect([v, isVirtError(thrownBy(() => checkOptions('op', 'options', v, [])), 'INVALID_ARGUMENT')]).toEqual([v, true]);
  });
});

describe('checkNotThenable', () => {
  it('accepts ordinary results, refuses a promise or thenable and marks it handled', async () => {
    for (const v of [undefined, null, 0, 'x', {}, { then: 1 }, () => undefined]) expect(thrownBy(() => checkNotThenable('op', 'fn', v))).toBe(undefined);
    const rejected = Promise.reject(new Error('later'));
    const e = thrownBy(() => checkNotThenable('IrqFd.batch', 'fn', rejected));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toMatch(/returned a promise/);
    let handled = 0;
    const thenable = { then: (ok: () => void, fail: () => void) => void (handled++, ok, fail) };
    expect(isVirtError(thrownBy(() => checkNotThenable('op', 'fn', thenable)), 'INVALID_ARGUMENT')).toBe(true);
    expect(handled).toBe(1);
    // The rejected promise was marked handled: no unhandled rejection reaches the process.
    const unhandled: unknown[] = [];
    const listener = (r: unknown): void => void unhandled.push(r);
    process.on('unhandledRejection', listener);
    await new Promise((r) => setTimeout(r, 20));
    process.off('unhandledRejection', listener);
    expect(unhandled).toEqual([]);
  });
});

describe('RelayIrqFd.batch with an async callback', () => {
  it('applies what ran before the first await, then throws INVALID_ARGUMENT', async () => {
    const irqfd = testRelay();
    const r = irqfd.newIrqFdRoute();
    let resumed = false;
    const e = thrownBy(() =>
      irqfd.batch(async () => {
        r.setMsi(0xfee00000, 0x41);
        await Promise.resolve();
        resumed = true;
      }),
    );
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect(r.msi).toEqual({ addressLo: 0xfee00000, addressHi: 0, data: 0x41 });
    await new Promise((res) => setTimeout(res, 0));
    expect(resumed).toBe(true);
    irqfd.dispose();
  });
});
