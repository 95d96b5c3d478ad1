/** describeValue: how every error message shows a caller's value; never throws, whatever the value. */
import { describeValue } from '../src/implement';

describe('describeValue', () => {
  it.each([
    [42, '42 (0x2a)'],
    [-1, '-1'],
    [0.5, '0.5'],
    [Number.NaN, 'NaN'],
    [3n, '3n'],
    ['x', '"x"'],
    [true, 'true'],
    [false, 'false'],
    [null, 'null'],
    [undefined, 'undefined'],
    [[0, 5], '[0,5]'],
    [{ version: 3 }, '{"version":3}'],
    [new Map(), 'an object ([object Map])'],
    [() => 1, 'a function'],
    [Symbol('s'), 'a symbol'],
  ])('%p is shown as %s', (value, shown) => {
    expect(describeValue(value)).toBe(shown);
  });

  it('cuts long JSON at 80 characters, and falls back to the class for what JSON cannot show, never throwing', () => {
    const long = describeValue(Array.from({ length: 100 }, (_, i) => i));
    expect(long).toHaveLength(81);
    expect(long.endsWith('…')).toBe(true);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('an object ([object Object])');
    expect(describeValue([1n])).toBe('an object ([object Array])');
    const hostile = new Proxy({}, { getPrototypeOf: () => { throw new Error('trap'); } });
    expect(describeValue(hostile)).toBe('an object ([object Object])');
    const getter = { get x(): number { throw new Error('getter'); } };
    expect(describeValue(getter)).toBe('an object ([object Object])');
  });
});
